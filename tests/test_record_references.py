"""A record the knowledge base holds unchanged is stored as a reference to the batch that
stored it: planning, the worker that must read it after all, `includePayload`, copies,
what keeps the batch referred to, and the migration both ways. Both backends."""

from __future__ import annotations

from uuid import UUID, uuid4

import orjson
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from adapters import registry
from app.db import transaction
from app.models import Entry, Job, JobBatch, JobRecordSource
from app.services import batch_records, blobs, manifests, record_sources
from app.services.batch_records import Location, Reference
from app.services.planning import plan_batches
from tests.test_batch_origins import _alembic
from tests.test_resubmissions import items_of

JOBS = "/api/v2/data-ingestion/jobs"
ADAPTER = registry.get("generic-json")
RECORDS = [{"id": f"r{i}", "title": f"Article {i}", "content": f"Body of article {i}. " * 20} for i in range(7)]
CHANGED = [*RECORDS[:2], {**RECORDS[2], "content": "rewritten"}, *RECORDS[3:]]


@pytest.fixture
def settings_overrides():
    return {"batch_size": 3}


def _loader(stored: dict, loads: list | None = None):  # type: ignore[no-untyped-def]
    """A `load` (batch_records.Load) over blobs in hand; `loads` collects what it was asked for."""

    def load(job_id: UUID, batch: int) -> bytes:
        if loads is not None:
            loads.append((job_id, batch))
        if (job_id, batch) not in stored:
            raise LookupError(f"batch {batch} of job {job_id} is not stored")
        return stored[job_id, batch]

    return load


def _known(records, location_of):  # type: ignore[no-untyped-def]
    fingerprint = manifests.Fingerprinter(ADAPTER, {})
    return {r["id"]: record_sources.Known(fingerprint(orjson.dumps(r)), location_of(i)) for i, r in enumerate(records)}


# Planning and reading, no database


def test_a_record_stored_unchanged_is_planned_as_a_reference_and_the_batches_stay_the_same():
    earlier = uuid4()
    known = _known(RECORDS, lambda i: Location(earlier, i // 3, i))
    known["r4"] = known["r4"]._replace(fingerprint="0" * 32)  # its entry was written from other input
    plain = plan_batches(ADAPTER, RECORDS, batch_size=3)
    planned = plan_batches(ADAPTER, RECORDS, batch_size=3, known=known)
    assert [b.record_count for b in planned.batches] == [b.record_count for b in plain.batches] == [3, 3, 1]
    lines = [line for b in planned.batches for line in manifests.decode(b.manifest)]
    assert [line._replace(referred=False) for line in lines] == [line for b in plain.batches for line in manifests.decode(b.manifest)]
    assert [line.referred for line in lines] == [i != 4 for i in range(7)]
    decoded = [batch_records.decode(b.items) for b in planned.batches]
    assert decoded[1][1] == (4, False, RECORDS[4])
    assert [raw for batch in decoded for _seq, _superseded, raw in batch if not isinstance(raw, Reference)] == [RECORDS[4]]
    assert decoded[0][2] == (2, False, Reference(Location(earlier, 0, 2)))
    assert planned.sources == {(earlier, 0), (earlier, 1), (earlier, 2)}


def test_a_reference_keeps_the_superseded_flag_and_only_asked_for_lines_are_parsed():
    earlier = uuid4()
    records = [RECORDS[0], {"id": "r0", "content": "later"}]
    (batch,) = plan_batches(ADAPTER, records, batch_size=5, known=_known(records[:1], lambda i: Location(earlier, 3, 9))).batches
    assert batch_records.decode(batch.items) == [(0, True, Reference(Location(earlier, 3, 9))), (1, False, records[1])]
    assert batch_records.decode(batch.items, {1}) == [(1, False, records[1])]


def test_raw_records_read_references_from_the_batches_referred_to():
    earlier = uuid4()
    (stored,) = plan_batches(ADAPTER, RECORDS, batch_size=10).batches
    planned = plan_batches(ADAPTER, CHANGED, batch_size=10, known=_known(RECORDS, lambda i: Location(earlier, 0, i)))
    (batch,) = planned.batches
    assert batch_records.raw_records(batch.items, _loader({(earlier, 0): stored.items})) == [orjson.dumps(r) for r in CHANGED]
    assert batch_records.by_seq(batch.items) == {2: orjson.dumps(CHANGED[2])}
    with pytest.raises(LookupError):
        batch_records.raw_records(batch.items)  # nothing to read the references from
    with pytest.raises(LookupError):
        batch_records.raw_records(batch.items, _loader({}))
    with pytest.raises(LookupError):  # the batch referred to has no full line for that record
        batch_records.raw_records(batch.items, _loader({(earlier, 0): batch.items}))


def test_a_reference_to_a_batch_in_the_array_format_reads_its_record():
    earlier = uuid4()
    array = blobs.pack(b"[" + b",".join(orjson.dumps([i, False, r]) for i, r in enumerate(RECORDS)) + b"]")
    (batch,) = plan_batches(ADAPTER, RECORDS, batch_size=10, known=_known(RECORDS, lambda i: Location(earlier, 0, i))).batches
    assert batch_records.raw_records(batch.items, _loader({(earlier, 0): array})) == [orjson.dumps(r) for r in RECORDS]


def test_each_batch_referred_to_is_read_once_per_batch_whatever_the_order():
    """After many nightly runs a batch's records are spread over many earlier batches, in
    no order: each is still read once, and the records come back in the batch's order."""
    nights = [uuid4() for _ in range(3)]
    stored = {(night, 0): plan_batches(ADAPTER, RECORDS, batch_size=10).batches[0].items for night in nights}
    known = _known(RECORDS, lambda i: Location(nights[i % 3], 0, i))
    (batch,) = plan_batches(ADAPTER, RECORDS, batch_size=10, known=known).batches
    loads: list = []
    assert batch_records.raw_records(batch.items, _loader(stored, loads)) == [orjson.dumps(r) for r in RECORDS]
    assert sorted(loads) == sorted((night, 0) for night in nights)
    items, locations = record_sources.resolve(_loader(stored, loads), batch_records.decode(batch.items, {1, 2, 4}))
    assert items == [(i, False, RECORDS[i]) for i in (1, 2, 4)]
    assert locations == {i: Location(nights[i % 3], 0, i) for i in (1, 2, 4)}
    assert len(loads) == 3 + 2  # nights 1 and 2 hold records 1, 2 and 4


# Through the service


def _sources(service, job_id: str) -> list[tuple[UUID, int]]:  # type: ignore[no-untyped-def]
    with transaction(service.runtime.sessions) as session:
        rows = session.execute(
            select(JobRecordSource.source_job_id, JobRecordSource.source_batch)
            .where(JobRecordSource.job_id == UUID(job_id))
            .order_by(JobRecordSource.source_batch)
        )
        return [(job, batch) for job, batch in rows]


def _locations(service, kb: str) -> dict[str, Location]:  # type: ignore[no-untyped-def]
    with transaction(service.runtime.sessions) as session:
        rows = session.execute(
            select(Entry.source_id, Entry.record_job_id, Entry.record_batch, Entry.record_seq).where(Entry.knowledge_base_id == UUID(kb))
        )
        return {source_id: Location(job, batch, seq) for source_id, job, batch, seq in rows}


def _payload(service, job_id: str):  # type: ignore[no-untyped-def]
    return service.client.get(f"{JOBS}/{job_id}", params={"includePayload": "true"}).json()["payload"]


def test_a_re_run_stores_only_its_changed_records(service):
    kb = service.create_kb()
    first = service.run(kb, RECORDS)["id"]
    assert _locations(service, kb) == {r["id"]: Location(UUID(first), i // 3, i) for i, r in enumerate(RECORDS)}
    second = service.run(kb, CHANGED)
    assert second["status"] == "completed"
    assert (second["result"]["entriesUpdated"], second["data"]["progress"]["skipped"]) == (1, 6)
    stored = [batch_records.decode(items) for items in items_of(service, second["id"])]
    own = [(seq, raw) for batch in stored for seq, _superseded, raw in batch if not isinstance(raw, Reference)]
    assert own == [(2, CHANGED[2])]
    assert _sources(service, second["id"]) == [(UUID(first), 0), (UUID(first), 1), (UUID(first), 2)]
    assert _payload(service, second["id"]) == {"records": CHANGED}
    expected = {r["id"]: Location(UUID(first), i // 3, i) for i, r in enumerate(RECORDS)}
    assert _locations(service, kb) == {**expected, "r2": Location(UUID(second["id"]), 0, 2)}
    # Going back to the first export (in another envelope, so it is planned, not copied):
    # r2's entry now holds the second job's record, so its first form is stored again.
    data = {"records": RECORDS, "exportedAt": "later"}
    third = service.run(kb, data)
    assert third["result"]["entriesUpdated"] == 1 and _payload(service, third["id"]) == data
    stored = [raw for items in items_of(service, third["id"]) for _seq, _superseded, raw in batch_records.decode(items)]
    assert stored == [Reference(expected[r["id"]]) if r["id"] != "r2" else r for r in RECORDS]


def test_a_record_whose_entry_changed_after_planning_is_read_from_the_batch_referred_to(service):
    kb = service.create_kb()
    first = service.run(kb, RECORDS)["id"]
    service.pause_worker()
    data = {"records": RECORDS, "run": 2}  # not the first job's payload, which would be copied rather than planned
    again = service.submit(kb, data)  # planned while the entries match: every record a reference
    assert all(isinstance(raw, Reference) for items in items_of(service, again) for _s, _f, raw in batch_records.decode(items))
    with transaction(service.runtime.sessions) as session:  # then another writer changes r5
        session.execute(
            update(Entry)
            .where(Entry.knowledge_base_id == UUID(kb), Entry.source_id == "r5")
            .values(content="changed elsewhere", content_hash="0" * 64, source_hash=None)
        )
    service.resume_worker()
    done = service.wait(again)
    assert done["status"] == "completed", done
    assert (done["result"]["entriesUpdated"], done["data"]["progress"]["skipped"]) == (1, 6)
    assert {e["sourceId"]: e["content"] for e in service.entries(kb)}["r5"] == RECORDS[5]["content"]
    # Written from the first job's line, where the record's bytes are, never from a reference.
    assert _locations(service, kb)["r5"] == Location(UUID(first), 1, 5)
    assert _payload(service, again) == data


def test_a_resent_request_of_a_job_with_references_reads_back_whole(service):
    kb = service.create_kb()
    first = service.run(kb, RECORDS)["id"]
    body = {"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": CHANGED}}
    second = service.client.post(JOBS, json=body).json()["jobId"]
    service.wait(second)
    resent = service.client.post(JOBS, json=body).json()["jobId"]  # the very same bytes: a copy of `second`
    assert service.wait(resent)["status"] == "completed"
    assert _sources(service, resent) == _sources(service, second) == [(UUID(first), 0), (UUID(first), 1), (UUID(first), 2)]
    assert _payload(service, resent) == {"records": CHANGED}


def test_a_batch_referred_to_cannot_be_deleted_and_one_gone_is_stored_again(service):
    kb = service.create_kb()
    first = service.run(kb, RECORDS)["id"]
    second = service.run(kb, CHANGED)["id"]
    with pytest.raises(IntegrityError), transaction(service.runtime.sessions) as session:
        session.execute(delete(Job).where(Job.id == UUID(first)))
    assert _payload(service, second) == {"records": CHANGED}
    # A batch deleted by hand while nothing refers to it: its records are planned in full again.
    with transaction(service.runtime.sessions) as session:
        session.execute(delete(Job).where(Job.id == UUID(second)))
        session.execute(delete(JobBatch).where(JobBatch.job_id == UUID(first), JobBatch.seq == 1))
    third = service.run(kb, RECORDS)
    assert third["status"] == "completed" and _payload(service, third["id"]) == {"records": RECORDS}
    assert _sources(service, third["id"]) == [(UUID(first), 0), (UUID(first), 2)]


def test_downgrading_puts_the_records_referred_to_back(service):
    kb = service.create_kb()
    service.run(kb, RECORDS)
    body = {"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": CHANGED}}
    second = service.client.post(JOBS, json=body).json()["jobId"]
    service.wait(second)
    copy = service.client.post(JOBS, json=body).json()["jobId"]  # shares the second job's batches
    service.wait(copy)
    service.pause_worker()
    _alembic(service, "downgrade", "0010_batch_origins")
    with service.runtime.engine.connect() as connection:
        table = JobBatch.__table__
        rows = connection.execute(select(table.c["items"]).where(table.c.job_id == UUID(second)).order_by(table.c.seq))
        lines = [line for (items,) in rows for line in blobs.unpack(items).split(b"\n")]
    assert [orjson.loads(line) for line in lines] == [[i, False, r] for i, r in enumerate(CHANGED)]
    _alembic(service, "upgrade", "head")
    assert _payload(service, second) == _payload(service, copy) == {"records": CHANGED}
    service.resume_worker()
    assert service.run(kb, CHANGED)["data"]["progress"]["skipped"] == 7


def test_a_record_stored_in_a_copied_batch_is_referred_to_there(service):
    """A resent request's batches hold no records of their own (their origin's do): an
    entry written from one says so, and a later reference reads through it."""
    kb = service.create_kb()
    body = {"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": RECORDS}}
    first = service.client.post(JOBS, json=body).json()["jobId"]
    service.wait(first)
    service.run(kb, CHANGED)  # r2 changes
    resent = service.client.post(JOBS, json=body).json()["jobId"]  # the first request's bytes again: a copy
    assert service.wait(resent)["result"]["entriesUpdated"] == 1  # r2 back, read from the copy's batch
    assert _locations(service, kb)["r2"] == Location(UUID(resent), 0, 2)
    later = service.run(kb, {"records": RECORDS, "run": 4})
    assert later["data"]["progress"]["skipped"] == 7
    assert (UUID(resent), 0) in _sources(service, later["id"])
    assert _payload(service, later["id"]) == {"records": RECORDS, "run": 4}
    with pytest.raises(IntegrityError), transaction(service.runtime.sessions) as session:
        session.execute(delete(Job).where(Job.id == UUID(resent)))


def test_a_fingerprint_changed_without_its_location_is_never_referred_to(service):
    """An entry's source_hash changed by other code (a worker of the release before, during
    a deploy) leaves record_hash and the location as they were: a record is referred to
    only where the bytes stored have its own fingerprint."""
    kb = service.create_kb()
    service.run(kb, RECORDS)
    fingerprint = manifests.Fingerprinter(ADAPTER, {})(orjson.dumps(CHANGED[2]))
    with transaction(service.runtime.sessions) as session:  # as an older worker writes CHANGED[2]
        session.execute(
            update(Entry)
            .where(Entry.knowledge_base_id == UUID(kb), Entry.source_id == "r2")
            .values(content=CHANGED[2]["content"], content_hash="0" * 64, source_hash=fingerprint)
        )
    job = service.run(kb, CHANGED)
    stored = [raw for items in items_of(service, job["id"]) for _seq, _superseded, raw in batch_records.decode(items)]
    assert stored[2] == CHANGED[2]  # in full: the batch r2's location names holds RECORDS[2]
    assert _payload(service, job["id"]) == {"records": CHANGED}


def test_entries_that_locate_no_record_are_given_one_by_the_next_run(service):
    """Entries written before they located their records (as after the upgrade) are skipped
    as unchanged and told where this run stores the record; the run after refers to it."""
    kb = service.create_kb()
    service.run(kb, RECORDS)
    with transaction(service.runtime.sessions) as session:
        session.execute(
            update(Entry).where(Entry.knowledge_base_id == UUID(kb)).values(record_hash=None, record_job_id=None, record_batch=None, record_seq=None)
        )
    second = service.run(kb, {"records": RECORDS, "run": 2})
    assert second["data"]["progress"]["skipped"] == 7
    assert not [raw for items in items_of(service, second["id"]) for _s, _f, raw in batch_records.decode(items) if isinstance(raw, Reference)]
    assert _locations(service, kb) == {r["id"]: Location(UUID(second["id"]), i // 3, i) for i, r in enumerate(RECORDS)}
    third = service.run(kb, {"records": RECORDS, "run": 3})
    stored = [raw for items in items_of(service, third["id"]) for _seq, _superseded, raw in batch_records.decode(items)]
    assert stored == [Reference(Location(UUID(second["id"]), i // 3, i)) for i in range(7)]
    # A run whose lines are references does not move the entries' locations onto itself.
    assert _locations(service, kb) == {r["id"]: Location(UUID(second["id"]), i // 3, i) for i, r in enumerate(RECORDS)}


def test_an_entry_is_never_located_at_a_reference(service):
    """A batch's reference lines are not where records are stored: a worker that finds an
    entry not locating its record only points it at this batch's line when that line
    holds the record itself."""
    kb = service.create_kb()
    service.run(kb, RECORDS)
    service.pause_worker()
    again = service.submit(kb, {"records": RECORDS, "run": 2})  # every record a reference
    with transaction(service.runtime.sessions) as session:  # the locations lost after planning
        session.execute(
            update(Entry).where(Entry.knowledge_base_id == UUID(kb)).values(record_hash=None, record_job_id=None, record_batch=None, record_seq=None)
        )
    service.resume_worker()
    assert service.wait(again)["data"]["progress"]["skipped"] == 7
    assert _locations(service, kb) == {r["id"]: Location(None, None, None) for r in RECORDS}
    later = service.run(kb, {"records": RECORDS, "run": 3})  # stored in full, then located there
    assert later["status"] == "completed" and _payload(service, later["id"]) == {"records": RECORDS, "run": 3}
    assert _locations(service, kb) == {r["id"]: Location(UUID(later["id"]), i // 3, i) for i, r in enumerate(RECORDS)}
