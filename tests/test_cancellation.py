"""DELETE of a job: pending jobs never run, processing ones stop at a batch boundary, terminal ones are a 409."""

import time
import uuid

import pytest

JOBS = "/api/v2/data-ingestion/jobs"


@pytest.fixture
def settings_overrides():
    return {"batch_size": 10}


def test_cancelled_pending_job_is_never_processed(service, caplog):
    kb = service.create_kb()
    service.pause_worker()
    job_id = service.submit(kb, [{"id": f"r{i}", "content": "x"} for i in range(30)])
    with caplog.at_level("INFO", logger="app.api.jobs"):
        assert service.client.delete(f"{JOBS}/{job_id}").status_code == 204
    assert [getattr(r, "job_id", None) for r in caplog.records if r.getMessage() == "cancelled the job"] == [job_id]
    service.resume_worker()
    time.sleep(1.0)
    job = service.client.get(f"{JOBS}/{job_id}").json()
    assert job["status"] == "cancelled"
    assert job["data"]["progress"]["processed"] == 0
    assert job["started_at"] is None and job["completed_at"] is not None
    assert service.entries(kb) == []


def test_cancel_of_processing_job_stops_it_and_keeps_applied_records(service):
    kb = service.create_kb()
    job_id = service.submit(kb, [{"id": f"r{i}", "content": f"record {i} " * 20} for i in range(6000)])
    service.wait(job_id, until={"processing"})
    while service.client.get(f"{JOBS}/{job_id}").json()["data"]["progress"]["processed"] == 0:
        time.sleep(0.01)
    assert service.client.delete(f"{JOBS}/{job_id}").status_code == 204
    assert service.client.get(f"{JOBS}/{job_id}").json()["status"] == "cancelled"
    time.sleep(1.0)
    job = service.client.get(f"{JOBS}/{job_id}").json()
    time.sleep(0.5)
    assert service.client.get(f"{JOBS}/{job_id}").json()["data"]["progress"] == job["data"]["progress"]
    progress = job["data"]["progress"]
    assert 0 < progress["processed"] < 6000
    assert progress["processed"] % 10 == 0
    assert progress["processed"] == progress["successful"] == job["result"]["entriesCreated"]
    results = service.client.get(f"{JOBS}/{job_id}/results", params={"limit": 1}).json()
    assert results["total"] == progress["processed"]
    total_entries = service.client.get(f"/api/v2/knowledge-bases/{kb}/entries", params={"limit": 1}).json()["total"]
    assert total_entries == progress["processed"]


def test_cancel_of_a_completed_job_is_a_409(service):
    kb = service.create_kb()
    job = service.run(kb, [{"id": "a", "content": "x"}])
    response = service.client.delete(f"{JOBS}/{job['id']}")
    assert response.status_code == 409
    assert response.json()["message"] == f"Job {job['id']} is already completed"


def test_cancel_of_a_cancelled_job_is_a_409(service):
    kb = service.create_kb()
    service.pause_worker()
    job_id = service.submit(kb, [{"id": "a", "content": "x"}])
    assert service.client.delete(f"{JOBS}/{job_id}").status_code == 204
    assert service.client.delete(f"{JOBS}/{job_id}").json()["message"] == f"Job {job_id} is already cancelled"
    service.resume_worker()


@pytest.mark.parametrize("job_id", [str(uuid.uuid4()), "nope"])
def test_cancel_of_an_unknown_or_malformed_job_is_a_404(service, job_id):
    response = service.client.delete(f"{JOBS}/{job_id}")
    assert response.status_code == 404
    assert response.json()["message"] == f"Job {job_id} not found"
