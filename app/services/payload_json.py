"""A submitted payload's compact JSON, in pieces: what its digests are taken over.

The payload digest (app/services/resubmissions.py) and an Idempotency-Key's request
fingerprint (app/services/idempotency.py) hash the payload as `orjson.dumps` writes it.
Serialized whole, a 30 MB payload stayed 30 MB more in the API for as long as its job
was planned: a multipart upload then peaked at 298 MB of its 300 MB target. `chunks`
writes the same bytes one record at a time, so the digests are unchanged (jobs stored
before still match) and the pieces are freed as they are hashed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import orjson

from adapters.base import Issue
from app.errors import InvalidInput

# orjson writes at most 254 nested levels of arrays and objects.
MAX_DEPTH = 254
TOO_DEEP = f"is nested too deeply (more than {MAX_DEPTH} levels of arrays and objects)"


class Hasher(Protocol):
    def update(self, data: bytes, /) -> object: ...


def chunks(value: Any) -> Iterator[bytes]:
    """`orjson.dumps(value)` in pieces: a list element by element, an object value by
    value with its lists element by element (where records are: the payload itself, or
    one key down). Each element is serialized whole, so an element may be nested up to
    MAX_DEPTH levels below its list."""
    if isinstance(value, list):
        yield from _elements(value)
    elif isinstance(value, dict):
        separator = b"{"
        for key, member in value.items():
            yield separator + orjson.dumps(key) + b":"
            if isinstance(member, list):
                yield from _elements(member)
            else:
                yield orjson.dumps(member)
            separator = b","
        yield b"}" if value else b"{}"
    else:
        yield orjson.dumps(value)


def _elements(values: list[Any]) -> Iterator[bytes]:
    separator = b"["
    for element in values:
        yield separator + orjson.dumps(element)
        separator = b","
    yield b"]" if values else b"[]"


def feed(hasher: Hasher, data: Any) -> None:
    """Hash the payload `data`; InvalidInput (400) if it cannot be serialized."""
    try:
        for chunk in chunks(data):
            hasher.update(chunk)
    except orjson.JSONEncodeError:
        raise InvalidInput(f"data {TOO_DEEP}", [Issue("data", TOO_DEEP)]) from None
