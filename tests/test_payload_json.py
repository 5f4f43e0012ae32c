"""The payload's JSON in pieces is byte for byte what orjson writes whole, so the digests
taken over it match those of jobs and keys stored before it was streamed."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from uuid import UUID

import blake3
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.generic_json import GenericJsonAdapter
from app.errors import InvalidInput
from app.services import payload_json, resubmissions
from app.services.idempotency import fingerprint
from app.services.jobs import Submission
from app.migrations import ROOT
from app.services.planning import MAX_BATCH_BYTES, PLAN_FORMAT

scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5), max_leaves=40)


@given(json_values)
def test_the_pieces_join_to_what_orjson_writes(value):
    assert b"".join(payload_json.chunks(value)) == orjson.dumps(value)


@pytest.mark.parametrize("value", [[], {}, {"records": []}, {"records": [{}], "at": []}, [[1, [2]], {"a": {}}], "x", None])
def test_empty_and_nested_containers_join_exactly(value):
    assert b"".join(payload_json.chunks(value)) == orjson.dumps(value)


def test_the_records_come_a_slice_at_a_time_so_a_payload_is_never_serialized_whole():
    records = [{"id": str(n), "content": "x" * 1000} for n in range(1000)]
    pieces = list(payload_json.chunks({"export": "nightly", "records": records}))
    assert max(len(piece) for piece in pieces) < payload_json.RECORDS_PER_PIECE * 1100
    assert b"".join(pieces) == orjson.dumps({"export": "nightly", "records": records})
    assert len(pieces) > 1000 // payload_json.RECORDS_PER_PIECE


@pytest.mark.parametrize("count", [1, 255, 256, 257, 512, 513])
def test_lists_around_the_slice_size_join_exactly(count):
    records = [{"n": n} for n in range(count)]
    assert b"".join(payload_json.chunks(records)) == orjson.dumps(records)
    assert b"".join(payload_json.chunks({"records": records, "at": 1})) == orjson.dumps({"records": records, "at": 1})


DEPTH_BOUNDARY = """
import orjson
from app.services import payload_json

def nested(levels):
    value = []
    for _ in range(levels - 1):
        value = [value]
    return value

for levels in (244, 250, 251, 252, 253, 254):
    deep = nested(levels)
    for data in (
        {"records": [{"id": "a"}], "export": deep},
        {"records": [{"id": "a", "metadata": {"k": deep}}]},
        [[[{"id": "a", "m": deep}], {"site": "x"}]],
    ):
        try:
            whole = orjson.dumps(data)
        except orjson.JSONEncodeError:
            whole = None
        try:
            pieces = b"".join(payload_json.chunks(data))
        except orjson.JSONEncodeError:
            pieces = None
        assert pieces == whole, (levels, data if levels < 3 else type(data))
print("same")
"""


def test_a_payload_too_deep_for_orjson_whole_is_too_deep_in_pieces():
    """Each piece is serialized as deep as it sits, so the pieces fail exactly where the
    whole payload does (a piece serialized on its own would be some levels short). In a
    fresh interpreter: orjson overruns its buffer on some values this deep, which the
    API refuses before serializing anything (check_depth), but this test must make them."""
    done = subprocess.run([sys.executable, "-c", DEPTH_BOUNDARY], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "same", done.stderr[-2000:]


@pytest.mark.parametrize("make", [lambda inner: [inner], lambda inner: {"k": inner}], ids=["lists", "objects"])
def test_nesting_up_to_the_limit_passes_and_one_level_more_is_a_400(make):
    value: object = "leaf"
    for _ in range(payload_json.MAX_DEPTH):
        value = make(value)
    payload_json.check_depth(value, "data")  # MAX_DEPTH levels of containers
    with pytest.raises(InvalidInput) as raised:
        payload_json.check_depth(make(value), "data")
    assert raised.value.issues[0].path == "data" and raised.value.issues[0].message == payload_json.TOO_DEEP


def test_scalars_and_empty_containers_have_no_depth_to_refuse():
    for value in ("x", 1, None, [], {}, [[]], {"records": []}):
        payload_json.check_depth(value, "data")


@pytest.mark.parametrize(
    "shape",
    [
        lambda docs: [docs, {"site": "x"}],  # content-hub: one page
        lambda docs: [[docs, {"site": "x"}], [docs[:3], {}]],  # content-hub: a list of pages
        lambda docs: {"records": docs, "at": 1},  # generic-json
        lambda docs: docs,
    ],
)
def test_every_adapter_shape_comes_a_slice_of_records_at_a_time(shape):
    data = shape([{"id": str(n), "html": "x" * 1000} for n in range(1000)])
    pieces = list(payload_json.chunks(data))
    assert b"".join(pieces) == orjson.dumps(data)
    assert max(len(piece) for piece in pieces) < payload_json.RECORDS_PER_PIECE * 1100


def test_the_payload_digest_is_the_one_jobs_stored_before_streaming():
    adapter, data = GenericJsonAdapter(), {"records": [{"id": "a", "content": "é\u2028"}, {"id": "b", "tags": [1.5, None]}], "at": 3}
    head = orjson.dumps([adapter.name, adapter.version, {}, [PLAN_FORMAT, 500, MAX_BATCH_BYTES]], option=orjson.OPT_SORT_KEYS)
    whole = blake3.blake3(head + b"\n" + orjson.dumps(data)).digest()
    assert resubmissions.digest(adapter, {}, data, batch_size=500) == whole


def test_the_idempotency_fingerprint_is_the_one_keys_stored_before_streaming():
    submission = Submission(adapter_type="generic-json", knowledge_base_id=UUID(int=7), data=[{"id": "a"}], options=None)
    head = orjson.dumps({"adapterType": "generic-json", "knowledgeBaseId": str(submission.knowledge_base_id), "options": {}}, option=orjson.OPT_SORT_KEYS)
    assert fingerprint(submission) == hashlib.sha256(head + b"\n" + orjson.dumps([{"id": "a"}])).hexdigest()


def test_a_record_too_deep_to_serialize_is_a_400_on_data():
    deep: object = []
    for _ in range(300):
        deep = [deep]
    with pytest.raises(InvalidInput) as raised:
        payload_json.feed(hashlib.sha256(), {"records": [{"id": "a", "metadata": deep}]})
    assert raised.value.issues[0].path == "data"
