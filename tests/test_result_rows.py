"""Result rows have no foreign key to their job (one check per row was a third of their
cost): a trigger removes a deleted job's results instead, and migration 0012 is
reversible. Both backends."""

from __future__ import annotations

from uuid import UUID, uuid4

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from app.db import transaction
from app.models import Job, JobResult
from tests.test_batch_origins import _alembic

RECORDS = [{"id": f"doc-{n}", "content": f"text {n}"} for n in range(5)]


def result_counts(service) -> dict[UUID, int]:  # type: ignore[no-untyped-def]
    with service.runtime.engine.connect() as connection:
        rows = connection.execute(select(JobResult.job_id, func.count()).group_by(JobResult.job_id))
        return {job_id: count for job_id, count in rows}


def delete_job(service, job_id: str) -> None:  # type: ignore[no-untyped-def]
    with transaction(service.runtime.sessions) as session:
        session.execute(delete(Job).where(Job.id == UUID(job_id)))


def test_deleting_a_job_deletes_its_results_and_no_others(service):
    kept = service.run(service.create_kb("kept"), RECORDS)["id"]
    deleted = service.run(service.create_kb("deleted"), RECORDS)["id"]
    assert result_counts(service) == {UUID(kept): 5, UUID(deleted): 5}
    delete_job(service, deleted)
    assert result_counts(service) == {UUID(kept): 5}
    assert service.client.get(f"/api/v2/data-ingestion/jobs/{kept}/results").json()["total"] == 5


def test_the_migration_round_trip_restores_the_foreign_key_and_drops_orphans(service):
    job_id = service.run(service.create_kb(), RECORDS)["id"]
    orphan = uuid4()
    row = {"seq": 0, "source_id": "x", "status": "failed", "error": "lost"}
    with service.runtime.engine.begin() as connection:
        connection.execute(insert(JobResult.__table__).values(job_id=orphan, **row))
    service.pause_worker()
    _alembic(service, "downgrade", "0011_record_references")
    assert result_counts(service) == {UUID(job_id): 5}
    try:
        with service.runtime.engine.begin() as connection:
            connection.execute(insert(JobResult.__table__).values(job_id=uuid4(), **row))
    except IntegrityError:
        pass
    else:
        raise AssertionError("the downgraded schema accepted a result of no job")
    _alembic(service, "upgrade", "head")
    service.resume_worker()
    # Other records: the same ones would be a copy sharing the first job's batches, which keeps it from being deleted.
    again = service.run(service.create_kb("after the round trip"), RECORDS[1:])["id"]
    delete_job(service, job_id)
    assert result_counts(service) == {UUID(again): 4}
