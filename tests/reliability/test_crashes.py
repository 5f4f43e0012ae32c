"""Worker processes killed with SIGKILL mid-job, and messages delivered twice on purpose:
every record is still applied exactly once and counted once.

Real `kb-ingest-worker` processes against PostgreSQL and a throwaway Redis; the job is
large enough (48 batches of 25 records of 3 KB) to be killed part-way through.
"""

from __future__ import annotations

from uuid import UUID

import pytest
from sqlalchemy import func, select

from app.models import Entry, JobBatch
from app.queue import QUEUE_NAME
from tests.reliability import ledger
from tests.reliability.processes import wait_until

pytestmark = pytest.mark.slow

RECORDS = 1200
BATCH_SIZE = 25


def source_ids(data: list[dict]) -> list[str]:
    return [r["id"] for r in data]


def test_a_worker_killed_mid_job_is_redelivered_and_every_record_is_applied_once(make_cluster):
    cluster = make_cluster(batch_size=BATCH_SIZE)
    kb = cluster.service.create_kb()
    data = ledger.records(RECORDS, size=3000)
    first = cluster.start_worker()
    cluster.wait_for_sweeper()

    job_id = cluster.service.submit(kb, data)
    cluster.kill_when_partly_done(job_id, first)
    interrupted = [
        seq for seq, n in ledger.attempts(cluster.engine, job_id).items() if n == 1 and not done(cluster, job_id, seq)
    ]
    cluster.start_worker()

    cluster.service.wait(job_id, timeout=120)
    ledger.assert_applied_once(cluster.engine, job_id, kb, source_ids(data))
    assert interrupted, "the kill interrupted batches in flight"
    retried = ledger.attempts(cluster.engine, job_id)
    assert all(retried[seq] == 2 for seq in interrupted), "Redis redelivered the dead worker's messages"


def test_every_batch_delivered_three_times_at_once_is_still_applied_once(make_cluster):
    cluster = make_cluster(batch_size=BATCH_SIZE)
    kb = cluster.service.create_kb()
    data = ledger.records(RECORDS // 2, size=3000)
    job_id = cluster.service.submit(kb, data)
    queue = cluster.service.runtime.queue
    queue.broker.flush(QUEUE_NAME)
    for seq in range(len(data) // BATCH_SIZE):  # [0, 0, 0, 1, 1, 1, ...]: copies land on threads side by side
        for _ in range(3):
            queue.enqueue_batches(UUID(job_id), [seq])

    cluster.start_worker(), cluster.start_worker()

    cluster.service.wait(job_id, timeout=120)
    ledger.assert_applied_once(cluster.engine, job_id, kb, source_ids(data))
    assert max(ledger.attempts(cluster.engine, job_id).values()) >= 2, "some copies raced each other"


def test_every_batch_of_an_unchanged_rerun_delivered_three_times_at_once_is_counted_once(make_cluster):
    """Batches the manifest settles whole are applied in the transaction that claims them:
    the claim's UPDATE of a batch not done is then the lock that keeps copies out."""
    cluster = make_cluster(batch_size=BATCH_SIZE)
    kb = cluster.service.create_kb()
    data = ledger.records(RECORDS // 2, size=3000)
    first_worker = cluster.start_worker()
    first = cluster.service.submit(kb, data)
    cluster.service.wait(first, timeout=120)
    first_worker.stop()
    job_id = cluster.service.submit(kb, data)
    queue = cluster.service.runtime.queue
    queue.broker.flush(QUEUE_NAME)
    for seq in range(len(data) // BATCH_SIZE):
        for _ in range(3):
            queue.enqueue_batches(UUID(job_id), [seq])

    workers = [cluster.start_worker(), cluster.start_worker()]

    cluster.service.wait(job_id, timeout=120)
    job = ledger.assert_counted_once(cluster.engine, job_id)
    assert (job.status, job.processed, job.skipped, job.batches_done) == ("completed", len(data), len(data), job.batch_count)
    assert set(ledger.attempts(cluster.engine, job_id).values()) == {1}, "copies found the batch claimed or done"
    with cluster.engine.connect() as connection:
        versions = connection.execute(select(Entry.version, func.count()).where(Entry.knowledge_base_id == UUID(kb)).group_by(Entry.version)).all()
    assert [tuple(v) for v in versions] == [(1, len(data))]
    logs = "".join(w.log.read_text() for w in workers)
    assert logs.count(": nothing to do") >= len(data) // BATCH_SIZE, "the copies were delivered and turned away"


def test_the_sweeper_sends_again_what_a_killed_worker_held_when_redis_does_not(make_cluster):
    cluster = make_cluster(batch_size=BATCH_SIZE)
    kb = cluster.service.create_kb()
    data = ledger.records(RECORDS, size=3000)
    never_redeliver = {"redis_heartbeat_timeout_ms": 3_600_000, "stall_timeout_seconds": 3}
    first = cluster.start_worker(**never_redeliver)
    cluster.wait_for_sweeper()

    job_id = cluster.service.submit(kb, data)
    cluster.kill_when_partly_done(job_id, first)
    killed_at = ledger.job_row(cluster.engine, job_id).updated_at
    cluster.start_worker(**never_redeliver)

    cluster.service.wait(job_id, timeout=120)
    ledger.assert_applied_once(cluster.engine, job_id, kb, source_ids(data))
    with cluster.engine.connect() as connection:
        resent = connection.scalar(
            select(func.count()).where(JobBatch.job_id == UUID(job_id), JobBatch.enqueued_at > killed_at)
        )
    assert resent, "the sweeper, not Redis, sent the dead worker's batches again"


def test_a_job_cancelled_while_its_worker_is_dead_stays_cancelled_and_exact(make_cluster):
    cluster = make_cluster(batch_size=BATCH_SIZE)
    kb = cluster.service.create_kb()
    first = cluster.start_worker()
    cluster.wait_for_sweeper()
    job_id = cluster.service.submit(kb, ledger.records(RECORDS, size=3000))
    cluster.kill_when_partly_done(job_id, first)

    assert cluster.service.client.delete(f"/api/v2/data-ingestion/jobs/{job_id}").status_code == 204
    at_cancel = ledger.assert_counted_once(cluster.engine, job_id)
    cluster.start_worker()
    wait_for_empty_queue(cluster)

    job = ledger.assert_counted_once(cluster.engine, job_id)
    assert job.status == "cancelled"
    assert job.processed == at_cancel.processed < job.record_count, "nothing applied after the cancel"
    assert entry_count(cluster, kb) == job.created


def done(cluster, job_id: str, seq: int) -> bool:  # type: ignore[no-untyped-def]
    with cluster.engine.connect() as connection:
        return bool(
            connection.scalar(select(JobBatch.done).where(JobBatch.job_id == UUID(job_id), JobBatch.seq == seq))
        )


def entry_count(cluster, kb: str) -> int:  # type: ignore[no-untyped-def]
    with cluster.engine.connect() as connection:
        return connection.scalar(select(func.count()).where(Entry.knowledge_base_id == UUID(kb))) or 0


def wait_for_empty_queue(cluster) -> None:  # type: ignore[no-untyped-def]
    """Every message, the dead worker's included, was delivered and acknowledged."""
    client = cluster.service.runtime.broker.client
    namespace = cluster.settings.redis_namespace
    wait_until(
        lambda: (
            client.hlen(f"{namespace}:{QUEUE_NAME}.msgs") == 0 and client.hlen(f"{namespace}:{QUEUE_NAME}.DQ.msgs") == 0
        ),
        timeout=60,
        what="the queue to drain",
    )
