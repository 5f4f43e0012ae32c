"""Cross-cutting HTTP behaviour: errors in our JSON shape, health probes, request ids, OpenAPI."""

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from app import db, migrations
from app.api import health
from app.main import create_app
from app.settings import Settings
from tests import services

REQUIRED_ERROR_FIELDS = {"statusCode", "error", "message", "timestamp", "path"}


def test_unknown_route_is_a_json_404(service):
    response = service.client.get("/api/v2/nothing-here")
    assert response.status_code == 404
    body = response.json()
    assert set(body) == REQUIRED_ERROR_FIELDS
    assert body["message"] == "Cannot GET /api/v2/nothing-here" and body["error"] == "Not Found"


def test_wrong_method_is_a_json_405(service):
    response = service.client.put("/api/v2/data-ingestion/jobs")
    assert response.status_code == 405
    assert response.json()["message"] == "Method PUT is not allowed on /api/v2/data-ingestion/jobs"


@pytest.fixture
def settings_overrides(request):
    return getattr(request, "param", {})


@pytest.mark.parametrize("settings_overrides", [{"max_body_bytes": 2048}], indirect=True)
def test_body_over_the_limit_is_a_json_413_also_when_chunked(service):
    kb = service.create_kb()
    big = {"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": [{"id": "a", "content": "x" * 4096}]}}
    response = service.client.post("/api/v2/data-ingestion/jobs", json=big)
    assert response.status_code == 413
    assert response.json()["message"].startswith("Request body exceeds the maximum of 2048 bytes")

    def chunks():
        yield b'{"adapterType": "generic-json", "data": {"records": [{"id": "a", "content": "'
        for _ in range(10):
            yield b"x" * 512
        yield b'"}]}}'

    chunked = service.client.post(
        "/api/v2/data-ingestion/jobs", content=chunks(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413
    assert set(chunked.json()) == REQUIRED_ERROR_FIELDS


def test_unexpected_failure_is_a_generic_500_without_internals(service):
    kb = service.create_kb()
    job = service.run(kb, [{"id": "a", "content": "x"}])
    with service.runtime.engine.begin() as connection:
        connection.execute(text("DROP TABLE job_results"))
    response = service.client.get(f"/api/v2/data-ingestion/jobs/{job['id']}")
    assert response.status_code == 500
    body = response.json()
    assert body["message"] == "An unexpected error occurred"
    assert "job_results" not in response.text and "Traceback" not in response.text


def test_health_and_ready_answer(service):
    assert service.client.get("/health").json() == {"status": "ok", "checks": {}}
    ready = service.client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok" and ready.json()["checks"]["broker"] == "ok"


def test_every_response_carries_a_request_id_echoing_a_sane_one(service):
    assert len(service.client.get("/health").headers["x-request-id"]) == 32
    assert service.client.get("/health", headers={"X-Request-Id": "abc-123"}).headers["x-request-id"] == "abc-123"
    assert service.client.get("/health", headers={"X-Request-Id": "bad id\x7f"}).headers["x-request-id"] != "bad id\x7f"
    assert "x-request-id" in service.client.get("/api/v2/nope").headers


def test_openapi_documents_every_endpoint(service):
    schema = service.client.get("/schema/openapi.json").json()
    paths = schema["paths"]
    expected = {
        ("/api/v2/data-ingestion/jobs", "post"),
        ("/api/v2/data-ingestion/jobs", "get"),
        ("/api/v2/data-ingestion/jobs/{jobId}", "get"),
        ("/api/v2/data-ingestion/jobs/{jobId}", "delete"),
        ("/api/v2/data-ingestion/jobs/{jobId}/results", "get"),
        ("/api/v2/data-ingestion/adapters", "get"),
        ("/api/v2/knowledge-bases", "post"),
        ("/api/v2/knowledge-bases", "get"),
        ("/api/v2/knowledge-bases/{knowledgeBaseId}", "get"),
        ("/api/v2/knowledge-bases/{knowledgeBaseId}/entries", "get"),
        ("/health", "get"),
        ("/ready", "get"),
    }
    assert expected <= {(path, method) for path, operations in paths.items() for method in operations}
    submit = paths["/api/v2/data-ingestion/jobs"]["post"]
    assert set(submit["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert {"202", "400", "404", "413"} <= set(submit["responses"])
    job_schema = schema["components"]["schemas"]["JobPublic"]
    assert {"id", "status", "data", "result", "started_at", "completed_at"} <= set(job_schema["properties"])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that takes connections and never answers on them."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def take() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                pass

    taking = threading.Thread(target=take, daemon=True)
    taking.start()
    yield listener.getsockname()[1]
    stop.set()
    taking.join(timeout=5)
    for connection in held:
        connection.close()
    listener.close()


def test_ready_answers_within_two_seconds_when_the_broker_takes_connections_but_never_answers(postgres, silent_server):
    """Redis's client waits 5 s, as long as compose's probe waits for /ready: the probe
    saw a timeout, not this 503 saying which part is down."""
    url = postgres.create()
    try:
        settings = services.postgres_settings(url, redis_url=f"redis://127.0.0.1:{silent_server}/9")
        with TestClient(create_app(settings)) as client:
            started = time.monotonic()
            response = client.get("/ready")
            took = time.monotonic() - started
        assert response.status_code == 503
        assert response.json()["checks"] == {"database": "ok", "broker": "unavailable: no answer within 2 s"}
        assert took < 4
    finally:
        postgres.drop(url)


def test_probes_of_a_check_that_never_answers_share_it(monkeypatch):
    """Each probe used to leave a thread behind, holding a pooled connection for as long
    as the server kept it (for ever, for a database without a client timeout): 25 probes,
    25 threads and a pool run dry. Probes now wait on the one check still running."""
    monkeypatch.setattr(health, "ANSWER_WITHIN_SECONDS", 0.2)
    released = threading.Event()
    started = []

    def hung_check(_runtime: object) -> str:
        started.append(1)
        released.wait(timeout=30)
        return "ok"

    runtime = object()
    answers = [asyncio.run(health._answer(health._running(runtime, "database", hung_check))) for _ in range(5)]  # type: ignore[arg-type]
    assert answers == ["unavailable: no answer within 0.2 s"] * 5
    assert len(started) == 1
    released.set()
    deadline = time.monotonic() + 10
    while health._RUNNING and time.monotonic() < deadline:
        time.sleep(0.01)
    assert health._RUNNING == {}
    assert asyncio.run(health._answer(health._running(runtime, "database", hung_check))) == "ok"
    assert len(started) == 2


@pytest.mark.parametrize(
    ("query", "default"),
    [("", 1), ("?connect_timeout=1", 60)],
    ids=["ours", "the-url-wins"],
)
def test_a_database_that_takes_connections_but_never_answers_is_given_up_on(silent_server, monkeypatch, query, default):
    """libpq waited for ever: an API starting, or a probe, hung with it. A timeout the
    DATABASE_URL gives is the one kept."""
    monkeypatch.setattr(db, "CONNECT_TIMEOUT_SECONDS", default)
    engine = db.make_engine(Settings(database_url=f"postgresql://postgres@127.0.0.1:{silent_server}/none{query}"))
    started = time.monotonic()
    with pytest.raises(OperationalError, match="timeout"), engine.connect():
        pass
    assert time.monotonic() - started < 5
    engine.dispose()


def test_a_check_that_could_not_start_is_tried_again_by_the_next_probe(monkeypatch):
    real_start = threading.Thread.start
    refused = []

    def start_refused_once(self):  # type: ignore[no-untyped-def]
        if self.name.startswith("ready-") and not refused:
            refused.append(1)
            raise RuntimeError("can't start new thread")
        return real_start(self)

    monkeypatch.setattr(threading.Thread, "start", start_refused_once)
    runtime = object()
    first = asyncio.run(health._answer(health._running(runtime, "broker", lambda _runtime: "ok")))  # type: ignore[arg-type]
    second = asyncio.run(health._answer(health._running(runtime, "broker", lambda _runtime: "ok")))  # type: ignore[arg-type]
    assert (first, second) == ("unavailable: RuntimeError", "ok")


def test_ready_says_when_the_database_schema_is_behind_this_release(postgres, redis_server, caplog):
    """A forgotten `kb-ingest migrate` answered every request with a 500 while /ready said
    200. A schema newer than the release (an older process during a deploy) stays ready."""
    url = postgres.create()
    engine = create_engine(url)
    try:
        with engine.begin() as connection:  # a database nothing was migrated on
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        head = migrations._scripts()[0]
        with TestClient(create_app(services.postgres_settings(url))) as client:
            checks = client.get("/ready")
            assert checks.status_code == 503
            assert checks.json()["checks"]["database"] == f"unavailable: database schema: no schema, this release needs {head}; run kb-ingest migrate"
            services.alembic(engine, "upgrade", "0014_failed_results_index")
            assert client.get("/ready").json()["checks"]["database"] == (
                f"unavailable: database schema: 0014_failed_results_index, this release needs {head}; run kb-ingest migrate"
            )
            services.alembic(engine, "upgrade", "head")
            assert client.get("/ready").status_code == 200
            alembic_log = logging.getLogger("alembic")  # the app's logging setup took caplog's handler off the root
            alembic_log.addHandler(caplog.handler)
            try:
                with caplog.at_level(logging.DEBUG, logger="alembic"):
                    client.get("/ready")
            finally:
                alembic_log.removeHandler(caplog.handler)
            assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == []  # nothing logged per probe
            with engine.begin() as connection:
                connection.execute(text("UPDATE alembic_version SET version_num = '9999_a_later_release'"))
            assert client.get("/ready").status_code == 200
    finally:
        engine.dispose()
        postgres.drop(url)

