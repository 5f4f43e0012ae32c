"""Size limits: request bodies (413, also streamed), records per job (400), and per-record limits (that record fails)."""

from __future__ import annotations

import orjson
import pytest
from litestar import Litestar, Request, post
from litestar.testing import TestClient

from app.api.body import SPOOL_TO_DISK_AFTER, BodyLimits, read_form
from app.settings import MB, Settings

JOBS = "/api/v2/data-ingestion/jobs"
SMALL_BODY = {"max_body_bytes": 64 * 1024}


def submission(kb: str, records: list) -> dict:
    return {"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": records}}


def assert_too_large(response, limit: int) -> None:
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["statusCode"] == 413
    assert body["error"] == "Request Entity Too Large"
    assert body["message"].startswith(f"Request body exceeds the maximum of {limit} bytes")
    assert body["path"] == JOBS


def test_defaults_are_30_mb_bodies_and_100000_records_and_peer_record_limits():
    settings = Settings()
    assert (settings.max_body_bytes, settings.max_records_per_job) == (30 * MB, 100_000)
    assert (settings.max_record_fields, settings.max_field_bytes, settings.max_record_bytes) == (200, 5 * MB, 10 * MB)


def test_limits_are_read_from_the_environment():
    names = ["MAX_BODY_BYTES", "MAX_RECORDS_PER_JOB", "MAX_RECORD_FIELDS", "MAX_FIELD_BYTES", "MAX_RECORD_BYTES"]
    settings = Settings.from_env({name: str(i + 1) for i, name in enumerate(names)})
    values = (settings.max_body_bytes, settings.max_records_per_job, settings.max_record_fields, settings.max_field_bytes, settings.max_record_bytes)
    assert values == (1, 2, 3, 4, 5)


def test_json_body_over_the_default_30_mb_is_a_413(service):
    kb = service.create_kb()
    padding = "x" * (30 * MB)
    body = orjson.dumps(submission(kb, [{"id": "a", "content": padding}]))
    assert_too_large(service.client.post(JOBS, content=body, headers={"content-type": "application/json"}), 30 * MB)
    assert service.client.get(JOBS).json()["total"] == 0


@pytest.mark.parametrize("settings_overrides", [SMALL_BODY])
def test_chunked_body_without_content_length_over_the_limit_is_a_413(service):
    def chunks():
        yield b'{"adapterType": "generic-json", "data": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    response = service.client.post(JOBS, content=chunks(), headers={"content-type": "application/json"})
    assert_too_large(response, 64 * 1024)


@pytest.mark.parametrize("settings_overrides", [SMALL_BODY])
def test_multipart_upload_over_the_limit_is_a_413(service):
    kb = service.create_kb()
    files = {"data": ("data.json", b"[" + b" " * (64 * 1024) + b"]", "application/json")}
    response = service.client.post(JOBS, data={"adapterType": "generic-json", "knowledgeBaseId": kb}, files=files)
    assert_too_large(response, 64 * 1024)


@pytest.mark.parametrize("settings_overrides", [SMALL_BODY])
def test_body_just_under_the_limit_is_accepted(service):
    kb = service.create_kb()
    body = submission(kb, [{"id": "a", "content": "x"}])
    encoded = orjson.dumps(body)
    body["data"]["records"][0]["content"] = "x" * (64 * 1024 - len(encoded) + 1)
    encoded = orjson.dumps(body)
    assert len(encoded) == 64 * 1024
    response = service.client.post(JOBS, content=encoded, headers={"content-type": "application/json"})
    assert response.status_code == 202, response.text


@post("/upload", request_max_body_size=None)
async def upload(request: Request) -> dict[str, object]:
    form = await read_form(request, BodyLimits(30 * MB))
    try:
        data = form.files["data"]
        data.file_object.seek(0)
        return {"inMemory": data.in_memory, "onDisk": data.actual_file_name is not None, "bytes": len(data.file_object.read())}
    finally:
        form.close()


def test_multipart_upload_is_spooled_to_disk_past_1_mb():
    payload = orjson.dumps({"records": [{"id": str(i), "content": "y" * 1000} for i in range(3000)]})
    assert len(payload) > 2 * SPOOL_TO_DISK_AFTER
    with TestClient(Litestar([upload])) as client:
        response = client.post("/upload", files={"data": ("data.json", payload, "application/json")})
    assert response.json() == {"inMemory": False, "onDisk": True, "bytes": len(payload)}


@pytest.mark.parametrize("settings_overrides", [SMALL_BODY])
def test_an_endless_upload_is_refused_at_the_limit_without_reading_the_rest(service):
    """No Content-Length, and a body that never ends: the 413 comes after limit + 1 KB were read."""
    chunks_read = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal chunks_read
        chunks_read += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http", "http_version": "1.1", "method": "POST", "scheme": "http", "path": JOBS, "raw_path": JOBS.encode(),
        "root_path": "", "query_string": b"", "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
        "headers": [
            (b"content-type", b"application/json"),
            (b"transfer-encoding", b"chunked"),
            (b"authorization", service.client.headers["authorization"].encode()),
        ],
    }  # fmt: skip
    service.client.blocking_portal.call(service.client.app, scope, receive, send)
    assert sent[0]["status"] == 413
    assert orjson.loads(sent[1]["body"])["message"].startswith("Request body exceeds the maximum of 65536 bytes")
    assert chunks_read == 64 + 1


@pytest.mark.parametrize("settings_overrides", [{"max_records_per_job": 10}])
def test_more_records_than_the_maximum_is_a_400_naming_it(service):
    kb = service.create_kb()
    response = service.client.post(JOBS, json=submission(kb, [{"id": str(i), "content": "x"} for i in range(11)]))
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Too many records: 11 (the maximum per job is 10); split the payload into several jobs"
    assert body["errors"] == [{"path": "data", "message": "has 11 records, more than the maximum of 10"}]
    assert service.client.post(JOBS, json=submission(kb, [{"id": str(i), "content": "x"} for i in range(10)])).status_code == 202


@pytest.mark.parametrize("settings_overrides", [{"max_record_fields": 3, "max_field_bytes": 100, "max_record_bytes": 250}])
def test_records_over_the_per_record_limits_fail_alone_with_clear_errors(service):
    kb = service.create_kb()
    records = [
        {"id": "ok", "content": "fits", "metadata": {"a": 1, "b": 2, "c": 3}},
        {"id": "fields", "content": "x", "metadata": {"a": 1, "b": 2, "c": 3, "d": 4}},
        {"id": "content", "title": "Big", "content": "x" * 101},
        {"id": "metadata", "content": "x", "metadata": {"a": "y" * 100}},
        {"id": "record", "title": "t" * 90, "content": "c" * 90, "url": "https://example.com/" + "u" * 70},
    ]
    job = service.run(kb, records)
    assert job["status"] == "completed"
    assert job["data"]["progress"] == {"processed": 5, "total": 5, "successful": 1, "failed": 4, "skipped": 0}
    results = service.client.get(f"{JOBS}/{job['id']}/results").json()["results"]
    errors = {r["sourceId"]: r["error"] for r in results}
    assert errors == {
        "ok": None,
        "fields": "metadata has 4 fields, more than the maximum of 3",
        "content": "content is 101 bytes, larger than the maximum of 100",
        "metadata": "metadata is 108 bytes, larger than the maximum of 100",
        "record": "record is 274 bytes, larger than the maximum of 250",
    }
    assert [e["sourceId"] for e in service.entries(kb)] == ["ok"]
