"""Redis and PostgreSQL going away mid-job: `/ready` says so, the service recovers by
itself (none of our processes is restarted), and no accepted job is lost.

The servers are throwaway instances on spare ports, crashed and started again by the test;
the machine's shared ones are never touched.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from uuid import UUID

import pytest
from sqlalchemy import create_engine, func, select

from app import migrations
from app.models import JobBatch
from tests import services
from tests.reliability import ledger, processes

pytestmark = pytest.mark.slow

BATCH_SIZE = 25


@pytest.fixture
def own_redis(tmp_path) -> Iterator[processes.RedisServer]:  # type: ignore[no-untyped-def]
    try:
        server = processes.RedisServer(tmp_path).start()
    except Exception as error:  # noqa: BLE001
        services.unavailable("redis-server", error)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[processes.PostgresServer]:
    try:
        server = processes.PostgresServer().start()
    except Exception as error:  # noqa: BLE001
        services.unavailable("PostgreSQL server binaries (initdb, pg_ctl)", error)
    yield server
    server.destroy()


def migrated_database(server: processes.PostgresServer) -> str:
    url = server.create_database(f"kbi_{uuid.uuid4().hex[:10]}")
    engine = create_engine(url)
    migrations.upgrade(engine)
    engine.dispose()
    return url


def readiness(cluster) -> tuple[int, dict[str, str]]:  # type: ignore[no-untyped-def]
    response = cluster.service.client.get("/ready")
    return response.status_code, response.json()["checks"]


def wait_ready(cluster) -> None:  # type: ignore[no-untyped-def]
    processes.wait_until(lambda: readiness(cluster)[0] == 200, timeout=30, what="/ready to answer 200")


def test_redis_restarted_without_persistence_mid_job_loses_no_accepted_job(make_cluster, own_redis):
    cluster = make_cluster(batch_size=BATCH_SIZE, redis_url=own_redis.url)
    kb_early, kb_late = cluster.service.create_kb("early"), cluster.service.create_kb("late")
    early_data, late_data = ledger.records(1200, size=3000), ledger.records(60, prefix="late")
    worker = cluster.start_worker()
    cluster.wait_for_sweeper()

    early = cluster.service.submit(kb_early, early_data)
    cluster.when_partly_done(early, own_redis.crash)
    status, checks = readiness(cluster)
    assert status == 503 and checks["database"] == "ok" and checks["broker"].startswith("unavailable")
    late = cluster.service.submit(kb_late, late_data)  # accepted while the broker is down
    own_redis.start()  # same port, empty: every queued message is gone
    wait_ready(cluster)

    cluster.service.wait(early, timeout=120)
    cluster.service.wait(late, timeout=60)
    ledger.assert_applied_once(cluster.engine, early, kb_early, [r["id"] for r in early_data])
    ledger.assert_applied_once(cluster.engine, late, kb_late, [r["id"] for r in late_data])
    assert worker.running, "the worker reconnected by itself"


def test_postgres_restarted_while_a_worker_writes_loses_nothing(make_cluster, own_postgres):
    cluster = make_cluster(batch_size=BATCH_SIZE, database_url=migrated_database(own_postgres))
    kb = cluster.service.create_kb()
    data = ledger.records(1200, size=3000)
    worker = cluster.start_worker()
    cluster.wait_for_sweeper()

    job_id = cluster.service.submit(kb, data)
    cluster.when_partly_done(job_id, own_postgres.crash)
    status, checks = readiness(cluster)
    assert status == 503 and checks["broker"] == "ok" and checks["database"].startswith("unavailable")
    time.sleep(2)  # batches fail meanwhile, and Dramatiq retries them
    own_postgres.start()
    wait_ready(cluster)

    cluster.service.wait(job_id, timeout=120)
    ledger.assert_applied_once(cluster.engine, job_id, kb, [r["id"] for r in data])
    assert worker.running, "the worker reconnected by itself"


def test_postgres_down_longer_than_the_retry_budget_is_resumed_by_the_sweeper(make_cluster, own_postgres):
    cluster = make_cluster(batch_size=BATCH_SIZE, database_url=migrated_database(own_postgres))
    kb = cluster.service.create_kb()
    data = ledger.records(1200, size=3000)
    worker = cluster.start_worker(message_retries=1, stall_timeout_seconds=3)
    cluster.wait_for_sweeper()

    job_id = cluster.service.submit(kb, data)
    cluster.when_partly_done(job_id, own_postgres.crash)
    time.sleep(8)  # long enough for Dramatiq to give up on every message it holds
    own_postgres.start()
    restarted = ledger.job_row(cluster.engine, job_id).updated_at

    cluster.service.wait(job_id, timeout=120)
    ledger.assert_applied_once(cluster.engine, job_id, kb, [r["id"] for r in data])
    with cluster.engine.connect() as connection:
        resent = connection.scalar(
            select(func.count()).where(JobBatch.job_id == UUID(job_id), JobBatch.enqueued_at > restarted)
        )
    assert resent, "the sweeper sent the batches Dramatiq had given up on"
    assert worker.running


def test_polls_across_a_postgres_restart_answer_200_or_a_retryable_503(make_cluster, own_postgres):
    """The API pings only idle pooled connections; one used just before a restart fails once, as a 503."""
    cluster = make_cluster(batch_size=BATCH_SIZE, database_url=migrated_database(own_postgres))
    kb = cluster.service.create_kb()
    path = f"/api/v2/data-ingestion/jobs/{cluster.service.submit(kb, ledger.records(10))}"
    assert cluster.service.client.get(path).status_code == 200

    own_postgres.crash()
    down = cluster.service.client.get(path)
    assert down.status_code == 503, down.text
    assert down.json()["message"] == "The database is unavailable; retry shortly" and down.headers["retry-after"] == "1"

    own_postgres.start()
    statuses = [cluster.service.client.get(path).status_code for _ in range(2)]
    for _ in range(3):  # connections used right before another restart, without a ping
        own_postgres.crash()
        own_postgres.start()
        statuses += [cluster.service.client.get(path).status_code for _ in range(3)]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[-1] == 200 and statuses.count(503) <= 6, statuses
