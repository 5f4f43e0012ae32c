"""Concurrent batches on one knowledge base whose statements lock entries in crossing
orders (PostgreSQL; SQLite runs one writer at a time): the deadlock ends one of them,
which is applied again, whole, once the other has committed.

Each statement locks its rows in source id order, but a batch writing in several
statements (upsert, then refresh or delete) locks them in several passes, which another
batch's can cross. A spy wrapping the real refresh pauses both batches where they cross.
"""

from __future__ import annotations

import logging
import threading
from uuid import UUID, uuid4

import psycopg
import pytest
from sqlalchemy import select

from adapters import registry
from adapters.base import Record
from app.db import retrying_deadlocks, transaction
from app.models import DEFAULT_WORKSPACE_ID, Entry, JobBatch
from app.services import batch_writes, batches, entry_writes
from app.services.hashing import content_hash
from app.services.ingest import Decision, Write
from app.services.record_checks import RecordLimits

pytestmark = pytest.mark.parametrize("backend", ["postgres"])
ENTRIES = Entry.__table__


def record(source_id: str, content: str) -> Record:
    return Record(source_id=source_id, title=f"T {source_id}", content=content, metadata={"n": 1}, tags=["t"])


def changed(source_id: str, content: str, raw_hash: str) -> Write:
    """A document whose raw hash changed and whose entry does too."""
    return Write(seq=0, record=record(source_id, content), content_hash=raw_hash, source_hash=f"src-{raw_hash}", entry_hash="other")


def alike(source_id: str, content: str, raw_hash: str) -> Write:
    """A document whose raw hash changed but which converts to `content` (app/services/batch_writes.py: _drop_converted_alike)."""
    converted = record(source_id, content)
    return Write(seq=1, record=converted, content_hash=raw_hash, source_hash=f"src-{raw_hash}", entry_hash=content_hash(converted.as_dict()))


def write(session, kb: str, decision: Decision):  # type: ignore[no-untyped-def]
    return batch_writes.write(session, job_id=uuid4(), seq=0, workspace_id=DEFAULT_WORKSPACE_ID, knowledge_base_id=UUID(kb), decision=decision)


def store(service, kb: str, *contents: tuple[str, str]) -> None:
    with transaction(service.runtime.sessions) as session:
        entry_writes.upsert(
            session, workspace_id=DEFAULT_WORKSPACE_ID, knowledge_base_id=UUID(kb), job_id=uuid4(),
            writes=[Write(seq=0, record=record(s, c), content_hash=f"first-{s}") for s, c in contents],
        )  # fmt: skip


def stored(service, kb: str) -> dict[str, tuple[str, str, int]]:
    with service.runtime.engine.connect() as connection:
        rows = connection.execute(
            select(ENTRIES.c.source_id, ENTRIES.c.content, ENTRIES.c.content_hash, ENTRIES.c.version).where(
                ENTRIES.c.knowledge_base_id == UUID(kb)
            )
        )
        return {r.source_id: (r.content, r.content_hash, r.version) for r in rows}


def database_url(service) -> str:
    return service.runtime.settings.database_url.replace("+psycopg", "")


def test_two_batches_whose_locks_cross_deadlock_once_and_are_both_applied(service, monkeypatch, caplog):
    """A changes s1 and finds s2 alike; B finds s1 alike and changes s2. Each upserts its
    change, then waits in its refresh for the row the other upserted: PostgreSQL ends one
    transaction, which runs again once the other has committed. Both batches end
    applied, as if one had run after the other; neither loses an attempt."""
    kb = service.create_kb()
    store(service, kb, ("s1", "X1"), ("s2", "X2"))
    arrived = {"A": threading.Event(), "B": threading.Event()}
    real_refresh = entry_writes.refresh_source_hashes

    def refresh_after_meeting(session, *, refreshes):  # type: ignore[no-untyped-def]
        me = threading.current_thread().name
        arrived[me].set()
        arrived["B" if me == "A" else "A"].wait(timeout=10)  # both past their upserts
        return real_refresh(session, refreshes=refreshes)

    monkeypatch.setattr(entry_writes, "refresh_source_hashes", refresh_after_meeting)
    decisions = {
        "A": Decision(writes=[changed("s1", "N1", "raw-a1"), alike("s2", "X2", "raw-a2")]),
        "B": Decision(writes=[alike("s1", "X1", "raw-b1"), changed("s2", "N2", "raw-b2")]),
    }
    outcomes: dict[str, list[tuple[str, str]]] = {}
    errors: dict[str, BaseException] = {}

    def run(name: str) -> None:
        try:
            applied = retrying_deadlocks(service.runtime.sessions, lambda session: write(session, kb, decisions[name]))
            outcomes[name] = sorted((o.source_id, o.status) for o in applied)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors[name] = error

    with caplog.at_level(logging.INFO, logger="app.db"):
        threads = [threading.Thread(target=run, args=(name,), name=name) for name in ("A", "B")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == {}
    assert [r.getMessage() for r in caplog.records if "deadlock" in r.getMessage()] == [
        "transaction: deadlocked with another transaction; running it again (attempt 2)"
    ]
    a_last = {"s1": ("N1", "raw-a1", 2), "s2": ("X2", "raw-a2", 3)}  # B ran first: A writes X2 back
    b_last = {"s1": ("X1", "raw-b1", 3), "s2": ("N2", "raw-b2", 2)}
    final = stored(service, kb)
    assert final in (a_last, b_last)
    first, then = ("B", "A") if final == a_last else ("A", "B")
    assert outcomes[first] == [("s1", "success"), ("s2", "skipped")] if first == "A" else [("s1", "skipped"), ("s2", "success")]
    assert outcomes[then] == [("s1", "success"), ("s2", "success")]


def test_a_deadlock_in_a_batch_its_manifest_settles_runs_it_again_without_an_attempt(service, monkeypatch):
    """Deletes and refreshes are settled from the manifest and applied in the transaction
    that claims the batch; a deadlock there rolls the claim back too and runs it all again."""
    kb = service.create_kb()
    service.run(kb, [{"id": "d1", "content": "one"}, {"id": "d2", "content": "two"}])
    real_remove = entry_writes.remove
    raised = []

    def deadlocking_once(session, **kwargs):  # type: ignore[no-untyped-def]
        if not raised:
            raised.append(1)
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return real_remove(session, **kwargs)

    monkeypatch.setattr(entry_writes, "remove", deadlocking_once)
    job = service.run(kb, [{"id": "d1", "deleted": True}, {"id": "d2", "deleted": True}])
    assert raised == [1]
    assert (job["status"], job["result"]["entriesDeleted"]) == ("completed", 2)
    with service.runtime.engine.connect() as connection:
        attempts = connection.execute(select(JobBatch.attempts).where(JobBatch.job_id == UUID(job["id"]))).scalars().all()
    assert attempts == [1]


def test_a_claim_a_deadlock_rolled_back_counts_no_attempt_when_its_retry_fails(service, monkeypatch):
    kb = service.create_kb()
    service.pause_worker()
    job_id = service.submit(kb, [{"id": "a", "content": "x"}])
    real_claim, real_stored = batches.claim_batch, batches._stored
    claims = []

    def claim_then_fail(session, **kwargs):  # type: ignore[no-untyped-def]
        claims.append(1)
        if len(claims) == 2:
            raise RuntimeError("the retry fails before claiming")
        return real_claim(session, **kwargs)

    def deadlock_after_the_first_claim(session, claim, source_ids):  # type: ignore[no-untyped-def]
        if len(claims) == 1:
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return real_stored(session, claim, source_ids)

    monkeypatch.setattr(batches, "claim_batch", claim_then_fail)
    monkeypatch.setattr(batches, "_stored", deadlock_after_the_first_claim)
    with pytest.raises(RuntimeError, match="the retry fails"):
        batches.run_batch(service.runtime.sessions, job_id=UUID(job_id), seq=0, registry=registry, limits=RecordLimits())
    with service.runtime.engine.connect() as connection:
        attempts = connection.execute(select(JobBatch.attempts).where(JobBatch.job_id == UUID(job_id))).scalars().all()
    assert attempts == [0]
