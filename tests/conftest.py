"""Fixtures that run the real service: Litestar app, database, broker and Dramatiq worker.

`service` is parametrized over both deployments:
- embedded: SQLite file in a temp dir, in-memory broker, worker threads in the app process;
- postgres: a fresh PostgreSQL database and Redis namespace, and a real Dramatiq worker
  (threads in this process) consuming from Redis, as a `kb-ingest-worker` process would.
"""

from __future__ import annotations

import os

# Dramatiq restarts a resumed worker's consumer after `dramatiq_restart_delay` ms (3,000
# by default, read when dramatiq is imported); tests pause and resume workers often.
os.environ.setdefault("dramatiq_restart_delay", "100")

import shutil  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator
from pathlib import Path
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

import dramatiq
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from app import migrations
from app.db import make_engine, transaction
from app.main import create_app
from app.runtime import Runtime
from app.services import access_clients, workspaces
from app.services.access_clients import PendingSecret
from app.settings import Settings
from tests import services
from workers.actors import declare_actors
from workers.embedded import EmbeddedWorker

TERMINAL = {"completed", "failed", "cancelled"}
TEST_SETTINGS: dict[str, Any] = {"secret_hash_cost": 4}  # scrypt at 2**4: the tests' secrets need no protection
# Each test stops its worker, which waits out up to two polls: at 100 ms that was a
# fifth of a second per test, two minutes of the suite. Polling changes when a thread
# looks again, not what it finds.
WORKER_POLL_MS = 20
EmbeddedWorker.poll_ms = WORKER_POLL_MS


@dataclass
class Credentials:
    client_id: str
    client_secret: str
    workspace_id: UUID
    access_token: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Service:
    kind: str
    client: TestClient[Litestar]
    runtime: Runtime
    worker: Any = None

    def __post_init__(self) -> None:
        """Every request of `client` carries a `*` token of the default workspace, as a newcomer's would."""
        self.client.headers.update(self.new_client(["*"]).headers)

    def pause_worker(self) -> None:
        """Stop consuming, so submitted jobs stay pending (Dramatiq's own Worker.pause)."""
        self.worker.pause()

    def resume_worker(self) -> None:
        self.worker.resume()

    def new_workspace(self, name: str = "other") -> UUID:
        with transaction(self.runtime.sessions) as session:
            return workspaces.create(session, name=name).id

    def new_client(self, scopes: list[str] | None = None, workspace: UUID | None = None) -> Credentials:
        """A client made as an operator would, and a token from the real token endpoint."""
        pending = PendingSecret.make(cost=self.runtime.settings.secret_hash_cost)
        with transaction(self.runtime.sessions) as session:
            workspace_id = workspace or workspaces.ensure_default(session)
            wanted = frozenset(scopes or ["*"])
            new = access_clients.create(session, workspace_id=workspace_id, name="test", scopes=wanted, pending=pending)
        form = {"grant_type": "client_credentials", "client_id": str(new.client.id), "client_secret": new.secret}
        response = self.client.post("/api/v2/auth/token", data=form, headers={"Authorization": ""})
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        return Credentials(str(new.client.id), new.secret, workspace_id, token, {"Authorization": f"Bearer {token}"})

    def create_kb(self, name: str = "docs") -> str:
        response = self.client.post("/api/v2/knowledge-bases", json={"name": name})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def submit(self, kb: str, records: list[dict[str, Any]] | Any, adapter: str = "generic-json", **extra: Any) -> str:
        data = {"records": records} if adapter == "generic-json" and isinstance(records, list) else records
        response = self.client.post(
            "/api/v2/data-ingestion/jobs", json={"adapterType": adapter, "knowledgeBaseId": kb, "data": data, **extra}
        )
        assert response.status_code == 202, response.text
        return response.json()["jobId"]

    def wait(self, job_id: str, timeout: float = 60.0, until: set[str] = TERMINAL) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = self.client.get(f"/api/v2/data-ingestion/jobs/{job_id}").json()
            if job["status"] in until:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s: {job['data']['progress']}")
            time.sleep(0.02)

    def run(self, kb: str, records: Any, **extra: Any) -> dict[str, Any]:
        return self.wait(self.submit(kb, records, **extra))

    def entries(self, kb: str, **params: Any) -> list[dict[str, Any]]:
        response = self.client.get(f"/api/v2/knowledge-bases/{kb}/entries", params={"limit": 100, **params})
        assert response.status_code == 200, response.text
        return response.json()["entries"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[services.PostgresDatabases]:
    try:
        databases = services.PostgresDatabases()
        databases.prepare_template()
    except Exception as error:  # noqa: BLE001
        services.unavailable("PostgreSQL", error)
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def redis_server():  # type: ignore[no-untyped-def]
    try:
        return services.redis_client()
    except Exception as error:  # noqa: BLE001
        services.unavailable("Redis", error)


@pytest.fixture(params=["embedded", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to run the service with other settings."""
    return {}


@pytest.fixture
def service(backend: str, request: pytest.FixtureRequest, tmp_path, settings_overrides) -> Iterator[Service]:  # type: ignore[no-untyped-def]
    # Service.wait polls fast; tests of rate limiting switch it on with their own low limit.
    settings_overrides = {"rate_limit_per_minute": 0, **settings_overrides}
    if backend == "embedded":
        settings = Settings(data_dir=tmp_path / "data", log_json=False, **{**TEST_SETTINGS, **settings_overrides})
        settings.data_dir.mkdir()
        shutil.copyfile(request.getfixturevalue("sqlite_template"), settings.sqlite_file)
        yield from _embedded(settings)
    else:
        postgres = request.getfixturevalue("postgres")
        redis_server = request.getfixturevalue("redis_server")
        url = postgres.create()
        settings = services.postgres_settings(url, **{**TEST_SETTINGS, **settings_overrides})
        try:
            yield from _with_worker(settings)
        finally:
            services.clear_namespace(redis_server, settings.redis_namespace)
            postgres.drop(url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once, which each embedded service starts from a copy of,
    as each PostgreSQL one starts from a template database: migrating cost 0.08 s a test.
    The service still checks it is at head, and bootstraps its first client, on start."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("sqlite-template"))
    engine = make_engine(settings)
    migrations.upgrade(engine)
    engine.dispose()
    return settings.sqlite_file


def _embedded(settings: Settings) -> Iterator[Service]:
    app = create_app(settings)
    with TestClient(app) as client:
        yield Service("embedded", client, app.state["runtime"], app.state["worker"])


def _with_worker(settings: Settings) -> Iterator[Service]:
    app = create_app(settings)
    runtime: Runtime = app.state["runtime"]
    with TestClient(app) as client:
        worker_runtime = replace(runtime)
        declare_actors(worker_runtime)
        worker = dramatiq.Worker(runtime.broker, worker_threads=2, worker_timeout=WORKER_POLL_MS)
        worker.start()
        try:
            yield Service("postgres", client, runtime, worker)
        finally:
            worker.stop(timeout=10_000)

