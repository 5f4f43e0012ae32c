"""A payload submitted again gets the earlier job's batches, copied in the database, instead of being planned.

The copy is proven by what is stored: the earlier job's batches are rewritten with
another, equally valid compression of the same records (zstd level 19, whose bytes differ
from the API's level 1), so a later job holding those exact bytes took them from there.
Both backends.
"""

from __future__ import annotations

import time
from uuid import UUID

import pytest
import zstandard
from sqlalchemy import delete, select, update

from app.db import transaction
from app.models import Entry, Job, JobBatch
from tests.test_content_hub_jobs import doc
from adapters.generic_json import GenericJsonAdapter
from app.services import batch_contents, batch_records, blobs, resubmissions
from app.services.batch_records import Location

JOBS = "/api/v2/data-ingestion/jobs"
RECORDS = [{"id": f"r{i}", "title": f"Article {i}", "content": f"Body of article {i}. " * 20} for i in range(7)]


@pytest.fixture
def settings_overrides():
    return {"batch_size": 3}


def stored(service, job_id: str) -> list[tuple[bytes, bytes | None]]:  # type: ignore[no-untyped-def]
    """Each batch's records and manifest, wherever they are stored (its own row or its origin's)."""
    query = batch_contents.with_origin(select(batch_contents.ITEMS, batch_contents.MANIFEST))
    with transaction(service.runtime.sessions) as session:
        rows = session.execute(query.where(JobBatch.job_id == UUID(job_id)).order_by(JobBatch.seq))
        return [(items, manifest) for items, manifest in rows]


def origins(service, job_id: str) -> list[tuple[UUID | None, bool]]:  # type: ignore[no-untyped-def]
    """Each batch's origin job, and whether it stores records of its own."""
    with transaction(service.runtime.sessions) as session:
        rows = session.execute(select(JobBatch.origin_job_id, JobBatch.items.is_not(None)).where(JobBatch.job_id == UUID(job_id)).order_by(JobBatch.seq))
        return [(origin, own) for origin, own in rows]


def mark(service, job_id: str) -> list[bytes]:  # type: ignore[no-untyped-def]
    """Recompress the job's stored records (same JSON, other bytes); returns the new bytes."""
    marked = []
    batches = stored(service, job_id)
    with transaction(service.runtime.sessions) as session:
        for seq, (items, _manifest) in enumerate(batches):
            again = zstandard.compress(blobs.unpack(items), 19)
            assert again != items
            session.execute(update(JobBatch).where(JobBatch.job_id == UUID(job_id), JobBatch.seq == seq).values(items=again))
            marked.append(again)
    return marked


def items_of(service, job_id: str) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [items for items, _manifest in stored(service, job_id)]


def test_an_unchanged_export_submitted_again_copies_the_earlier_batches(service):
    kb = service.create_kb()
    first = service.run(kb, RECORDS)["id"]
    marked = mark(service, first)
    second = service.submit(kb, RECORDS)
    assert items_of(service, second) == marked
    assert [m for _, m in stored(service, second)] == [m for _, m in stored(service, first)]
    assert origins(service, first) == [(None, True)] * 3
    assert origins(service, second) == [(UUID(first), False)] * 3  # shared, not duplicated
    third = service.submit(kb, RECORDS)
    assert origins(service, third) == [(UUID(first), False)] * 3  # a copy of a copy refers to the first
    job = service.wait(second)
    assert job["status"] == "completed"
    with transaction(service.runtime.sessions) as session:
        attempts = session.scalars(select(JobBatch.attempts).where(JobBatch.job_id == UUID(second))).all()
    assert attempts == [1, 1, 1]  # copied unstarted, not with the earlier job's attempts
    assert (job["data"]["recordCount"], job["data"]["progress"]["skipped"], job["result"]["entriesSkipped"]) == (7, 7, 7)
    results = service.client.get(f"{JOBS}/{second}/results", params={"limit": 100}).json()["results"]
    assert [r["sourceId"] for r in results] == [r["id"] for r in RECORDS]
    payload = service.client.get(f"{JOBS}/{second}", params={"includePayload": "true"}).json()["payload"]
    assert payload == {"records": RECORDS}


def test_copied_batches_still_apply_what_changed_in_the_knowledge_base_meanwhile(service):
    """The copy is of the plan, not of the outcome: an entry deleted since is written again."""
    kb = service.create_kb()
    marked = mark(service, service.run(kb, RECORDS)["id"])
    with transaction(service.runtime.sessions) as session:
        session.execute(delete(Entry).where(Entry.knowledge_base_id == UUID(kb), Entry.source_id == "r4"))
    job_id = service.submit(kb, RECORDS)
    assert items_of(service, job_id) == marked
    job = service.wait(job_id)
    assert (job["result"]["entriesCreated"], job["result"]["entriesSkipped"]) == (1, 6)
    assert len(service.entries(kb)) == 7


def test_the_same_records_to_another_knowledge_base_are_written_there(service):
    first = service.run(service.create_kb("a"), RECORDS)["id"]
    marked = mark(service, first)
    other = service.create_kb("b")
    job_id = service.submit(other, RECORDS)
    assert items_of(service, job_id) == marked
    assert service.wait(job_id)["result"]["entriesCreated"] == 7
    assert sorted(e["sourceId"] for e in service.entries(other)) == sorted(r["id"] for r in RECORDS)


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"data": {"records": [*RECORDS[:6], {**RECORDS[6], "content": "new"}]}}, id="one-record"),
        pytest.param({"data": {"records": RECORDS, "exportedAt": "2026-12-06"}}, id="envelope"),
    ],
)
def test_any_other_payload_is_planned_afresh(service, changed):
    kb = service.create_kb()
    marked = mark(service, service.run(kb, RECORDS)["id"])
    response = service.client.post(JOBS, json={"adapterType": "generic-json", "knowledgeBaseId": kb, **changed})
    job_id = response.json()["jobId"]
    assert not set(items_of(service, job_id)) & set(marked)
    assert service.wait(job_id)["status"] == "completed"


def test_the_same_payload_with_other_options_is_planned_afresh(service):
    """Options are part of every record's fingerprint, so of the manifests a copy would carry."""
    kb = service.create_kb()
    documents = [doc(f"Page://kb/{i}", f"<h1>Page {i}</h1><p>text {i}</p>", keywords="a,b") for i in range(4)]
    first = service.submit(kb, documents, adapter="content-hub")
    service.wait(first)
    marked = mark(service, first)
    again = service.submit(kb, documents, adapter="content-hub")
    assert items_of(service, again) == marked
    other = service.submit(kb, documents, adapter="content-hub", options={"tagAttributes": ["Title"]})
    assert not set(items_of(service, other)) & set(marked)
    assert [m for _, m in stored(service, other)] != [m for _, m in stored(service, first)]
    assert service.wait(other)["result"]["entriesUpdated"] == 4  # tagged by title now, not by keywords


def test_a_payload_whose_earlier_batches_are_gone_is_planned_afresh(service, caplog):
    kb = service.create_kb()
    first = service.run(kb, RECORDS)["id"]
    with transaction(service.runtime.sessions) as session:
        session.execute(delete(JobBatch).where(JobBatch.job_id == UUID(first), JobBatch.seq == 1))
    job = service.run(kb, RECORDS)
    assert f"planning the payload: job {first} has 2 of its 3 batches" in caplog.text
    assert service.client.get(JOBS).json()["total"] == 2  # the copy's job was rolled back with it
    assert job["status"] == "completed" and job["data"]["progress"]["skipped"] == 7
    stored = [batch_records.decode(items) for items in items_of(service, job["id"])]
    # The records of the deleted batch are stored again; the others refer to the first job's batches.
    assert stored[1] == [(i, False, record) for i, record in enumerate(RECORDS[3:6], start=3)]
    assert [[(seq, raw.location) for seq, _superseded, raw in batch] for batch in (stored[0], stored[2])] == [
        [(i, Location(UUID(first), i // 3, i)) for i in range(n, min(n + 3, 7))] for n in (0, 6)
    ]
    payload = service.client.get(f"{JOBS}/{job['id']}", params={"includePayload": "true"}).json()["payload"]
    assert payload == {"records": RECORDS}


def test_another_workspaces_jobs_are_never_copied(service):
    stranger = service.new_client(["*"], service.new_workspace("stranger")).headers
    theirs_kb = service.client.post("/api/v2/knowledge-bases", json={"name": "theirs"}, headers=stranger).json()["id"]
    body = {"adapterType": "generic-json", "knowledgeBaseId": theirs_kb, "data": {"records": RECORDS}}
    theirs = service.client.post(JOBS, json=body, headers=stranger).json()["jobId"]
    deadline = time.monotonic() + 60
    while service.client.get(f"{JOBS}/{theirs}", headers=stranger).json()["status"] != "completed":
        assert time.monotonic() < deadline, "their job did not complete"
        time.sleep(0.02)
    marked = mark(service, theirs)
    mine = service.run(service.create_kb(), RECORDS)["id"]
    assert not set(items_of(service, mine)) & set(marked)
    with transaction(service.runtime.sessions) as session:
        digests = session.scalars(select(Job.payload_digest).where(Job.id.in_([UUID(theirs), UUID(mine)]))).all()
    assert len(digests) == 2 and digests[0] == digests[1]


def test_a_payload_whose_earlier_batches_have_no_manifests_is_planned_afresh(service, caplog):
    """Batches planned before manifests existed would have the workers read every record."""
    kb = service.create_kb()
    first = service.run(kb, RECORDS)["id"]
    with transaction(service.runtime.sessions) as session:
        session.execute(update(JobBatch).where(JobBatch.job_id == UUID(first), JobBatch.seq == 2).values(manifest=None))
    second = service.submit(kb, RECORDS)
    assert f"planning the payload: job {first} has 2 of its 3 batches with manifests" in caplog.text
    assert all(manifest is not None for _, manifest in stored(service, second))
    assert service.wait(second)["data"]["progress"]["skipped"] == 7


def test_a_copy_remembers_its_idempotency_key_like_any_submission(service):
    kb = service.create_kb()
    marked = mark(service, service.run(kb, RECORDS)["id"])
    body = {"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": RECORDS}}
    created = service.client.post(JOBS, json=body, headers={"Idempotency-Key": "nightly-2026-12-06"})
    assert created.status_code == 202
    job_id = created.json()["jobId"]
    assert items_of(service, job_id) == marked
    replayed = service.client.post(JOBS, json=body, headers={"Idempotency-Key": "nightly-2026-12-06"})
    assert replayed.json()["jobId"] == job_id and replayed.headers["Idempotent-Replayed"] == "true"
    assert service.client.get(JOBS).json()["total"] == 2


def test_the_digest_covers_what_shapes_the_batches():
    adapter = GenericJsonAdapter()
    base = resubmissions.digest(adapter, {}, {"records": []}, batch_size=500)
    assert resubmissions.digest(adapter, {}, {"records": []}, batch_size=500) == base
    assert resubmissions.digest(adapter, {}, {"records": [], "at": 1}, batch_size=500) != base
    assert resubmissions.digest(adapter, {"k": 1}, {"records": []}, batch_size=500) != base
    assert resubmissions.digest(adapter, {}, {"records": []}, batch_size=499) != base

    class Newer(GenericJsonAdapter):
        version = "9.9.9"

    assert resubmissions.digest(Newer(), {}, {"records": []}, batch_size=500) != base
