"""Cancelling a job while its last batch is being applied ends in one consistent state:
either the batch wins (completed, the cancel is refused) or the cancel wins (cancelled, the
batch rolls back whole). Counters always equal the result rows.

The test stops the batch where it wants with PostgreSQL's own locks (a row it holds, or an
advisory lock a trigger waits for), sends the cancel, and lets go.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from uuid import UUID

import pytest
from sqlalchemy import select, text

from app.models import Entry
from tests.reliability.ledger import assert_applied_once, assert_counted_once, records
from tests.reliability.processes import wait_until
from tests.reliability.test_sweeper import accept_without_sending

pytestmark = pytest.mark.parametrize("backend", ["postgres"])  # SQLite runs one writer at a time: no race to have


@pytest.fixture
def settings_overrides() -> dict[str, int]:
    return {"batch_size": 2}


class Hold:
    """A transaction of the test's own holding row locks until `release`."""

    def __init__(self, service, statement: str, **params: object) -> None:  # type: ignore[no-untyped-def]
        self.connection = service.runtime.engine.connect()
        self.connection.execute(text(statement), params)

    def release(self) -> None:
        self.connection.rollback()
        self.connection.close()


PAUSE_BEFORE_COMMIT = (
    """CREATE FUNCTION pause_before_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NEW; END $$""",
    """CREATE TRIGGER pause_before_commit AFTER UPDATE OF done ON job_batches
    FOR EACH ROW WHEN (NEW.done) EXECUTE FUNCTION pause_before_commit()""",
)


def lock_waiters(service) -> int:  # type: ignore[no-untyped-def]
    with service.runtime.engine.connect() as connection:
        return connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )


def in_background(call: Callable[[], int]) -> Callable[[], int]:
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(call()))
    thread.start()

    def join() -> int:
        thread.join(30)
        return result[0]

    return join


def first_two_batches_applied(service) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A job of three batches whose first two are applied and whose last is not yet sent."""
    kb = service.create_kb()
    job_id = accept_without_sending(service, kb, records(6))
    service.runtime.queue.enqueue_batches(UUID(job_id), [0, 1])
    wait_until(lambda: progress(service, job_id) == 4, timeout=30, what="batches 0 and 1")
    return kb, job_id


def test_cancel_arriving_after_the_last_batch_took_the_job_row_waits_and_is_refused(service):
    kb, job_id = first_two_batches_applied(service)
    with service.runtime.engine.begin() as connection:  # the batch pauses just before its commit
        for statement in PAUSE_BEFORE_COMMIT:
            connection.execute(text(statement))
    hold = Hold(service, "SELECT pg_advisory_xact_lock(4242)")
    service.runtime.queue.enqueue_batches(UUID(job_id), [2])
    wait_until(lambda: lock_waiters(service) == 1, timeout=30, what="the batch to pause holding the job row")

    cancelled = in_background(lambda: service.client.delete(f"/api/v2/data-ingestion/jobs/{job_id}").status_code)
    wait_until(lambda: lock_waiters(service) == 2, timeout=30, what="the cancel to wait for the batch")
    hold.release()

    assert cancelled() == 409
    service.worker.join()
    assert_applied_once(service.runtime.engine, job_id, kb, [f"doc-{i}" for i in range(6)])


@pytest.mark.parametrize("run", range(3))
def test_cancel_and_last_batch_released_together_end_in_one_consistent_state(service, run):
    """Both wait on the same row lock; whoever PostgreSQL lets through first, the end state is whole."""
    kb, job_id = first_two_batches_applied(service)
    # NO KEY UPDATE, like the two updates it holds back (and unlike FOR UPDATE), lets the
    # batch's foreign-key checks through: it blocks at its counters' update.
    hold = Hold(service, "SELECT 1 FROM jobs WHERE id = :id FOR NO KEY UPDATE", id=UUID(job_id))
    service.runtime.queue.enqueue_batches(UUID(job_id), [2])
    wait_until(lambda: lock_waiters(service) == 1, timeout=30, what="the batch to wait for the job row")
    cancelled = in_background(lambda: service.client.delete(f"/api/v2/data-ingestion/jobs/{job_id}").status_code)
    wait_until(lambda: lock_waiters(service) == 2, timeout=30, what="the cancel to wait too")
    hold.release()

    status = cancelled()
    service.worker.join()
    if status == 409:
        assert_applied_once(service.runtime.engine, job_id, kb, [f"doc-{i}" for i in range(6)])
    else:
        assert status == 204
        job = assert_counted_once(service.runtime.engine, job_id)
        assert (job.status, job.processed, job.batches_done) == ("cancelled", 4, 2)
        assert entries(service, kb) == ["doc-0", "doc-1", "doc-2", "doc-3"], "the last batch rolled back whole"


def test_cancel_while_the_last_batch_writes_its_entries_rolls_the_batch_back_whole(service):
    kb, job_id = first_two_batches_applied(service)
    hold = Hold(service, "INSERT INTO job_results (job_id, seq, status) VALUES (:id, 5, 'success')", id=UUID(job_id))
    service.runtime.queue.enqueue_batches(UUID(job_id), [2])
    wait_until(lambda: lock_waiters(service) == 1, timeout=30, what="the batch to block mid-write")

    assert service.client.delete(f"/api/v2/data-ingestion/jobs/{job_id}").status_code == 204
    hold.release()
    service.worker.join()

    job = assert_counted_once(service.runtime.engine, job_id)
    assert (job.status, job.processed) == ("cancelled", 4)
    assert entries(service, kb) == ["doc-0", "doc-1", "doc-2", "doc-3"]


def progress(service, job_id: str) -> int:  # type: ignore[no-untyped-def]
    return service.client.get(f"/api/v2/data-ingestion/jobs/{job_id}").json()["data"]["progress"]["processed"]


def entries(service, kb: str) -> list[str]:  # type: ignore[no-untyped-def]
    with service.runtime.engine.connect() as connection:
        return sorted(connection.scalars(select(Entry.source_id).where(Entry.knowledge_base_id == UUID(kb))))
