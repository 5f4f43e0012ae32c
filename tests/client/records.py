"""Sample generic-json records for the client tests."""

from __future__ import annotations

from typing import Any


def articles(count: int, *, start: int = 0, size: int = 40) -> list[dict[str, Any]]:
    """`count` valid records with about `size` characters of content each."""
    return [{"id": f"doc-{i}", "title": f"Article {i}", "content": f"# Article {i}\n" + "x" * size}
            for i in range(start, start + count)]
