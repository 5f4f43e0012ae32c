"""Parsing a submitted JSON document: fast, with orjson's results and orjson's errors.

msgspec parses a 30 MB generic-json payload in 32 ms where orjson takes 56 (parsing is a
third of the API's CPU on a re-run), and without orjson's transient parse tree. orjson
stays the reference everything downstream is written with and compared against (record
fingerprints, digests, content hashes), so the two must agree on every value. They agree
on every JSON document but these, which go to orjson instead:

- documents msgspec refuses: orjson parses them again, so a client gets orjson's message
  for invalid JSON (msgspec also gives up nesting at Python's recursion limit, ~1,000
  levels on 3.11, where orjson goes on to 1,024);
- documents holding an integer outside 64 bits, which orjson reads as a float and msgspec
  as an int (which orjson could then not write), or nested deeper than orjson parses
  (msgspec's limit depends on the Python version): one walk over the parsed value, 6 ms
  for 30 MB, finds them.

That walk also measures how deeply the document nests, which spares the API a second walk
for its own limit (payload_json.check_depth) on every submission that nests no deeper.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import msgspec
import orjson

# orjson reads integers in this range as ints, any other as a float.
_SMALLEST, _LARGEST = -(2**63), 2**64 - 1
# orjson refuses documents nested deeper than this.
_ORJSON_DEPTH = 1024
_decoder = msgspec.json.Decoder()


class Parsed(NamedTuple):
    value: Any
    # Levels of arrays and objects (0 for a scalar); None when orjson parsed the document.
    depth: int | None


def loads(raw: bytes) -> Any:
    """The value orjson.loads gives, or the orjson.JSONDecodeError it raises."""
    return parse(raw).value


def parse(raw: bytes) -> Parsed:
    """loads, and how deeply the value nests when that was measured on the way."""
    try:
        value = _decoder.decode(raw)
    except (msgspec.MsgspecError, RecursionError):
        return Parsed(orjson.loads(raw), None)
    depth = _depth_if_read_alike(value)
    if depth is None:
        del value  # not kept alive while orjson parses the document again
        return Parsed(orjson.loads(raw), None)
    return Parsed(value, depth)


def _depth_if_read_alike(value: Any) -> int | None:
    """How deeply `value` nests; None if it holds an integer outside 64 bits or nests
    deeper than orjson parses. Iterative: no recursion limit."""
    if type(value) is int:
        return 0 if _SMALLEST <= value <= _LARGEST else None
    if type(value) is not dict and type(value) is not list:
        return 0
    stack = [(value, 1)]
    pop, push = stack.pop, stack.append
    deepest = 1
    while stack:
        container, depth = pop()
        if depth > deepest:
            if depth > _ORJSON_DEPTH:
                return None
            deepest = depth
        for member in container.values() if type(container) is dict else container:
            kind = type(member)
            if kind is dict or kind is list:
                push((member, depth + 1))
            elif kind is int and not _SMALLEST <= member <= _LARGEST:
                return None
    return deepest
