"""The sweeper finds what the broker lost, sends it again, and gives up on what cannot finish.

These run on both deployments (SQLite + in-memory broker, PostgreSQL + Redis). A lost
message is a job stored as the API stores it but never sent, which is also what an API
process killed between its commit and its enqueue leaves behind.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import update

from app.api import job_creation
from app.db import transaction
from app.models import DEFAULT_WORKSPACE_ID, Job, JobBatch
from app.queue import JobQueue
from app.runtime import Runtime
from app.services import batches, jobs, sweeper
from app.timestamps import utcnow
from tests import services
from tests.reliability.ledger import assert_applied_once, assert_counted_once, records
from workers.middleware import Sweeping

POLICY = sweeper.Policy(stall_after=timedelta(minutes=5), max_attempts=3)
SMALL_BATCHES = [{"batch_size": 2}]


def sweep(runtime: Runtime, *, lost: bool = False) -> sweeper.Sweep:
    """One pass of the sweeper's logic, then send what it decided, as the runner does."""
    with transaction(runtime.sessions) as session:
        result = sweeper.sweep(session, policy=POLICY, now=utcnow(), broker_lost_messages=lost)
    for job_id, seqs in result.resend.items():
        runtime.queue.enqueue_batches(job_id, seqs)
    return result


def age(runtime: Runtime, job_id: str, *, minutes: int) -> None:
    """Make a job and its sent batches look `minutes` old: nothing moved since."""
    past = utcnow() - timedelta(minutes=minutes)
    uuid = UUID(job_id)
    with transaction(runtime.sessions) as session:
        session.execute(update(Job).where(Job.id == uuid).values(created_at=past, updated_at=past))
        session.execute(
            update(JobBatch).where(JobBatch.job_id == uuid, JobBatch.enqueued_at.is_not(None)).values(enqueued_at=past)
        )


def set_attempts(runtime: Runtime, job_id: str, seq: int, attempts: int) -> None:
    with transaction(runtime.sessions) as session:
        session.execute(
            update(JobBatch).where(JobBatch.job_id == UUID(job_id), JobBatch.seq == seq).values(attempts=attempts)
        )


def accept_without_sending(service, kb: str, data: list[dict]) -> str:  # type: ignore[no-untyped-def]
    """Store a job exactly as POST /jobs does (its last step, enqueueing, is left out)."""
    submission = jobs.Submission(adapter_type="generic-json", knowledge_base_id=UUID(kb), data={"records": data})
    created = job_creation.create_job(service.runtime, workspace_id=DEFAULT_WORKSPACE_ID, submission=submission, key=None)
    return str(created.job_id)


@pytest.mark.parametrize("settings_overrides", SMALL_BATCHES)
def test_sweeper_sends_again_the_batches_of_a_job_whose_messages_were_lost(service):
    kb = service.create_kb()
    data = records(5)
    job_id = accept_without_sending(service, kb, data)

    assert not sweep(service.runtime), "a job within its deadline is left alone"
    age(service.runtime, job_id, minutes=10)
    result = sweep(service.runtime)
    assert result.resend == {UUID(job_id): [0, 1, 2]}
    assert not sweep(service.runtime), "batches just sent again are not sent a third time"

    service.wait(job_id)
    assert_applied_once(service.runtime.engine, job_id, kb, [r["id"] for r in data])


@pytest.mark.parametrize("settings_overrides", SMALL_BATCHES)
def test_batches_that_never_reached_the_broker_are_sent_on_the_next_sweep(service):
    kb = service.create_kb()
    data = records(5)
    job_id = accept_without_sending(service, kb, data)
    unreachable = JobQueue(RedisBroker(url="redis://127.0.0.1:1/0"), service.runtime.sessions)

    assert unreachable.enqueue_batches(UUID(job_id), [0, 1, 2]) is False
    assert sweep(service.runtime).resend == {UUID(job_id): [0, 1, 2]}

    service.wait(job_id)
    assert_applied_once(service.runtime.engine, job_id, kb, [r["id"] for r in data])


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("settings_overrides", SMALL_BATCHES)
def test_redis_losing_its_data_makes_the_sweeper_send_every_unfinished_batch_at_once(service, redis_server):
    kb = service.create_kb()
    data = records(5)
    job_id = accept_without_sending(service, kb, data)
    runner = next(m for m in service.runtime.broker.middleware if isinstance(m, Sweeping)).sweeper
    runner.sweep_once()
    assert not service.runtime.queue.lost_messages()

    services.clear_namespace(redis_server, service.runtime.settings.redis_namespace)  # a restart without persistence
    assert service.runtime.queue.lost_messages()
    result = runner.sweep_once()
    assert result is not None and result.resend == {UUID(job_id): [0, 1, 2]}, "no deadline when Redis forgot"
    assert not service.runtime.queue.lost_messages()

    service.wait(job_id)
    assert_applied_once(service.runtime.engine, job_id, kb, [r["id"] for r in data])


@pytest.mark.parametrize("settings_overrides", SMALL_BATCHES)
def test_sweeper_fails_a_job_whose_batch_used_up_its_attempts(service):
    kb = service.create_kb()
    job_id = accept_without_sending(service, kb, records(5))
    set_attempts(service.runtime, job_id, 1, POLICY.max_attempts)
    age(service.runtime, job_id, minutes=10)

    result = sweep(service.runtime)

    assert result.resend == {}
    assert result.failed == {UUID(job_id): batches.out_of_attempts(1, POLICY.max_attempts)}
    job = service.client.get(f"/api/v2/data-ingestion/jobs/{job_id}").json()
    assert job["status"] == "failed"
    assert job["result"]["error"] == "batch 1 crashed its worker: started 3 times, it never finished " + (
        "(the worker process died while applying it: out of memory or a crash)"
    )


def test_sweeper_leaves_finished_and_cancelled_jobs_alone(service):
    kb = service.create_kb()
    done = service.run(kb, records(3))["id"]
    cancelled = accept_without_sending(service, kb, records(3, prefix="other"))
    assert service.client.delete(f"/api/v2/data-ingestion/jobs/{cancelled}").status_code == 204
    for job_id in (done, cancelled):
        age(service.runtime, job_id, minutes=10)

    assert not sweep(service.runtime, lost=True)


@pytest.mark.parametrize("settings_overrides", [{"batch_size": 2, "max_batch_attempts": 3}])
def test_a_batch_claimed_after_using_up_its_attempts_fails_its_job(service):
    kb = service.create_kb()
    job_id = accept_without_sending(service, kb, records(5))
    set_attempts(service.runtime, job_id, 1, 3)

    service.runtime.queue.enqueue_batches(UUID(job_id), [0, 1, 2])
    job = service.wait(job_id)

    assert job["status"] == "failed"
    assert job["result"]["error"] == batches.out_of_attempts(1, 3)
    assert_counted_once(service.runtime.engine, job_id)


def test_only_one_process_leads_the_sweep_and_the_lead_passes_on_when_its_holder_goes(postgres):
    from sqlalchemy import create_engine, text

    from workers.sweeper import AdvisoryLockLeadership

    url = postgres.create()
    engines = [create_engine(url), create_engine(url)]
    try:
        first, second = (AdvisoryLockLeadership(engine) for engine in engines)
        assert first.leading() and first.leading()
        assert not second.leading()
        first.release()
        assert second.leading() and not first.leading()
        with engines[0].connect() as connection:  # the leader's connection dies: a crash, a restart
            # pg_terminate_backend(pid, timeout) waits until the backend is gone, and with it
            # the lock; without the wait the next try could still find the lock held.
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid, 10000) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
        assert first.leading()
        assert not second.leading(), "a leader that lost its connection stops sweeping"
        first.release()
        second.release()
    finally:
        for engine in engines:
            engine.dispose()
        postgres.drop(url)
