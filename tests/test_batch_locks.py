"""Concurrent batches on one knowledge base lock the entries they touch in one order, and
hold an entry they compared until they commit (PostgreSQL; SQLite runs one writer at a time).

A batch writing in several statements (upsert, delete, refresh) locked rows in several
passes, each in source id order, which another batch's passes could cross; and a
content-hub batch that found a converted document alike to its entry read that entry
without locking it, so a job committing meanwhile could have its update left behind as
"content unchanged". Spies wrapping the real functions pause a batch where it matters.
"""

from __future__ import annotations

import threading
import time
from uuid import UUID, uuid4

import psycopg
import pytest
from sqlalchemy import select

from adapters.base import Record
from app.db import transaction
from app.models import DEFAULT_WORKSPACE_ID, Entry
from app.services import batch_writes, entry_writes
from app.services.hashing import content_hash
from app.services.ingest import Decision, Write

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


def test_an_entry_found_alike_stays_locked_until_the_batch_commits(service, monkeypatch):
    """Another job's update, sent right after the batch compared the entry, waits for the
    batch to commit and so is applied after it: the job applied last wins. Unlocked, it
    went through at once, and the batch, committing after it, reported its document
    unchanged beside content it never wrote."""
    kb = service.create_kb()
    store(service, kb, ("b", "X"))
    other_job_done = threading.Event()

    def other_job() -> None:
        with psycopg.connect(database_url(service)) as connection:
            connection.execute("SET lock_timeout = '20s'")
            connection.execute(
                "UPDATE entries SET content = 'Y', content_hash = 'other-job', version = version + 1"
                " WHERE knowledge_base_id = %s AND source_id = 'b'",
                (UUID(kb),),
            )
        other_job_done.set()

    updating = threading.Thread(target=other_job)
    real_upsert = entry_writes.upsert

    def upsert_after_the_other_job_tried(session, **kwargs):  # type: ignore[no-untyped-def]
        updating.start()
        other_job_done.wait(timeout=2)
        return real_upsert(session, **kwargs)

    monkeypatch.setattr(entry_writes, "upsert", upsert_after_the_other_job_tried)
    with transaction(service.runtime.sessions) as session:
        decision = Decision(writes=[alike("b", "X", "new-raw")])
        (result,) = write(session, kb, decision)
        assert (result.status, result.detail) == ("skipped", "content unchanged")
        assert not other_job_done.is_set(), "the other job's update did not wait for the batch"
    updating.join(timeout=30)
    assert other_job_done.is_set()
    assert stored(service, kb) == {"b": ("Y", "other-job", 2)}


def test_two_batches_crossing_updates_and_refreshes_do_not_deadlock(service, monkeypatch):
    """A changes s1 and finds s2 alike; B finds s1 alike and changes s2. Each used to
    upsert its change, then wait in its refresh for the row the other upserted."""
    kb = service.create_kb()
    store(service, kb, ("s1", "X1"), ("s2", "X2"))
    arrived = {"A": threading.Event(), "B": threading.Event()}
    real_refresh = entry_writes.refresh_source_hashes

    def refresh_after_meeting(session, *, refreshes):  # type: ignore[no-untyped-def]
        me = threading.current_thread().name
        arrived[me].set()
        arrived["B" if me == "A" else "A"].wait(timeout=3)  # both past their upserts, if they can be
        return real_refresh(session, refreshes=refreshes)

    monkeypatch.setattr(entry_writes, "refresh_source_hashes", refresh_after_meeting)
    decisions = {
        "A": Decision(writes=[changed("s1", "N1", "raw-a1"), alike("s2", "X2", "raw-a2")]),
        "B": Decision(writes=[alike("s1", "X1", "raw-b1"), changed("s2", "N2", "raw-b2")]),
    }
    errors: dict[str, BaseException] = {}

    def run(name: str) -> None:
        try:
            with transaction(service.runtime.sessions) as session:
                write(session, kb, decisions[name])
        except BaseException as error:  # noqa: BLE001 - reported below
            errors[name] = error

    threads = [threading.Thread(target=run, args=(name,), name=name) for name in ("A", "B")]
    for thread in threads:
        thread.start()
        time.sleep(0.2)  # A takes its locks first
    for thread in threads:
        thread.join(timeout=60)
    assert errors == {}
    # B waited for A: A's change of s1 is older than B's, so B writes X1 back, as its job says.
    assert stored(service, kb) == {"s1": ("X1", "raw-b1", 3), "s2": ("N2", "raw-b2", 2)}
