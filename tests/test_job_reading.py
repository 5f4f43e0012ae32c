"""GET jobs: one job, the list with its filters and paging, and the paged per-record results."""

import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

JOBS = "/api/v2/data-ingestion/jobs"


def test_job_has_the_reference_shape(service):
    kb = service.create_kb()
    job = service.run(kb, [{"id": "a", "content": "x"}])
    assert set(job) == {"id", "status", "knowledgeBaseId", "data", "result", "created_at", "started_at", "completed_at"}
    assert set(job["data"]) == {"adapterId", "adapterType", "recordCount", "progress", "results"}
    assert job["data"]["adapterType"] == job["data"]["adapterId"] == "generic-json"
    assert job["data"]["recordCount"] == 1
    assert set(job["result"]) == {
        "sourceId", "entriesCreated", "entriesUpdated", "entriesSkipped", "entriesDeleted", "embeddingsGenerated", "error",
    }
    assert job["knowledgeBaseId"] == kb
    for field in ("created_at", "started_at", "completed_at"):
        assert datetime.strptime(job[field], "%Y-%m-%dT%H:%M:%S.%fZ")
    result = job["data"]["results"][0]
    assert set(result) == {"sourceId", "status", "action", "entryId", "error", "detail", "embeddingCount", "recordIndex"}
    assert result["embeddingCount"] == 0  # the document's field; entries are stored, not embedded


def test_a_result_says_where_its_record_is_in_the_payload(service):
    """A record that fails without a usable id has `sourceId` null: its position is what
    finds it among the job's records, in the job's sample and in the paged results."""
    kb = service.create_kb()
    records = [{"id": "a", "content": "x"}, 42, {"content": "no id"}, {"id": "b", "content": "y"}, {"id": "a", "content": "z"}]
    job = service.run(kb, records)
    sample = {(r["recordIndex"], r["sourceId"], r["status"]) for r in job["data"]["results"]}
    assert sample == {(0, "a", "skipped"), (1, None, "failed"), (2, None, "failed"), (3, "b", "success"), (4, "a", "success")}
    page = service.client.get(f"{JOBS}/{job['id']}/results", params={"status": "failed"}).json()["results"]
    assert [(r["recordIndex"], r["error"]) for r in page] == [(1, "record must be an object"), (2, page[1]["error"])]
    assert "id" in page[1]["error"]
    everything = service.client.get(f"{JOBS}/{job['id']}/results", params={"limit": 2, "offset": 3}).json()["results"]
    assert [r["recordIndex"] for r in everything] == [3, 4]


def test_results_page_by_position_after_the_last_record_index_seen(service):
    kb = service.create_kb()
    records = [{"id": f"r{i}", "content": "x" if i % 3 else ""} for i in range(8)]  # 0, 3 and 6 fail
    job_id = service.run(kb, records)["id"]

    def page(**params):
        body = service.client.get(f"{JOBS}/{job_id}/results", params={"limit": 3, **params}).json()
        return body["total"], [r["recordIndex"] for r in body["results"]]

    assert page() == (8, [0, 1, 2])
    assert page(after=2) == (8, [3, 4, 5])
    assert page(after=5) == (8, [6, 7])
    assert page(after=7) == (8, [])
    assert page(after=1, offset=1) == (8, [3, 4, 5])
    assert page(status="failed", after=0) == (3, [3, 6])
    for bad in ("-1", "x", str(2**31)):
        response = service.client.get(f"{JOBS}/{job_id}/results", params={"after": bad})
        assert response.status_code == 400, response.text
        assert [e["path"] for e in response.json()["errors"]] == ["after"]


def test_include_payload_returns_the_submitted_data(service):
    kb = service.create_kb()
    data = {"records": [{"id": "a", "content": "x", "metadata": {"nested": [1, {"b": None}]}}]}
    job_id = service.submit(kb, data["records"])
    assert "payload" not in service.client.get(f"{JOBS}/{job_id}").json()
    assert service.client.get(f"{JOBS}/{job_id}", params={"includePayload": "true"}).json()["payload"] == data
    listed = service.client.get(JOBS, params={"includePayload": "true"}).json()["jobs"][0]
    assert listed["payload"] == data


def test_a_list_with_payloads_is_streamed_and_is_the_list_plus_each_jobs_payload(service):
    kb = service.create_kb()
    submitted = [[{"id": f"r{i}-{n}", "content": f"x\n{n}", "tags": ["a", "]"]} for n in range(i + 1)] for i in range(4)]
    job_ids = [service.submit(kb, records) for records in submitted]
    for job_id in job_ids:
        service.wait(job_id)
    params = {"limit": 3, "offset": 1, "status": "completed"}
    plain = service.client.get(JOBS, params=params)
    streamed = service.client.get(JOBS, params={**params, "includePayload": "true"})
    assert streamed.status_code == 200 and streamed.headers["content-type"] == "application/json"
    assert "content-length" not in streamed.headers  # sent as it is made, one job at a time
    listed = streamed.json()
    assert listed["total"] == plain.json()["total"] == 4
    assert [{k: v for k, v in job.items() if k != "payload"} for job in listed["jobs"]] == plain.json()["jobs"]
    # Newest first: offset 1 skips the last job submitted.
    assert [job["payload"] for job in listed["jobs"]] == [{"records": records} for records in reversed(submitted[:3])]
    assert service.client.get(JOBS, params={"includePayload": "true", "status": "failed"}).json() == {"total": 0, "jobs": []}


@pytest.mark.parametrize("backend", ["embedded"])
def test_a_poll_on_sqlite_does_not_wait_for_a_writer(service):
    """The embedded mode's write lock, held here as a batch being applied would hold it:
    taken by the poll too, the poll would wait up to the 30 s busy timeout, then fail."""
    job_id = service.run(service.create_kb(), [{"id": "a", "content": "x"}])["id"]
    polled: dict[str, object] = {}
    with service.runtime.engine.connect() as writer, writer.begin():
        writer.exec_driver_sql("UPDATE jobs SET updated_at = updated_at")  # BEGIN IMMEDIATE: the write lock
        poll = threading.Thread(target=lambda: polled.update(response=service.client.get(f"{JOBS}/{job_id}")))
        poll.start()
        poll.join(timeout=10)  # the busy timeout it would wait on is 30 s
        answered_while_locked = not poll.is_alive()
    poll.join()
    assert answered_while_locked
    assert polled["response"].status_code == 200 and polled["response"].json()["status"] == "completed"  # type: ignore[attr-defined]


@pytest.mark.parametrize("job_id", [str(uuid.uuid4()), "not-a-uuid", "123"])
def test_unknown_or_malformed_job_id_is_a_404(service, job_id):
    response = service.client.get(f"{JOBS}/{job_id}")
    assert response.status_code == 404
    assert response.json()["message"] == f"Job {job_id} not found"


def test_results_sample_is_bounded_and_lists_failures_first(service):
    kb = service.create_kb()
    records = [{"id": f"ok{i}", "content": "x"} for i in range(30)] + [{"id": f"bad{i}"} for i in range(3)]
    job = service.run(kb, records)
    sample = job["data"]["results"]
    assert len(sample) == 20
    assert [r["sourceId"] for r in sample[:3]] == ["bad0", "bad1", "bad2"]
    assert [r["sourceId"] for r in sample[3:]] == [f"ok{i}" for i in range(17)]


def test_results_endpoint_pages_every_record_in_submission_order(service):
    kb = service.create_kb()
    records = [{"id": f"r{i:03d}", "content": "x"} if i % 10 else {"id": f"r{i:03d}"} for i in range(250)]
    job = service.run(kb, records)
    page = service.client.get(f"{JOBS}/{job['id']}/results", params={"limit": 100, "offset": 200}).json()
    assert page["total"] == 250 and page["limit"] == 100 and page["offset"] == 200
    assert [r["sourceId"] for r in page["results"]] == [f"r{i:03d}" for i in range(200, 250)]
    failed = service.client.get(f"{JOBS}/{job['id']}/results", params={"status": "failed", "limit": 1000}).json()
    assert failed["total"] == 25
    assert {r["error"] for r in failed["results"]} == {"content is required and must be a string"}


def test_results_of_an_unknown_job_is_a_404_and_bad_status_a_400(service):
    assert service.client.get(f"{JOBS}/{uuid.uuid4()}/results").status_code == 404
    kb = service.create_kb()
    job = service.run(kb, [{"id": "a", "content": "x"}])
    response = service.client.get(f"{JOBS}/{job['id']}/results", params={"status": "weird"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "status"


def test_list_is_newest_first_with_total_and_paging(service):
    kb = service.create_kb()
    ids = [service.run(kb, [{"id": f"r{i}", "content": "x"}])["id"] for i in range(5)]
    body = service.client.get(JOBS, params={"limit": 2, "offset": 1}).json()
    assert body["total"] == 5
    assert [j["id"] for j in body["jobs"]] == [ids[3], ids[2]]
    assert service.client.get(JOBS).json()["jobs"][0]["id"] == ids[4]


def test_list_filters_by_status(service):
    kb = service.create_kb()
    done = service.run(kb, [{"id": "a", "content": "x"}])["id"]
    service.pause_worker()
    pending = service.submit(kb, [{"id": "b", "content": "y"}])
    assert [j["id"] for j in service.client.get(JOBS, params={"status": "completed"}).json()["jobs"]] == [done]
    assert [j["id"] for j in service.client.get(JOBS, params={"status": "pending"}).json()["jobs"]] == [pending]
    service.resume_worker()


def test_list_filters_by_date_range(service):
    kb = service.create_kb()
    job = service.run(kb, [{"id": "a", "content": "x"}])
    today = datetime.now(UTC).date()
    in_range = {"startDate": today.isoformat(), "endDate": today.isoformat()}
    assert service.client.get(JOBS, params=in_range).json()["total"] == 1
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert service.client.get(JOBS, params={"startDate": later}).json()["total"] == 0
    assert service.client.get(JOBS, params={"endDate": "2020-01-01T00:00:00Z"}).json()["total"] == 0
    assert service.client.get(JOBS, params={"startDate": job["created_at"]}).json()["total"] == 1


def test_date_bounds_with_an_offset_compare_as_the_moment_they_name(service):
    """SQLite stores clock times without their offset: the bounds must go in as UTC."""
    kb = service.create_kb()
    created = datetime.fromisoformat(service.run(kb, [{"id": "a", "content": "x"}])["created_at"])

    def total(**params: str) -> int:
        return service.client.get(JOBS, params=params).json()["total"]

    an_hour_before, an_hour_after = created - timedelta(hours=1), created + timedelta(hours=1)
    # The same moments written five hours ahead and nine behind UTC.
    east, west = timezone(timedelta(hours=5)), timezone(timedelta(hours=-9))
    assert total(startDate=an_hour_before.astimezone(east).isoformat()) == 1
    assert total(startDate=an_hour_after.astimezone(west).isoformat()) == 0
    assert total(endDate=an_hour_after.astimezone(west).isoformat()) == 1
    assert total(endDate=an_hour_before.astimezone(east).isoformat()) == 0


def test_the_last_day_there_is_as_an_end_date_bounds_nothing(service):
    kb = service.create_kb()
    service.run(kb, [{"id": "a", "content": "x"}])
    assert service.client.get(JOBS, params={"endDate": "9999-12-31"}).json()["total"] == 1


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "done"}, "status"),
        ({"includePayload": "maybe"}, "includePayload"),
        ({"startDate": "yesterday"}, "startDate"),
        ({"endDate": "2025-13-45"}, "endDate"),
        ({"startDate": "0001-01-01T00:00:00+01:00"}, "startDate"),
        ({"startDate": "2027-01-01", "endDate": "2025-01-01"}, "startDate"),
    ],
)
def test_bad_list_parameters_are_400s_naming_the_parameter(service, params, path):
    response = service.client.get(JOBS, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["errors"][0]["path"] == path
    assert body["path"] == JOBS


def test_adapters_lists_the_registry(service):
    adapters = service.client.get("/api/v2/data-ingestion/adapters").json()
    # In the API document's order.
    assert adapters[:2] == [
        {"name": "generic-json", "format": "json", "version": "1.1.0"},
        {"name": "content-hub", "format": "content-hub-json", "version": "1.0.1"},
    ]
