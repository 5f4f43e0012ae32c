"""Result rows have no foreign key to their job (one check per row was a third of their
cost): a trigger removes a deleted job's results instead, another empties them when jobs
is truncated (PostgreSQL), and migrations 0012 and 0013 are reversible. Both backends
unless marked."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from sqlalchemy import delete, func, insert, select, text
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


on_postgres = pytest.mark.parametrize("backend", ["postgres"])  # SQLite has no TRUNCATE


def truncate_jobs(service, statement: str = "TRUNCATE jobs CASCADE") -> None:  # type: ignore[no-untyped-def]
    with service.runtime.engine.begin() as connection:
        connection.execute(text(statement))


@on_postgres
@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE jobs CASCADE",
        "TRUNCATE jobs, job_results CASCADE",  # job_results still open in the statement
        "TRUNCATE workspaces CASCADE",  # jobs reached through the cascade
    ],
)
def test_truncating_jobs_empties_the_results_too(service, statement):
    service.run(service.create_kb(), RECORDS)
    assert sum(result_counts(service).values()) == 5
    service.pause_worker()
    truncate_jobs(service, statement)
    assert result_counts(service) == {}


@on_postgres
def test_without_migration_0013_truncating_jobs_left_the_results(service):
    """What the trigger is for, and that the migration goes down and up again."""
    service.run(service.create_kb(), RECORDS)
    service.pause_worker()
    _alembic(service, "downgrade", "0012_results_without_foreign_key")
    truncate_jobs(service)
    assert sum(result_counts(service).values()) == 5  # results of no job
    _alembic(service, "upgrade", "head")
    with service.runtime.engine.begin() as connection:
        connection.execute(text("DELETE FROM job_results"))
    service.resume_worker()
    service.run(service.create_kb("after the round trip"), RECORDS)
    service.pause_worker()
    truncate_jobs(service)
    assert result_counts(service) == {}
