"""100,000-record payloads: accepted and completed under the limits, a 400 naming the maximum over them."""

from __future__ import annotations

import time

import orjson
import pytest

JOBS = "/api/v2/data-ingestion/jobs"
COUNT = 100_000


def payload(kb: str, count: int = COUNT) -> bytes:
    records = [{"id": f"rec-{i}", "content": f"Record {i}"} for i in range(count)]
    return orjson.dumps({"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": records}})


def wait_slowly(service, job_id: str, timeout: float = 900) -> dict:
    """Polls once a second: each poll reads a sample of the job's results, which competes with the workers."""
    deadline = time.monotonic() + timeout
    while (job := service.client.get(f"{JOBS}/{job_id}").json())["status"] in {"pending", "processing"}:
        assert time.monotonic() < deadline, f"job still {job['status']} after {timeout}s: {job['data']['progress']}"
        time.sleep(1)
    return job


@pytest.mark.slow
def test_100000_records_are_accepted_and_all_applied(service):
    kb = service.create_kb()
    response = service.client.post(JOBS, content=payload(kb), headers={"content-type": "application/json"})
    assert response.status_code == 202, response.text
    job = wait_slowly(service, response.json()["jobId"])
    assert job["status"] == "completed"
    assert job["data"]["progress"] == {"processed": COUNT, "total": COUNT, "successful": COUNT, "failed": 0, "skipped": 0}
    assert job["result"]["entriesCreated"] == COUNT
    entries = service.client.get(f"/api/v2/knowledge-bases/{kb}").json()
    assert entries["entryCount"] == COUNT


@pytest.mark.parametrize("settings_overrides", [{"max_records_per_job": COUNT - 1}])
def test_100000_records_over_a_lower_maximum_is_a_400_naming_it(service):
    kb = service.create_kb()
    response = service.client.post(JOBS, content=payload(kb), headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["message"] == (
        f"Too many records: {COUNT} (the maximum per job is {COUNT - 1}); split the payload into several jobs"
    )
    assert service.client.get(JOBS).json()["total"] == 0
