"""Submissions are parsed by msgspec, with orjson's values and orjson's errors.

Everything downstream (record fingerprints, digests, content hashes) is written with
orjson and compared with what was written before, so a value must come out exactly as
orjson.loads gives it: compared here member by member, by type and by value, which
tells 1 from 1.0 and 0.0 from -0.0, at any depth.
"""

from __future__ import annotations

import json
import random

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.api import json_parsing

CHECKS = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Integers past 64 bits on both sides (orjson reads those as floats), floats of every
# size, text with escapes, surrogate pairs and control characters.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5), max_leaves=40)
# JSON numbers as text, beyond what Python's json writes: exponents, long mantissas, -0.
numbers = st.from_regex(r"\A-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,3})?\Z")


def assert_identical(actual: object, expected: object) -> None:
    """Equal, and of the same type all the way down; iterative, for documents 1,024 deep."""
    pairs = [(actual, expected)]
    while pairs:
        a, b = pairs.pop()
        assert type(a) is type(b), (type(a), type(b))
        if type(a) is dict:
            assert list(a) == list(b)  # keys, in order
            pairs.extend(zip(a.values(), b.values(), strict=True))
        elif type(a) is list:
            assert len(a) == len(b)
            pairs.extend(zip(a, b, strict=True))
        elif type(a) is float:
            assert repr(a) == repr(b)  # -0.0 is not 0.0 here
        else:
            assert a == b


def same_as_orjson(raw: bytes) -> None:
    try:
        expected = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        with pytest.raises(orjson.JSONDecodeError) as raised:
            json_parsing.loads(raw)
        assert str(raised.value) == str(error)
        return
    parsed = json_parsing.parse(raw)
    assert_identical(parsed.value, expected)
    if parsed.depth is not None:  # measured: then exactly
        assert parsed.depth == depth_of(expected)


def depth_of(value: object) -> int:
    """Levels of arrays and objects, counted independently of the code under test."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        member, depth = stack.pop()
        if isinstance(member, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((m, depth + 1) for m in (member.values() if isinstance(member, dict) else member))
    return deepest


@CHECKS
@given(json_values, st.sampled_from([None, 0, 2]), st.booleans())
def test_any_json_document_parses_to_orjsons_value(value, indent, ensure_ascii):
    same_as_orjson(json.dumps(value, indent=indent, ensure_ascii=ensure_ascii).encode())


within_64_bits = st.recursive(
    scalars.filter(lambda v: not isinstance(v, int) or -(2**63) <= v <= 2**64 - 1),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=60,
)


@CHECKS
@given(within_64_bits, st.integers(0, 140))
def test_the_depth_is_measured_whenever_msgspec_parsed_the_document(value, wrapping):
    """Submissions skip their own depth walk on this figure (app/api/submission.py), so it
    is exact, also around the 128-level limit."""
    for level in range(wrapping):
        value = [value] if level % 3 else {"k": value}  # lists and objects mixed
    parsed = json_parsing.parse(orjson.dumps(value))
    assert parsed.depth == depth_of(value)


def test_the_depth_is_not_claimed_for_documents_orjson_parsed():
    assert json_parsing.parse(b'{"n": [123456789012345678901234567890]}').depth is None
    # Where msgspec gives up depends on Python's recursion limit: measured, or left to orjson.
    assert json_parsing.parse(b"[" * 1024 + b"]" * 1024).depth in (None, 1024)
    assert json_parsing.parse(b"7").depth == 0


@CHECKS
@given(st.lists(numbers, min_size=1, max_size=8))
@example(["0.1", "1e400", "-0", "-0.0", "1E-400", "18446744073709551615", "18446744073709551616", "-9223372036854775809"])
@example(["0.30000000000000004", "2.2250738585072011e-308", "4.9406564584124654e-324", "1.7976931348623157e308"])
def test_numbers_parse_to_the_same_int_or_float(texts):
    same_as_orjson(("[" + ",".join(texts) + "]").encode())
    same_as_orjson(texts[0].encode())


@CHECKS
@given(json_values, st.integers(0, 2**32), st.integers(1, 4))
def test_a_damaged_document_fails_with_orjsons_message(value, seed, cuts):
    raw = bytearray(json.dumps({"data": value}).encode())
    rng = random.Random(seed)
    for _ in range(cuts):
        raw[rng.randrange(len(raw))] = rng.choice(b'{}[],:"\\ \x00\xff0e-')
    same_as_orjson(bytes(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b" ",
        b"\xef\xbb\xbf[1]",
        b"[1] x",
        b"[1,]",
        b'{"a":1,}',
        b'{"a":1,"a":2}',
        b"[NaN]",
        b'["\\ud800"]',
        b'["\xff"]',
        b'["a\x00b"]',
        b'["\\u0000"]',
        b"[" * 127 + b"]" * 127,
        # Beyond where msgspec gives up on Python 3.11 (RecursionError), up to orjson's limit and past it.
        b"[" * 1010 + b"]" * 1010,
        b'{"a":' * 1023 + b"[-0.0]" + b"}" * 1023,
        b"[" * 1025 + b"]" * 1025,
        b'{"a":' * 1024 + b"1" + b"}" * 1024,
        b"[" * 5000,
        b"[" * 100_000 + b"]" * 100_000,  # past Python's recursion limit, where msgspec gives up
        b'{"records": [{"id": 1, "n": 123456789012345678901234567890}]}',
    ],
)
def test_edge_documents(raw):
    same_as_orjson(raw)


def test_nesting_orjson_refuses_is_refused_whatever_msgspec_accepts():
    """msgspec's limit follows Python's recursion limit, which later Pythons raise; the walk
    sends anything deeper than orjson's 1,024 levels to orjson."""
    deep: list = []
    for _ in range(1024):
        deep = [deep]  # 1,025 levels: one more than orjson parses
    assert json_parsing._depth_if_read_alike(deep) is None
    inner: list = []
    shallow = inner
    for _ in range(1023):
        inner.append([])
        inner = inner[0]
    assert json_parsing._depth_if_read_alike(shallow) == 1024
