"""Re-runs: records the manifest proves unchanged are skipped without being read.

The proof is structural: these tests overwrite a queued batch's stored records with
bytes that cannot be decoded before the worker runs, so any attempt to read them would
fail the job. Both backends.
"""

from __future__ import annotations

from uuid import UUID

import pytest

from sqlalchemy import func, select, update

from adapters.generic_json import GenericJsonAdapter
from app.db import transaction
from app.models import Entry, JobBatch
from app.services import batch_records, manifests
from tests.test_content_hub_jobs import doc
from tests.test_resubmissions import items_of

UNREADABLE = b"\x28\xb5\x2f\xfd not a zstd frame"


def records(n: int, revision: int = 1) -> list[dict]:
    return [{"id": f"r{i}", "title": f"Article {i}", "content": f"Body {i}, revision {revision}", "tags": ["a"]} for i in range(n)]


def submit_paused(service, kb: str, data, **extra) -> str:  # type: ignore[no-untyped-def]
    """Submit with the worker paused and make the job's stored records unreadable."""
    service.pause_worker()
    job_id = service.submit(kb, data, **extra)
    with transaction(service.runtime.sessions) as session:
        session.execute(update(JobBatch).where(*stored_for(job_id)).values(items=UNREADABLE))
    return job_id


def stored_for(job_id: str) -> tuple:  # type: ignore[type-arg]
    """The batch rows that store the job's records: its own or, for a resubmission, its origin's."""
    holders = select(func.coalesce(JobBatch.origin_job_id, JobBatch.job_id)).where(JobBatch.job_id == UUID(job_id))
    return JobBatch.job_id.in_(holders), JobBatch.items.is_not(None)


def run_unreadable(service, kb: str, data, **extra) -> dict:  # type: ignore[no-untyped-def]
    job_id = submit_paused(service, kb, data, **extra)
    service.resume_worker()
    return service.wait(job_id)


def versions(service, kb: str) -> dict[str, int]:
    return {e["sourceId"]: e["version"] for e in service.entries(kb)}


def test_an_unchanged_rerun_never_reads_its_records(service):
    kb = service.create_kb()
    assert service.run(kb, records(30))["result"]["entriesCreated"] == 30
    job = run_unreadable(service, kb, records(30))
    assert job["status"] == "completed", job.get("error")
    assert job["data"]["progress"] == {"processed": 30, "total": 30, "successful": 0, "failed": 0, "skipped": 30}
    details = {r["detail"] for r in service.client.get(f"/api/v2/data-ingestion/jobs/{job['id']}/results?limit=100").json()["results"]}
    assert details == {"content unchanged"}
    assert set(versions(service, kb).values()) == {1}


def test_superseded_and_deleted_records_are_settled_without_reading(service):
    kb = service.create_kb()
    service.run(kb, records(3))
    data = [*records(3), {"id": "r0", "deleted": True}, {"id": "r1", "title": "x", "content": "y"}, {"id": "r1", "deleted": True}]
    data[1] = {"id": "nobody", "deleted": True}
    job = run_unreadable(service, kb, data)
    assert job["status"] == "completed", job.get("error")
    result = job["result"]
    assert (result["entriesDeleted"], result["entriesSkipped"]) == (2, 4)
    assert set(versions(service, kb)) == {"r2"}


def test_changed_records_are_still_read_and_written(service):
    kb = service.create_kb()
    service.run(kb, records(4))
    changed = records(4)
    changed[2]["content"] = "new body"
    service.pause_worker()
    job_id = service.submit(kb, changed)
    service.resume_worker()
    job = service.wait(job_id)
    assert (job["result"]["entriesUpdated"], job["result"]["entriesSkipped"]) == (1, 3)
    assert versions(service, kb) == {"r0": 1, "r1": 1, "r2": 2, "r3": 1}
    # ...and that change is remembered: the same export again is settled unread.
    assert run_unreadable(service, kb, changed)["result"]["entriesSkipped"] == 4


def test_a_record_changed_only_in_form_stays_unchanged_and_is_fast_next_time(service):
    kb = service.create_kb()
    service.run(kb, [{"id": "a", "title": "T", "content": "x"}])
    reordered = [{"content": "x", "title": " T ", "id": "a"}]  # other bytes, same normalized record
    job = service.run(kb, reordered)
    assert job["result"]["entriesSkipped"] == 1 and versions(service, kb) == {"a": 1}
    assert run_unreadable(service, kb, reordered)["result"]["entriesSkipped"] == 1


def test_other_options_make_the_same_documents_changed(service):
    kb = service.create_kb()
    data = [[doc("d1", "<p>x</p>", keywords="a,b", topics=["t1"])], {"timeTaken": "1ms"}]
    service.run(kb, data, adapter="content-hub")
    job = service.run(kb, data, adapter="content-hub", options={"tagAttributes": ["keywords", "topics"]})
    assert job["result"]["entriesUpdated"] == 1
    assert service.entries(kb)[0]["tags"] == ["a", "b", "t1"]
    again = run_unreadable(service, kb, data, adapter="content-hub", options={"tagAttributes": ["keywords", "topics"]})
    assert again["result"]["entriesSkipped"] == 1


def test_records_without_a_usable_id_are_read_and_failed_with_the_reason(service):
    kb = service.create_kb()
    job = service.run(kb, [{"id": "ok", "content": "x"}, {"content": "no id"}, {"id": "nul\u0000", "content": "x"}])
    errors = sorted(r["error"] for r in job["data"]["results"] if r["status"] == "failed")
    assert errors == ["id is required and must be a string or an integer", "id must not contain NUL characters"]


def run_without_manifest(service, kb: str, data) -> dict:  # type: ignore[no-untyped-def]
    """A job as a release before manifests stored it."""
    service.pause_worker()
    job_id = service.submit(kb, data)
    with transaction(service.runtime.sessions) as session:
        session.execute(update(JobBatch).where(*stored_for(job_id)).values(manifest=None))
    service.resume_worker()
    return service.wait(job_id)


def test_batches_planned_before_manifests_are_read_whole(service):
    kb = service.create_kb()
    assert run_without_manifest(service, kb, records(5))["result"]["entriesCreated"] == 5
    with transaction(service.runtime.sessions) as session:
        assert set(session.scalars(select(Entry.source_hash))) == {None}
    assert run_without_manifest(service, kb, records(5))["result"]["entriesSkipped"] == 5
    # An upgrade's first re-run fills in the fingerprints; the one after is settled unread.
    service.run(kb, records(5))
    assert run_unreadable(service, kb, records(5))["result"]["entriesSkipped"] == 5


def test_fingerprints_cover_the_adapter_version_the_options_and_the_raw_bytes():
    adapter = GenericJsonAdapter()
    raw = b'{"id":"a","content":"x"}'
    base = manifests.Fingerprinter(adapter, {})(raw)
    assert manifests.Fingerprinter(adapter, {})(raw) == base
    assert manifests.Fingerprinter(adapter, {"k": 1})(raw) != base
    assert manifests.Fingerprinter(adapter, {})(b'{"content":"x","id":"a"}') != base

    class Newer(GenericJsonAdapter):
        version = "9.9.9"

    assert manifests.Fingerprinter(Newer(), {})(raw) != base
    assert len(base) == manifests.FINGERPRINT_HEX_LENGTH


@pytest.mark.parametrize("backend", ["postgres"])
def test_content_changed_by_a_writer_unaware_of_fingerprints_is_read_again(service):
    """An older worker during an upgrade (or a hand-made UPDATE) changes content without
    touching source_hash: the database forgets the fingerprint, so the re-run rewrites."""
    kb = service.create_kb()
    service.run(kb, records(2))
    with transaction(service.runtime.sessions) as session:
        session.execute(
            update(Entry).where(Entry.source_id == "r0").values(content="edited elsewhere", content_hash="0" * 64)
        )
    job = service.run(kb, records(2))
    assert (job["result"]["entriesUpdated"], job["result"]["entriesSkipped"]) == (1, 1)
    assert {e["sourceId"]: e["content"] for e in service.entries(kb)}["r0"] == "Body 0, revision 1"


def test_a_refresh_never_lands_on_content_written_since(service):
    """Job A found r0 unchanged by content and queues its fingerprint; job B rewrote r0
    meanwhile: A's refresh must not pin its fingerprint to B's content."""
    from app.services import entry_writes
    from app.services.ingest import Refresh

    kb = service.create_kb()
    service.run(kb, records(1))
    with transaction(service.runtime.sessions) as session:
        entry = session.scalars(select(Entry).where(Entry.source_id == "r0")).one()
        stale = Refresh(entry.id, "f" * 64, "a" * 32)  # compared against content since replaced
        fresh = Refresh(entry.id, entry.content_hash, "b" * 32)
    with transaction(service.runtime.sessions) as session:
        entry_writes.refresh_source_hashes(session, refreshes=[stale])
    with transaction(service.runtime.sessions) as session:
        assert session.scalars(select(Entry.source_hash)).one() != "a" * 32
        entry_writes.refresh_source_hashes(session, refreshes=[fresh])
    with transaction(service.runtime.sessions) as session:
        assert session.scalars(select(Entry.source_hash)).one() == "b" * 32


def test_a_job_planned_with_another_adapter_version_is_read_whole(service):
    """During a deploy the API may fingerprint with one version and a worker run another:
    then the manifest is not trusted (here it is not even decodable) and records are read."""
    from app.models import Job

    kb = service.create_kb()
    service.run(kb, records(3))
    service.pause_worker()
    job_id = service.submit(kb, [*records(2), {"id": "r2", "title": "x", "content": "changed"}])
    # The unchanged records are references to the first job's batch, read from there too.
    referred = [raw for items in items_of(service, job_id) for _seq, _superseded, raw in batch_records.decode(items)]
    assert [isinstance(raw, batch_records.Reference) for raw in referred] == [True, True, False]
    with transaction(service.runtime.sessions) as session:
        session.execute(update(Job).where(Job.id == UUID(job_id)).values(adapter_version="0.0.1"))
        session.execute(update(JobBatch).where(JobBatch.job_id == UUID(job_id)).values(manifest=b"not a manifest"))
    service.resume_worker()
    job = service.wait(job_id)
    assert job["status"] == "completed", job.get("error")
    assert (job["result"]["entriesUpdated"], job["result"]["entriesSkipped"]) == (1, 2)
