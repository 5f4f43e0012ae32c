"""The content-hub rows: real HTML pages through the service, against bare `html_to_markdown`.

Documents are the pages of Debian's Python documentation (`bench/content_hub_convert.py`
loads them), cycled with distinct identifiers up to the count asked for, in the
content-hub export format of the API reference: `[[document, ...], {"timeTaken": ...}]`.
"""

from __future__ import annotations

import time
from typing import Any

import orjson


def unavailable() -> str | None:
    """Why the content-hub rows cannot run here, or None when they can."""
    try:
        import adapters.content_hub  # noqa: F401
        from bench import content_hub_convert  # noqa: F401
    except ImportError as error:
        return f"content-hub adapter not in this tree ({error.name})"
    try:
        content_hub_convert.load_corpus(1)
    except content_hub_convert.CorpusMissing:
        return "corpus missing: apt-get install -y python3.11-doc"
    return None


def pages(count: int) -> list[tuple[str, str]]:
    from bench.content_hub_convert import load_corpus

    corpus = load_corpus()
    return [corpus[i % len(corpus)] for i in range(count)]


def document(index: int, name: str, html: str) -> dict[str, Any]:
    """One content-hub document; `index` keeps repeated pages distinct."""
    attributes = [("Title", name.removesuffix(".html")), ("keywords", "python,documentation")]
    return {
        "content": {
            "documentIdentifier": f"Page://content/python-docs/{index:05d}/{name}",
            "parseImage": False,
            "deleted": False,
            "inlineContent": {"textContent": {"data": html}, "type": "TEXT"},
        },
        "metadata": {
            "inlineAttributes": [{"key": key, "value": {"stringValue": value, "type": "STRING"}} for key, value in attributes]
        },
    }


def job_bodies(knowledge_base_id: str, documents: list[dict[str, Any]], *, max_bytes: int) -> list[bytes]:
    """Pack documents, in order, into as few content-hub job bodies as fit under `max_bytes` each."""
    head = b'{"adapterType":"content-hub","knowledgeBaseId":"%s","data":[[' % knowledge_base_id.encode()
    tail = b'],{"timeTaken":"0ms"}]}'
    bodies: list[bytes] = []
    chunk: list[bytes] = []
    for encoded in map(orjson.dumps, documents):
        if chunk and len(head) + len(tail) + sum(map(len, chunk)) + len(chunk) + len(encoded) > max_bytes:
            bodies.append(head + b",".join(chunk) + tail)
            chunk = []
        chunk.append(encoded)
    return [*bodies, head + b",".join(chunk) + tail] if chunk else bodies


def bare_conversion_rate(html_pages: list[tuple[str, str]]) -> float:
    """Documents per second of `html_to_markdown` alone, in this process (one core), by the
    wall clock like the service's figures, so both see the same machine load."""
    from adapters.html_markdown import html_to_markdown

    html_to_markdown(html_pages[0][1])
    started = time.perf_counter()
    for _name, html in html_pages:
        html_to_markdown(html)
    return len(html_pages) / (time.perf_counter() - started)
