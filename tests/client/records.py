"""Sample records for the client tests: generic-json articles and content-hub documents."""

from __future__ import annotations

from typing import Any


def articles(count: int, *, start: int = 0, size: int = 40) -> list[dict[str, Any]]:
    """`count` valid records with about `size` characters of content each."""
    return [{"id": f"doc-{i}", "title": f"Article {i}", "content": f"# Article {i}\n" + "x" * size}
            for i in range(start, start + count)]


def content_hub_documents(count: int, *, start: int = 0, size: int = 40) -> list[dict[str, Any]]:
    """`count` valid content-hub documents (docs/content-hub.md), source ids `ch-{i}`."""
    return [{"content": {"documentIdentifier": f"ch-{i}", "deleted": False, "parseImage": False,
                         "inlineContent": {"type": "TEXT", "textContent": {"data": f"<h1>Doc {i}</h1><p>{'x' * size}</p>"}}},
             "metadata": {"inlineAttributes": [{"key": "keywords", "value": {"type": "STRING", "stringValue": "a; b"}}]}}
            for i in range(start, start + count)]
