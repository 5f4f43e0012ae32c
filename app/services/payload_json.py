"""A submitted payload's compact JSON, in pieces: what its digests are taken over.

The payload digest (app/services/resubmissions.py) and an Idempotency-Key's request
fingerprint (app/services/idempotency.py) hash the payload as `orjson.dumps` writes it.
Serialized whole, a 30 MB payload stayed 30 MB more in the API for as long as its job
was planned: a multipart upload then peaked at 298 MB of its 300 MB target. `chunks`
writes the same bytes a few hundred records at a time, so the digests are unchanged (jobs stored
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
# Serialized one record at a time, the pieces cost the API 9% more CPU on a 10%-changed
# re-run than one whole serialization had (a call, a generator step and a hash update
# per record); 256 records of a few KB are about 1 MB.
RECORDS_PER_PIECE = 256


class Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> object: ...


def chunks(value: Any) -> Iterator[bytes | memoryview]:
    """`orjson.dumps(value)` in pieces: a list RECORDS_PER_PIECE elements at a time, an
    object value by value with its lists so (where records are: the payload itself, or
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


def _elements(values: list[Any]) -> Iterator[bytes | memoryview]:
    """A slice serialized is `[` + its elements joined by `,` + `]`: one orjson call per
    slice, its brackets left out by a view rather than a copy."""
    if not values:
        yield b"[]"
        return
    for start in range(0, len(values), RECORDS_PER_PIECE):
        piece = memoryview(orjson.dumps(values[start : start + RECORDS_PER_PIECE]))
        yield piece[:-1] if start == 0 else b","
        if start:
            yield piece[1:-1]
    yield b"]"


def feed(hasher: Hasher, data: Any) -> None:
    """Hash the payload `data`; InvalidInput (400) if it cannot be serialized."""
    try:
        for chunk in chunks(data):
            hasher.update(chunk)
    except orjson.JSONEncodeError:
        raise InvalidInput(f"data {TOO_DEEP}", [Issue("data", TOO_DEEP)]) from None
