"""The Python client against a live service: submit, wait, results, cancel, errors."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from kb_client import AsyncClient, Backoff, Client, Progress, errors
from kb_client.endpoints import Page, ResultPosition
from tests.client.records import articles

FAST = Backoff(initial=0.05, maximum=0.2)


def test_submitted_records_are_waited_for_until_the_job_completes(client: Client, kb_id: str) -> None:
    seen = []
    accepted = client.submit_job(kb_id, {"records": articles(3)})
    job = client.wait(accepted.job_id, on_progress=seen.append, polling=FAST)
    assert job.status == "completed"
    assert job.progress == Progress(processed=3, total=3, successful=3)
    assert job.summary["entriesCreated"] == 3
    assert seen[-1] == job
    assert sorted(e["sourceId"] for e in client.iter_entries(kb_id)) == ["doc-0", "doc-1", "doc-2"]


def test_a_json_file_is_uploaded_as_a_multipart_form(client: Client, kb_id: str, tmp_path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"records": articles(5)}))
    job = client.wait(client.submit_job(kb_id, file=path).job_id, polling=FAST)
    assert job.progress.successful == 5


def test_every_submission_carries_an_idempotency_key(client: Client, kb_id: str) -> None:
    generated = client.submit_job(kb_id, {"records": articles(1)})
    chosen = client.submit_job(kb_id, {"records": articles(1, start=1)}, idempotency_key="migration-42")
    assert uuid.UUID(generated.idempotency_key)
    assert chosen.idempotency_key == "migration-42"


def test_failed_records_are_listed_across_every_page(client: Client, kb_id: str) -> None:
    records = articles(4) + [{"id": f"bad-{i}", "title": "no content"} for i in range(7)]
    job = client.wait(client.submit_job(kb_id, {"records": records}).job_id, polling=FAST)
    assert job.progress.failed == 7
    failed = list(client.iter_results(job.id, status="failed", page_size=2))
    assert sorted(r["sourceId"] for r in failed) == [f"bad-{i}" for i in range(7)]
    assert all("content" in r["error"] for r in failed)
    assert len(list(client.iter_results(job.id, page_size=3))) == 11


def test_results_are_paged_by_position_in_order_whole_and_once(live_server, client: Client, kb_id: str) -> None:
    job = client.wait(client.submit_job(kb_id, {"records": articles(7)}).job_id, polling=FAST)
    listed = [r["recordIndex"] for r in client.iter_results(job.id, page_size=3)]
    assert listed == list(range(7))
    assert [r["recordIndex"] for r in client.iter_results(job.id, page_size=7)] == list(range(7))

    async def in_async() -> list[int]:
        async with AsyncClient(live_server.url, **live_server.credentials) as kb:
            return [r["recordIndex"] async for r in kb.iter_results(job.id, page_size=2)]

    assert asyncio.run(in_async()) == list(range(7))


def walk(pages_of: Callable[[ResultPosition], Page[dict]]) -> tuple[list[Any], list[ResultPosition]]:
    """What a client's iter_results yields from a server answering `pages_of`, and the positions it asked for."""
    seen, asked, position = [], [], ResultPosition()
    while position is not None and len(asked) < 50:
        asked.append(position)
        page = pages_of(position)
        fresh = position.fresh(page)
        seen += fresh
        position = position.past(page, fresh)
    return seen, asked


RESULTS = [{"recordIndex": i, "sourceId": f"r{i}"} for i in range(7)]


def test_results_are_paged_whatever_the_server_makes_of_after_and_limit() -> None:
    """A server taking `after`; one giving fewer than asked per page; one ignoring `after`
    (an older release, or a proxy dropping it), which answered the first page for ever;
    one whose results carry no position at all: every result once, in order."""

    def taking_after(p: ResultPosition, per_page: int = 3) -> Page[dict]:
        start = 0 if p.after is None else p.after + 1
        return Page(total=7, offset=p.offset, items=RESULTS[start + p.offset : start + p.offset + per_page])

    def ignoring_after(p: ResultPosition) -> Page[dict]:
        return Page(total=7, offset=p.offset, items=RESULTS[p.offset : p.offset + 3])

    def without_positions(p: ResultPosition) -> Page[dict]:
        return Page(total=7, offset=p.offset, items=[{"sourceId": r["sourceId"]} for r in RESULTS[p.offset : p.offset + 3]])

    seen, asked = walk(taking_after)
    assert seen == RESULTS
    assert [p.after for p in asked] == [None, 2, 5, 6]
    assert walk(lambda p: taking_after(p, per_page=2))[0] == RESULTS
    assert walk(ignoring_after)[0] == RESULTS
    assert walk(without_positions)[0] == [{"sourceId": r["sourceId"]} for r in RESULTS]


def test_wait_raises_job_failed_with_the_servers_reason(live_server, client: Client, kb_id: str) -> None:
    live_server.pause_worker()
    accepted = client.submit_job(kb_id, {"records": articles(2)})
    live_server.fail_job(accepted.job_id, "adapter generic-json is no longer available")
    with pytest.raises(errors.JobFailed) as failed:
        client.wait(accepted.job_id, polling=FAST)
    assert failed.value.job.status == "failed"
    assert "no longer available" in str(failed.value)


def test_a_cancelled_job_ends_the_wait_with_job_cancelled(live_server, client: Client, kb_id: str) -> None:
    live_server.pause_worker()
    accepted = client.submit_job(kb_id, {"records": articles(2)})
    client.cancel_job(accepted.job_id)
    with pytest.raises(errors.JobCancelled) as cancelled:
        client.wait(accepted.job_id, polling=FAST)
    assert cancelled.value.job.status == "cancelled"


def test_cancelling_a_finished_job_is_a_conflict_carrying_the_servers_message(client: Client, kb_id: str) -> None:
    job = client.wait(client.submit_job(kb_id, {"records": articles(1)}).job_id, polling=FAST)
    with pytest.raises(errors.Conflict) as conflict:
        client.cancel_job(job.id)
    assert conflict.value.status == 409
    assert conflict.value.message == f"Job {job.id} is already completed"


def test_a_wait_that_times_out_reports_the_last_progress(live_server, client: Client, kb_id: str) -> None:
    live_server.pause_worker()
    accepted = client.submit_job(kb_id, {"records": articles(3)})
    with pytest.raises(errors.WaitTimeout) as timeout:
        client.wait(accepted.job_id, timeout=0.5, polling=FAST)
    assert timeout.value.job.id == accepted.job_id
    assert timeout.value.job.status == "pending"
    assert "0/3 processed" in str(timeout.value)


def test_wait_all_returns_every_final_job_in_the_order_given(live_server, client: Client, kb_id: str) -> None:
    live_server.pause_worker()
    ids = [client.submit_job(kb_id, {"records": articles(2, start=10 * n)}).job_id for n in range(3)]
    client.cancel_job(ids[1])
    live_server.resume_worker()
    finals = client.wait_all(ids, polling=FAST, raise_on_failure=False)
    assert [j.id for j in finals] == ids
    assert [j.status for j in finals] == ["completed", "cancelled", "completed"]
    with pytest.raises(errors.JobCancelled) as cancelled:
        client.wait_all(ids, polling=FAST)
    assert cancelled.value.job.id == ids[1] and len(cancelled.value.jobs) == 3


def test_an_invalid_submission_is_a_bad_request_naming_the_field(client: Client, kb_id: str) -> None:
    with pytest.raises(errors.BadRequest) as bad:
        client.submit_job(kb_id, {"records": "not a list"})
    assert bad.value.message == "Payload validation failed"
    assert bad.value.errors == [{"path": "data.records", "message": "must be an array"}]


def test_an_unknown_job_is_not_found(client: Client) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(errors.NotFound) as not_found:
        client.get_job(missing)
    assert not_found.value.message == f"Job {missing} not found"


def test_jobs_are_listed_by_status_across_pages(live_server, client: Client, kb_id: str) -> None:
    live_server.pause_worker()
    ids = [client.submit_job(kb_id, {"records": articles(1, start=n)}).job_id for n in range(3)]
    client.cancel_job(ids[0])
    page = client.list_jobs(status="pending", limit=1)
    assert page.total == 2 and len(page.items) == 1
    assert {j.id for j in client.iter_jobs(status="pending")} == set(ids[1:])


def test_adapters_and_knowledge_bases_are_listed(client: Client) -> None:
    assert {"name": "generic-json", "format": "json", "version": "1.1.0"} in client.list_adapters()
    created = client.ensure_knowledge_base("handbook", "the staff handbook")
    assert client.ensure_knowledge_base("handbook").id == created.id
    assert client.get_knowledge_base(created.id).description == "the staff handbook"
    assert [kb.name for kb in client.iter_knowledge_bases()] == ["handbook"]


def test_the_async_client_submits_and_waits_the_same_way(live_server, kb_id: str) -> None:
    async def migrate() -> tuple[list, list]:
        async with AsyncClient(live_server.url, **live_server.credentials, batch_size=2) as kb:
            ids = await kb.submit_records(kb_id, articles(5))
            finals = await kb.wait_all(ids, polling=FAST)
            entries = [e async for e in kb.iter_entries(kb_id)]
            return finals, entries

    finals, entries = asyncio.run(migrate())
    assert [j.progress.successful for j in finals] == [2, 2, 1]
    assert len(entries) == 5
