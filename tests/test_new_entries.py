"""A batch that found none of its entries goes in with COPY on PostgreSQL; any other is upserted.

The batch looks its source ids up in one transaction and writes in another, so another
job may create one of those entries in between. Then the COPY fails on the unique key,
its savepoint is rolled back, and every write of the batch takes the upsert: nothing is
lost, written twice or refused. The paths taken are told by spies wrapping the real
functions, which still run against the real database.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from sqlalchemy import select, text

from adapters.base import Record
from app.db import transaction
from app.models import DEFAULT_WORKSPACE_ID, Entry
from app.services import batch_writes, entry_writes, postgres_writes
from app.services.batch_records import Location
from app.services.ingest import Decision, Write

ENTRIES = Entry.__table__

COLUMNS = (
    "workspace_id, knowledge_base_id, source_id, title, content, content_type, metadata, tags, url, content_hash,"
    " source_hash, record_hash, record_job_id, record_batch, record_seq, version, last_job_id"
)


def write(source_id: str, content: str, *, new: bool, seq: int = 0, job_id: UUID | None = None) -> Write:
    record = Record(
        source_id=source_id, title=f"T {source_id}", content=content, metadata={"lang": "en", "n": [1, 2.5, None]},
        tags=["a", "é"], url=f"https://example.com/{source_id}",
    )  # fmt: skip
    location = Location(job_id or uuid4(), 3, seq)
    return Write(seq=seq, record=record, content_hash=f"hash-{content}", source_hash=f"src-{content}", location=location, new=new)


@pytest.fixture
def paths(monkeypatch) -> list[str]:
    """The write statements each batch ran, in order: "copy" and "upsert"."""
    taken: list[str] = []
    for name, label in (("_copy_new", "copy"), ("_upsert", "upsert")):
        real = getattr(postgres_writes, name)

        def spy(*args: Any, _real=real, _label=label, **kwargs: Any) -> Any:
            taken.append(_label)
            return _real(*args, **kwargs)

        monkeypatch.setattr(postgres_writes, name, spy)
    return taken


def apply(service, kb: str, writes: list[Write], job_id: UUID) -> dict[str, tuple[UUID, int]]:
    with transaction(service.runtime.sessions) as session:
        return entry_writes.upsert(
            session, workspace_id=DEFAULT_WORKSPACE_ID, knowledge_base_id=UUID(kb), job_id=job_id,
            writes=sorted(writes, key=lambda w: w.record.source_id),
        )  # fmt: skip


def rows(service, kb: str) -> dict[str, dict[str, Any]]:
    columns = [ENTRIES.c[name] for name in ("id", "created_at", "updated_at", *COLUMNS.split(", "))]
    with service.runtime.engine.connect() as connection:
        found = connection.execute(select(*columns).where(ENTRIES.c.knowledge_base_id == UUID(kb)))
        return {row.source_id: row._asdict() for row in found}


def test_a_new_entry_is_stored_as_the_upsert_stores_it(service, backend, paths):
    """Every column but the id is the same whichever way the entry went in."""
    job_id = uuid4()
    copied_kb, upserted_kb = service.create_kb("copied"), service.create_kb("upserted")
    copied = apply(service, copied_kb, [write("a", "one", new=True, job_id=job_id)], job_id)
    upserted = apply(service, upserted_kb, [write("a", "one", new=False, job_id=job_id)], job_id)
    assert paths == (["copy", "upsert"] if backend == "postgres" else [])

    (copied_row,), (upserted_row,) = rows(service, copied_kb).values(), rows(service, upserted_kb).values()
    assert copied == {"a": (copied_row["id"], 1)}
    assert upserted == {"a": (upserted_row["id"], 1)}
    for row in (copied_row, upserted_row):
        assert row.pop("knowledge_base_id") in (UUID(copied_kb), UUID(upserted_kb))
        assert row.pop("id") is not None
        assert row.pop("created_at") == row.pop("updated_at")
    assert copied_row == upserted_row
    assert copied_row["metadata"] == {"lang": "en", "n": [1, 2.5, None]}
    assert copied_row["tags"] == ["a", "é"]
    assert (copied_row["version"], copied_row["last_job_id"], copied_row["record_job_id"]) == (1, job_id, job_id)


def test_entries_created_by_another_job_since_the_lookup_are_updated_or_left_alone(service, backend, paths):
    kb = service.create_kb()
    first_job, second_job = uuid4(), uuid4()
    earlier = apply(service, kb, [write("same", "kept", new=False), write("changed", "old", new=False)], first_job)
    before = rows(service, kb)
    paths.clear()

    # The batch looked before the other job wrote, so it believes all three new.
    written = apply(
        service, kb, [write("same", "kept", new=True), write("changed", "new", new=True), write("fresh", "x", new=True)], second_job
    )
    assert paths == (["copy", "upsert"] if backend == "postgres" else [])

    after = rows(service, kb)
    assert sorted(after) == ["changed", "fresh", "same"]
    assert written == {"changed": (earlier["changed"][0], 2), "fresh": (after["fresh"]["id"], 1)}
    assert after["same"] == before["same"]
    assert (after["changed"]["content"], after["changed"]["version"], after["changed"]["last_job_id"]) == ("new", 2, second_job)
    assert after["fresh"]["version"] == 1


def test_a_batch_of_new_and_existing_writes_is_upserted_whole(service, backend, paths):
    """One statement, its rows locked in one source id order, as every batch locks them."""
    kb = service.create_kb()
    job_id = uuid4()
    apply(service, kb, [write("old", "v1", new=False)], uuid4())
    paths.clear()
    written = apply(service, kb, [write("old", "v2", new=False), *[write(f"n{i}", f"c{i}", new=True, seq=i) for i in range(1, 300)]], job_id)

    assert paths == (["upsert"] if backend == "postgres" else [])
    after = rows(service, kb)
    assert len(after) == 300
    assert written["old"][1] == 2 and after["old"]["content"] == "v2"
    assert all(written[f"n{i}"] == (after[f"n{i}"]["id"], 1) for i in range(1, 300))
    assert all(after[f"n{i}"]["record_seq"] == i and after[f"n{i}"]["last_job_id"] == job_id for i in range(1, 300))


@pytest.mark.parametrize("backend", ["postgres"])
def test_the_copy_is_undone_with_the_batch(service, paths):
    """The COPY runs in a savepoint of the batch's transaction, never in a transaction of its
    own, also when it is the transaction's first statement: rolled back, the batch leaves nothing."""
    kb = service.create_kb()
    for first_statement in (None, "SELECT 1"):
        with pytest.raises(RuntimeError), transaction(service.runtime.sessions) as session:
            if first_statement:
                session.execute(text(first_statement))
            entry_writes.upsert(
                session, workspace_id=DEFAULT_WORKSPACE_ID, knowledge_base_id=UUID(kb), job_id=uuid4(),
                writes=[write(f"r{i}", "x", new=True) for i in range(5)],
            )  # fmt: skip
            raise RuntimeError("the batch fails after writing")
    assert paths == ["copy", "copy"]
    assert rows(service, kb) == {}


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_refused_row_fails_the_batch_rather_than_taking_the_upsert(service, paths):
    """Only a unique-key conflict falls back: any other error of the COPY is the batch's own."""
    kb = service.create_kb()
    with pytest.raises(psycopg.Error) as raised:
        apply(service, kb, [write("a", "nul \x00 inside", new=True)], uuid4())
    assert paths == ["copy"]
    assert "NUL" in str(raised.value) or "0x00" in str(raised.value)
    assert rows(service, kb) == {}


def test_a_write_another_job_made_meanwhile_is_reported_skipped_with_its_entry(service, backend):
    """Two identical jobs at once: the second's batch looked before the first wrote, and the
    upsert's hash guard then writes nothing. Its result still names the entry, as every
    skipped record's result does (it was `entryId: null`)."""
    kb = service.create_kb()
    earlier = apply(service, kb, [write("same", "kept", new=False)], uuid4())
    decision = Decision(writes=[write("same", "kept", new=True), write("fresh", "x", new=True, seq=1)])
    with transaction(service.runtime.sessions) as session:
        written = batch_writes.write(
            session, job_id=uuid4(), seq=0, workspace_id=DEFAULT_WORKSPACE_ID, knowledge_base_id=UUID(kb), decision=decision
        )
        outcomes = {o.source_id: o for o in written}

    assert (outcomes["same"].status, outcomes["same"].action, outcomes["same"].detail) == ("skipped", "unchanged", "content unchanged")
    assert outcomes["same"].entry_id == earlier["same"][0]
    assert (outcomes["fresh"].status, outcomes["fresh"].action) == ("success", "created")
    assert outcomes["fresh"].entry_id == rows(service, kb)["fresh"]["id"]
