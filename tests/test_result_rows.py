"""Result rows have no foreign key to their job (one check per row was a third of their
cost): a trigger removes a deleted job's results instead, another empties them when jobs
is truncated (PostgreSQL), and migrations 0012 and 0013 are reversible. Only failures
are indexed by status (0014). Both backends unless marked."""

from __future__ import annotations

import re
from uuid import UUID, uuid4

import psycopg
import pytest
from sqlalchemy import Uuid, bindparam, delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from app.db import transaction
from app.models import Job, JobResult
from app.services import results
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


def test_a_jobs_failures_are_read_through_the_index_of_failures_alone(service):
    """Migration 0014: only failed results are indexed by status, and the failures-first
    sample and `?status=failed` pages find them through that index, in any plan (the
    failure is named as a literal, so a generic plan can use the partial index too)."""
    job_id = uuid4()
    with service.runtime.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO job_results (job_id, seq, source_id, status, action)"
                " SELECT :job_id, n, 'r' || n, CASE WHEN n % 100 = 7 THEN 'failed' ELSE 'success' END, 'created'"
                " FROM (WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < 19999) SELECT n FROM s) AS s"
            ).bindparams(bindparam("job_id", type_=Uuid())),
            {"job_id": job_id},
        )
        connection.execute(text("ANALYZE job_results" if service.kind == "postgres" else "ANALYZE"))
    page_count, page_rows = results.page_statements(bindparam("job_id"), "failed", limit=20, offset=100)
    _, rows_after = results.page_statements(bindparam("job_id"), "failed", limit=20, offset=0, after=15_000)
    for query in (page_count, page_rows, rows_after, results.SAMPLE):
        assert "ix_job_results_failed" in plan(service, query, job_id), query
    with transaction(service.runtime.sessions) as session:
        total, rows = results.page(session, job_id=job_id, status="failed", limit=3, offset=1)
        assert (total, [r.seq for r in rows]) == (200, [107, 207, 307])
        total, rows = results.page(session, job_id=job_id, status="failed", limit=3, offset=0, after=19_807)
        assert (total, [r.seq for r in rows]) == (200, [19_907])
        sample = results.sample(session, job_ids=[job_id], size=3)[job_id]
        assert [(r.status, r.seq) for r in sample] == [("failed", 7), ("failed", 107), ("failed", 207)]


def plan(service, query, job_id: UUID) -> str:  # type: ignore[no-untyped-def]
    """The plan of `query` for this job: PostgreSQL's generic plan (what a statement
    prepared long ago runs with), SQLite's query plan."""
    with service.runtime.engine.connect() as connection:
        compiled = query.compile(connection)
        values = {**compiled.params, "size": 20}
        if service.kind == "postgres":
            # Every parameter stays one ($1, $2, ...), as the service sends them.
            names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", str(compiled))))
            sql = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", str(compiled))
            values["job_id"] = str(job_id)
            with psycopg.ClientCursor(connection.connection.driver_connection) as cursor:
                cursor.execute("SET plan_cache_mode = force_generic_plan")
                cursor.execute("PREPARE q AS " + sql)
                arguments = ", ".join(["%s"] * len(names))
                lines = cursor.execute(f"EXPLAIN EXECUTE q({arguments})", [values[n] for n in names]).fetchall()
                cursor.execute("DEALLOCATE q")
        else:
            values["job_id"] = job_id.hex
            args = tuple(values[name] for name in compiled.positiontup or ())
            lines = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), args).fetchall()
    return "\n".join(str(line) for line in lines)
