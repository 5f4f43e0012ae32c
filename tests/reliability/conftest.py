"""A small deployment per test: the API in this process (no worker in it), `kb-ingest-worker`
processes started and killed at will, PostgreSQL and Redis (throwaway ones where a test
stops them).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from litestar.testing import TestClient

from app.main import create_app
from app.runtime import build_runtime
from app.settings import Settings
from tests import services
from tests.conftest import TEST_SETTINGS, Service
from tests.reliability import ledger, processes

# Worker settings for these tests: dead workers' messages come back after 3 s instead of a
# minute, and the sweeper runs every second but only acts on stalls when a test says so.
WORKER_ENV = {
    "LOG_JSON": "false",
    "REDIS_HEARTBEAT_TIMEOUT_MS": "3000",
    "REDIS_MAINTENANCE_CHANCE": "200000",
    "SWEEP_INTERVAL_SECONDS": "1",
    "STALL_TIMEOUT_SECONDS": "600",
}


@dataclass
class Cluster:
    service: Service
    settings: Settings
    workdir: Path
    processes: list[processes.Process] = field(default_factory=list)

    @property
    def engine(self):  # type: ignore[no-untyped-def]
        return self.service.runtime.engine

    @property
    def env(self) -> dict[str, str]:
        return process_env(self.settings)

    def start_worker(self, threads: int = 2, **settings: Any) -> processes.Process:
        """A `kb-ingest-worker` process; `settings` (e.g. max_batch_attempts=3) go to its environment."""
        env = {**self.env, **{name.upper(): str(value) for name, value in settings.items()}}
        process = processes.worker(env, self.workdir / f"worker-{len(self.processes)}.log", threads=threads).start()
        self.processes.append(process)
        return process

    def wait_for_sweeper(self, timeout: float = 60) -> None:
        """A worker is up once its sweeper made its first pass (it leaves a key in Redis)."""
        key = f"{self.settings.redis_namespace}:__kb_ingest_sentinel__"
        client = redis.Redis.from_url(self.settings.redis_url or "")
        processes.wait_until(lambda: client.exists(key), timeout=timeout, what="a worker's first sweep")

    def when_partly_done(self, job_id: str, action: Callable[[], object], low: float = 0.1, high: float = 0.9) -> int:
        """Run `action` (a kill, an outage) once between `low` and `high` of the records are
        processed, just after a batch was claimed: with threads in step, the moment the
        counters move may find every thread between batches, or about to commit."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status, processed, total = ledger.progress(self.engine, job_id)
            if processed >= low * total and ledger.in_flight(self.engine, job_id):
                assert processed <= high * total and status == "processing", f"too late: {status} {processed}/{total}"
                action()
                return processed
            assert not [p.tail() for p in self.processes if p.died], "a worker died on its own"
            time.sleep(0.005)
        raise AssertionError(f"job {job_id} never reached {low:.0%}")

    def kill_when_partly_done(self, job_id: str, worker: processes.Process) -> int:
        return self.when_partly_done(job_id, worker.kill)

    def close(self) -> None:
        for process in self.processes:
            process.kill()


@pytest.fixture(scope="session")
def throwaway_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[processes.RedisServer]:
    try:
        server = processes.RedisServer(tmp_path_factory.mktemp("redis")).start()
    except Exception as error:  # noqa: BLE001
        services.unavailable("redis-server", error)
    yield server
    server.stop()


@pytest.fixture
def make_cluster(postgres, throwaway_redis, tmp_path):  # type: ignore[no-untyped-def]
    """Build a Cluster: `make_cluster(batch_size=25, database_url=..., redis_url=...)`.

    With `api_env`, the API runs as a `kb-ingest serve` process with that extra environment
    (a plug-in adapter on PYTHONPATH, say) instead of in this process.
    """
    made: list[tuple[Cluster, Callable[[], None]]] = []
    drop: list[str] = []

    def make(
        *,
        database_url: str | None = None,
        redis_url: str | None = None,
        api_env: dict[str, str] | None = None,
        **overrides: Any,
    ) -> Cluster:
        if database_url is None:
            database_url = postgres.create()
            drop.append(database_url)
        settings = Settings(
            database_url=database_url,
            redis_url=redis_url or throwaway_redis.url,
            redis_namespace=f"kbi-rel-{uuid.uuid4().hex[:10]}",
            log_json=False,
            secret_key="reliability-test-signing-key-" + uuid.uuid4().hex,
            **{**TEST_SETTINGS, **overrides},
        )
        if api_env is None:
            cluster, close = _in_process_api(settings, tmp_path)
        else:
            cluster, close = _api_process(settings, tmp_path, api_env, overrides)
        made.append((cluster, close))
        return cluster

    yield make
    for cluster, close in made:
        cluster.close()
        close()
    for url in drop:
        postgres.drop(url)


def _in_process_api(settings: Settings, workdir: Path) -> tuple[Cluster, Callable[[], None]]:
    app = create_app(settings)
    client = TestClient(app)
    client.__enter__()
    cluster = Cluster(Service("cluster", client, app.state["runtime"]), settings, workdir)
    return cluster, lambda: client.__exit__(None, None, None)


def process_env(s: Settings) -> dict[str, str]:
    """The environment our worker and API processes need to join this cluster."""
    return {
        **WORKER_ENV,
        "DATABASE_URL": s.database_url or "",
        "REDIS_URL": s.redis_url or "",
        "REDIS_NAMESPACE": s.redis_namespace,
        "SECRET_KEY": s.secret_key or "",
        "SECRET_HASH_COST": str(s.secret_hash_cost),
    }


def _api_process(
    settings: Settings, workdir: Path, api_env: dict[str, str], overrides: dict[str, Any]
) -> tuple[Cluster, Callable[[], None]]:
    runtime = build_runtime(settings)  # this process's view of the database and broker
    port = processes.free_port()
    env = {**process_env(settings), **{k.upper(): str(v) for k, v in overrides.items()}, **api_env}
    api = processes.api(env, workdir / "api.log", port).start()
    processes.wait_for_api(port)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    cluster = Cluster(Service("cluster", client, runtime), settings, workdir)  # type: ignore[arg-type]
    cluster.processes.append(api)

    def close() -> None:
        cluster.service.client.close()
        runtime.close()

    return cluster, close
