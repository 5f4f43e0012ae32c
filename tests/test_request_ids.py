"""X-Request-Id on every response, and in the logs of everything the request did."""

from __future__ import annotations

import logging
import re
import time
from uuid import UUID

import httpx
import pytest
from sqlalchemy import update

from app import logs
from app.db import transaction
from app.main import create_app
from app.models import JobBatch
from app.settings import Settings
from tests.client.conftest import SERVER_DEFAULTS, listening_socket, serve

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/api/v2/knowledge-bases", 200),
        ("GET", "/api/v2/data-ingestion/jobs?limit=0", 400),
        ("GET", "/no/such/path", 404),
        ("PUT", "/api/v2/data-ingestion/jobs", 405),
        ("POST", "/api/v2/data-ingestion/jobs", 400),
    ],
)
def test_every_response_carries_a_generated_request_id(service, method, path, status):
    first = service.client.request(method, path)
    second = service.client.request(method, path)
    assert first.status_code == status
    assert GENERATED.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize("inbound", ["req_a1b2c3", "4f1c2d3e-aaaa-bbbb-cccc-1234567890ab", "trace:span.1", "x" * 128])
def test_a_sane_inbound_request_id_is_echoed(service, inbound):
    assert service.client.get("/health", headers={"X-Request-Id": inbound}).headers["x-request-id"] == inbound


@pytest.mark.parametrize("inbound", ["x" * 129, "has space", 'quote"', "<script>", "", b"caf\xc3\xa9"])
def test_an_unsafe_inbound_request_id_is_replaced(service, inbound):
    response = service.client.get("/health", headers={"X-Request-Id": inbound})
    assert GENERATED.fullmatch(response.headers["x-request-id"])


def test_body_too_large_carries_the_request_id(service):
    headers = {"X-Request-Id": "big-1", "content-type": "application/json"}
    response = service.client.post("/api/v2/data-ingestion/jobs", content=b" " * (30 * 1024 * 1024 + 1), headers=headers)
    assert response.status_code == 413
    assert response.headers["x-request-id"] == "big-1"


@pytest.mark.parametrize("settings_overrides", [{"rate_limit_per_minute": 1}])
def test_rate_limited_response_carries_the_request_id(service):
    service.client.get("/api/v2/knowledge-bases")
    response = service.client.get("/api/v2/knowledge-bases", headers={"X-Request-Id": "limited-1"})
    assert response.status_code == 429
    assert response.headers["x-request-id"] == "limited-1"


def test_logs_carry_the_request_id_and_the_job_id(service, caplog):
    caplog.handler.addFilter(logs.ContextFilter())
    kb = service.create_kb()
    response = service.client.post(
        "/api/v2/data-ingestion/jobs",
        json={"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": [{"id": "a", "content": "x"}]}},
        headers={"X-Request-Id": "trace-42"},
    )
    job_id = response.json()["jobId"]
    service.wait(job_id)
    accepted = [r for r in caplog.records if r.getMessage().startswith("accepted a job")]
    assert [(r.request_id, r.job_id) for r in accepted] == [("trace-42", job_id)]
    batches = [r for r in caplog.records if r.name == "workers.actors" and r.getMessage().startswith("batch 0")]
    assert batches and all(r.job_id == job_id for r in batches)


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/api/v2/data-ingestion/adapters", {}, 401),  # refused by a middleware, after its finally
        ("GET", "/no/such/path", {}, 404),  # refused by the router: no middleware ran
        ("PUT", "/api/v2/data-ingestion/jobs", {}, 405),
        ("GET", "/health", {}, 200),
    ],
)
def test_the_access_line_carries_the_request_id(tmp_path, caplog, monkeypatch, method, path, headers, status):
    """uvicorn writes its access line when the response starts, for every status."""
    # A server started with access_log=False (the other live servers here) stops the logger propagating.
    monkeypatch.setattr(logging.getLogger("uvicorn.access"), "propagate", True)
    app = create_app(Settings(**{**SERVER_DEFAULTS, "data_dir": tmp_path}))
    if caplog.handler not in logging.getLogger().handlers:  # create_app set the root's handlers
        logging.getLogger().addHandler(caplog.handler)
    sock = listening_socket()
    server, thread = serve(app, sock, access_log=True)
    try:
        caplog.handler.addFilter(logs.ContextFilter())  # what the service's own handler adds
        with caplog.at_level("INFO", logger="uvicorn.access"):
            response = httpx.request(method, f"http://127.0.0.1:{sock.getsockname()[1]}{path}", headers={"X-Request-Id": "rid-1", **headers})
            assert response.status_code == status
            deadline = time.monotonic() + 5
            while not [r for r in caplog.records if r.name == "uvicorn.access"] and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    access = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert access and {getattr(r, "request_id", None) for r in access} == {"rid-1"}


@pytest.mark.parametrize("settings_overrides", [{"max_batch_attempts": 2}], indirect=True)
def test_dramatiq_s_own_lines_about_a_failing_batch_carry_its_job_id_and_batch(service, caplog):
    """"Failed to process message …" and "Retrying message …" are Dramatiq's, logged
    outside the actor: they had no job id, so the error could not be traced to its job."""
    caplog.handler.addFilter(logs.ContextFilter())
    kb = service.create_kb()
    service.pause_worker()
    job_id = service.submit(kb, [{"id": f"r{i}", "content": "x"} for i in range(3)])
    with transaction(service.runtime.sessions) as session:  # a line without a comma: a ValueError when read
        session.execute(update(JobBatch).where(JobBatch.job_id == UUID(job_id)).values(items=b"[garbage]"))
    service.resume_worker()
    assert service.wait(job_id)["status"] == "failed"
    failed = [r for r in caplog.records if r.name.startswith("dramatiq") and r.getMessage().startswith("Failed to process message")]
    retried = [r for r in caplog.records if r.name.startswith("dramatiq") and r.getMessage().startswith("Retrying message")]
    assert failed and retried
    assert {(r.job_id, r.batch) for r in failed + retried} == {(job_id, 0)}
