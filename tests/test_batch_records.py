"""A batch stores a line per record, so readers parse only the records they need; batches
planned in the earlier format (one JSON array) are still read, by workers and by
`includePayload`, on both backends."""

from __future__ import annotations

from uuid import UUID

import orjson
import pytest
import zstandard

from adapters import registry
from app.db import reading, transaction
from app.services import batch_contents, batch_records, blobs, record_sources
from app.services.planning import plan_batches
from tests.test_resubmissions import items_of

ADAPTER = registry.get("generic-json")
# Newlines, commas and brackets inside records, and a record ending in `]`.
RECORDS = [
    {"id": "a", "content": "line one\nline two, [three]"},
    {"id": "b", "content": "x", "tags": ["],[", "\n"]},
    {"id": "c", "content": "ünïcødé \u2028 ✓", "metadata": {"k": [1, [2, [3]]]}},
    {"id": "d", "content": "y", "deleted": False, "list": []},
]


def _array_format(lines: list[bytes]) -> bytes:
    """How PLAN_FORMAT 1 stored a batch."""
    return b"[" + b",".join(lines) + b"]"


def test_lines_and_references_are_picked_by_seq_of_any_width():
    location = batch_records.Location(UUID(int=5), 2, 1234)
    lines = [
        batch_records.line(9, False, orjson.dumps(RECORDS[0])),
        batch_records.reference_line(10, True, location),
        batch_records.line(123, True, orjson.dumps(RECORDS[1])),
        batch_records.reference_line(1000, False, location),
        batch_records.line(10000, False, orjson.dumps(RECORDS[2])),
    ]
    blob = blobs.pack(batch_records.encode(lines))
    everything = [
        (9, False, RECORDS[0]),
        (10, True, batch_records.Reference(location)),
        (123, True, RECORDS[1]),
        (1000, False, batch_records.Reference(location)),
        (10000, False, RECORDS[2]),
    ]
    assert batch_records.decode(blob) == everything
    assert batch_records.decode(blob, {10, 123, 10000}) == [everything[1], everything[2], everything[4]]
    assert batch_records.decode(blob, {1, 12, 100, 1000}) == [everything[3]]
    assert batch_records.decode(blob, set()) == []
    single = blobs.pack(batch_records.line(0, False, b"{}"))
    assert batch_records.decode(single) == [(0, False, {})]


def test_a_batch_is_a_line_per_record():
    (batch,) = plan_batches(ADAPTER, RECORDS, batch_size=10).batches
    lines = blobs.unpack(batch.items).split(b"\n")
    assert [orjson.loads(line) for line in lines] == [[i, False, r] for i, r in enumerate(RECORDS)]


def test_only_the_records_asked_for_are_parsed():
    (batch,) = plan_batches(ADAPTER, RECORDS, batch_size=10).batches
    lines = blobs.unpack(batch.items).split(b"\n")
    lines[0] = lines[0][:-3] + b"not json"  # would fail to parse if it were read
    assert batch_records.decode(blobs.pack(b"\n".join(lines)), {1, 3}) == [(1, False, RECORDS[1]), (3, False, RECORDS[3])]
    with pytest.raises(orjson.JSONDecodeError):
        batch_records.decode(blobs.pack(b"\n".join(lines)))


@pytest.mark.parametrize("adapter", ["generic-json", "content-hub"])
def test_raw_records_are_each_records_json_as_stored(adapter):
    # Whatever a record is: planning stores any JSON value (the worker refuses what its adapter cannot take).
    records = [*RECORDS, [1, [2, "]"]], "a string, with a comma", 3.5, None, True, {"k": "v\n"}]
    (batch,) = plan_batches(registry.get(adapter), records, batch_size=20).batches
    assert batch_records.raw_records(batch.items) == [orjson.dumps(r) for r in records]
    assert batch_records.decode(batch.items) == [(i, False, r) for i, r in enumerate(records)]


@pytest.mark.parametrize("compress", [True, False], ids=["zstd", "plain"])
def test_batches_in_the_array_format_are_still_read(compress):
    lines = [orjson.dumps([i, i == 0, r]) for i, r in enumerate(RECORDS)]
    blob = _array_format(lines)
    blob = zstandard.compress(blob) if compress else blob
    assert batch_records.decode(blob) == [(i, i == 0, r) for i, r in enumerate(RECORDS)]
    assert batch_records.decode(blob, {2}) == [(2, False, RECORDS[2])]
    assert batch_records.raw_records(blob) == [orjson.dumps(r) for r in RECORDS]


def test_a_single_record_batch_of_either_format_is_told_apart():
    line = orjson.dumps([7, False, [["nested", "list"]]])
    assert batch_records.decode(blobs.pack(line)) == [(7, False, [["nested", "list"]])]
    assert batch_records.decode(blobs.pack(_array_format([line]))) == [(7, False, [["nested", "list"]])]


def test_jobs_planned_in_the_array_format_are_processed_and_read_back(service, monkeypatch):
    """As after an upgrade: batches planned by the earlier release, workers and API of this one."""
    kb = service.create_kb()
    records = [{"id": f"r{i}", "title": f"T{i}", "content": f"Body {i}, with [brackets]\nand lines"} for i in range(5)]
    changed = [*records[:4], {**records[4], "content": "changed"}]
    with monkeypatch.context() as patched:
        patched.setattr(batch_records, "encode", _array_format)
        patched.setattr(record_sources, "known", lambda *_args, **_kwargs: {})  # that release stored every record
        first = service.run(kb, records)
        job_id = service.submit(kb, changed)
    done = service.wait(job_id)
    assert [blobs.unpack(items)[:2] for items in items_of(service, job_id)] == [b"[["]  # stored as the earlier release did
    assert first["status"] == "completed" and first["result"]["entriesCreated"] == 5
    assert done["result"]["entriesCreated"] == 0 and done["data"]["progress"]["skipped"] == 4
    assert {e["sourceId"]: e["content"] for e in service.entries(kb)}["r4"] == "changed"
    job = service.client.get(f"/api/v2/data-ingestion/jobs/{job_id}", params={"includePayload": "true"}).json()
    assert job["payload"] == {"records": changed}
    # This release's next run refers to those records where the earlier release stored them.
    later = service.run(kb, {"records": changed, "run": 3})
    assert later["data"]["progress"]["skipped"] == 5
    assert all(isinstance(raw, batch_records.Reference) for items in items_of(service, later["id"]) for _s, _f, raw in batch_records.decode(items))
    job = service.client.get(f"/api/v2/data-ingestion/jobs/{later['id']}", params={"includePayload": "true"}).json()
    assert job["payload"] == {"records": changed, "run": 3}


def test_batches_read_back_as_stored_and_a_missing_one_is_told(service):
    """The same bytes through every reader (binary on PostgreSQL), for a session and for a
    bare connection; a batch that is not there is None, or LookupError where it is needed."""
    kb = service.create_kb()
    job_id = service.run(kb, [{"id": f"r{i}", "content": f"c{i}"} for i in range(3)])["id"]
    stored = items_of(service, job_id)
    missing = UUID(int=7)
    with transaction(service.runtime.sessions) as session:
        assert batch_contents.all_items(session, job_id=UUID(job_id)) == stored
        assert batch_contents.items(session, job_id=UUID(job_id), seq=0) == stored[0]
        assert batch_contents.items(session, job_id=UUID(job_id), seq=len(stored)) is None
        assert batch_contents.all_items(session, job_id=missing) == []
    with reading(service.runtime.engine) as connection:
        assert batch_contents.all_items(connection, job_id=UUID(job_id)) == stored
        assert record_sources.stored_batch(connection, UUID(job_id), 0) == stored[0]
        with pytest.raises(LookupError, match="is referred to but not stored"):
            record_sources.stored_batch(connection, missing, 0)
    assert all(type(blob) is bytes for blob in stored)
