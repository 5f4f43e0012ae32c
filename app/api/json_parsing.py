"""Parsing a submitted JSON document: fast, with orjson's results and orjson's errors.

msgspec parses a 30 MB generic-json payload in 32 ms where orjson takes 56 (parsing is a
third of the API's CPU on a re-run), and without orjson's transient parse tree. orjson
stays the reference everything downstream is written with and compared against (record
fingerprints, digests, content hashes), so the two must agree on every value. They agree
on every JSON document but two kinds, which go to orjson instead:

- documents msgspec refuses: orjson parses them again, so a client gets orjson's message
  for invalid JSON, and the depth at which parsing itself gives up is orjson's;
- documents holding an integer outside 64 bits, which orjson reads as a float and msgspec
  as an int (which orjson could then not write): one walk over the parsed value, 5 ms
  for 30 MB, finds them.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

# orjson reads integers in this range as ints, any other as a float.
_SMALLEST, _LARGEST = -(2**63), 2**64 - 1
_decoder = msgspec.json.Decoder()


def loads(raw: bytes) -> Any:
    """The value orjson.loads gives, or the orjson.JSONDecodeError it raises."""
    try:
        value = _decoder.decode(raw)
    except (msgspec.MsgspecError, RecursionError):
        return orjson.loads(raw)
    if _holds_a_wide_int(value):
        return orjson.loads(raw)
    return value


def _holds_a_wide_int(value: Any) -> bool:
    """Iterative: msgspec nests as deep as Python's recursion limit allows."""
    if type(value) is int:
        return not _SMALLEST <= value <= _LARGEST
    if type(value) is not dict and type(value) is not list:
        return False
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        container = pop()
        for member in container.values() if type(container) is dict else container:
            kind = type(member)
            if kind is dict or kind is list:
                push(member)
            elif kind is int and not _SMALLEST <= member <= _LARGEST:
                return True
    return False
