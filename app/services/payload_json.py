"""A submitted payload's compact JSON, in pieces: what its digests are taken over.

The payload digest (app/services/resubmissions.py) and an Idempotency-Key's request
fingerprint (app/services/idempotency.py) hash the payload as `orjson.dumps` writes it.
Serialized whole, a 30 MB payload stayed 30 MB more in the API for as long as its job
was planned: a multipart upload then peaked at 296-298 MB of its 300 MB target. `chunks`
writes the same bytes a few hundred records at a time, so the digests are unchanged (jobs
stored before still match) and the pieces are freed as they are hashed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import orjson

from adapters.base import Issue
from app.errors import InvalidInput

# orjson refuses to write more than 254 nested levels, but orjson 3.11-3.13 write past
# the end of their buffer on some values about 250 levels deep (ten records of 250
# nested lists corrupt the heap): a submission is refused well before that (by the
# depth app/api/json_parsing.py measures while parsing, or `check_depth` where it could
# not). No knowledge-base record comes near it.
MAX_DEPTH = 128
TOO_DEEP = f"is nested too deeply (more than {MAX_DEPTH} levels of arrays and objects)"
# Serialized one record at a time, the pieces cost the API 9% more CPU on a 10%-changed
# re-run than one whole serialization had (a call, a generator step and a hash update
# per record); 256 records of a few KB are about 1 MB.
RECORDS_PER_PIECE = 256
# Lists streamed element by element rather than serialized whole: the payload's, and
# those down to where content-hub keeps its documents (data[i][0] of a list of pages).
STREAM_DEPTH = 3


class Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> object: ...


def chunks(value: Any) -> Iterator[bytes | memoryview]:
    """`orjson.dumps(value)` in pieces: the members of the payload's object, and the
    elements of its lists down to STREAM_DEPTH (where both adapters' records are: the
    payload itself, one key down, or a list or two down), lists of them RECORDS_PER_PIECE
    at a time. Each piece is serialized as deep as it sits in the payload, so orjson's
    depth limit refuses exactly what it refuses in the whole payload."""
    return _pieces(value, 0)


def _pieces(value: Any, depth: int) -> Iterator[bytes | memoryview]:
    if isinstance(value, dict) and value and depth == 0:
        separator = b"{"
        for key, member in value.items():
            yield separator + orjson.dumps(key) + b":"
            yield from _pieces(member, 1)
            separator = b","
        yield b"}"
    elif isinstance(value, list) and value and depth < STREAM_DEPTH:
        separator = b"["
        for group, nested in _groups(value, depth):
            yield separator
            if nested:
                yield from _pieces(group, depth + 1)
            else:
                yield _at(group, depth)[1:-1]  # a slice's elements, without its brackets
            separator = b","
        yield b"]"
    else:
        yield _at(value, depth)


def _groups(values: list[Any], depth: int) -> Iterator[tuple[Any, bool]]:
    """A list's elements as (a list to stream in turn, True) or (a slice of at most
    RECORDS_PER_PIECE consecutive other elements, serialized in one call, False)."""
    run: list[Any] = []
    for element in values:
        if isinstance(element, list) and element and depth + 1 < STREAM_DEPTH:
            if run:
                yield run, False
                run = []
            yield element, True
        else:
            run.append(element)
            if len(run) == RECORDS_PER_PIECE:
                yield run, False
                run = []
    if run:
        yield run, False


def _at(value: Any, depth: int) -> memoryview:
    """`value` serialized inside `depth` one-element lists, which are then cut off: as
    deep as it sits in the payload."""
    for _ in range(depth):
        value = [value]
    view = memoryview(orjson.dumps(value))
    return view[depth : len(view) - depth]


def check_depth(value: Any, where: str) -> None:
    """InvalidInput (400) if `value` nests more than MAX_DEPTH levels of arrays and
    objects: before orjson serializes any of it. Iterative, and only containers are
    pushed: 16 ms for a 30 MB generic-json payload."""
    if type(value) is not dict and type(value) is not list:
        return
    stack = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        container, depth = pop()
        members = container.values() if type(container) is dict else container
        if depth == MAX_DEPTH:
            if any(type(member) is dict or type(member) is list for member in members):
                raise InvalidInput(f"{where} {TOO_DEEP}", [Issue(where, TOO_DEEP)])
            continue
        for member in members:
            if type(member) is dict or type(member) is list:
                push((member, depth + 1))


def feed(hasher: Hasher, data: Any) -> None:
    """Hash the payload `data`; InvalidInput (400) if it cannot be serialized."""
    try:
        for chunk in chunks(data):
            hasher.update(chunk)
    except orjson.JSONEncodeError:
        raise InvalidInput(f"data {TOO_DEEP}", [Issue("data", TOO_DEEP)]) from None
