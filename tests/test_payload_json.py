"""The payload's JSON in pieces is byte for byte what orjson writes whole, so the digests
taken over it match those of jobs and keys stored before it was streamed."""

from __future__ import annotations

import hashlib
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


def nested(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize("shape", ["beside the records", "in a record", "in a content-hub page"])
@pytest.mark.parametrize("levels", [244, 250, 251, 252, 253, 254])
def test_a_payload_too_deep_for_orjson_whole_is_too_deep_in_pieces(shape, levels):
    """Each piece is serialized as deep as it sits, so the pieces fail exactly where the
    whole payload does (a piece serialized on its own would be some levels short)."""
    deep = nested(levels)
    data = {
        "beside the records": {"records": [{"id": "a"}], "export": deep},
        "in a record": {"records": [{"id": "a", "metadata": {"k": deep}}]},
        "in a content-hub page": [[[{"id": "a", "m": deep}], {"site": "x"}]],
    }[shape]
    try:
        whole = orjson.dumps(data)
    except orjson.JSONEncodeError:
        with pytest.raises(orjson.JSONEncodeError):
            b"".join(payload_json.chunks(data))
    else:
        assert b"".join(payload_json.chunks(data)) == whole


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
