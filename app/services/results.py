"""Per-record results: written once per batch, a bounded sample for polling (failures first), and the full paged list."""

from __future__ import annotations

from uuid import UUID

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, bindparam, func, insert, select, union_all
from sqlalchemy.orm import Session

from app.models import JobResult
from app.services import postgres_writes
from app.services.ingest import Outcome

RESULTS = JobResult.__table__


def record(session: Session, *, job_id: UUID, outcomes: Sequence[Outcome]) -> None:
    """Store one batch's results: COPY on PostgreSQL, one executemany on SQLite."""
    if not outcomes:
        return
    if postgres_writes.on_postgres(session):
        postgres_writes.insert_results(session, job_id=job_id, outcomes=outcomes)
    else:
        session.execute(insert(JobResult.__table__), [_row(job_id, o) for o in outcomes])


def _row(job_id: UUID, o: Outcome) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "seq": o.seq,
        "source_id": o.source_id,
        "status": o.status,
        "action": o.action,
        "entry_id": o.entry_id,
        "error": o.error,
        "detail": o.detail,
    }


def sample(session: Session, *, job_ids: list[UUID], size: int) -> dict[UUID, list[Row[Any]]]:
    """Up to `size` results per job, failures first, then in submission order.

    One prepared statement per job of two index range scans that stop after `size` rows
    (failures via (job_id, status, seq), the rest via the primary key), so a poll costs
    the same for a job of ten records as for one of a hundred thousand; ranking all of a
    job's results measured 10 ms per poll at 6,500 records.
    """
    found: dict[UUID, list[Row[Any]]] = {}
    if size <= 0:
        return found
    for job_id in job_ids:
        rows = list(session.execute(_SAMPLE, {"job_id": job_id, "size": size}))
        rows.sort(key=lambda r: (r.status != "failed", r.seq))
        found[job_id] = rows[:size]
    return found


def _first(*, failed: bool) -> Select[Any]:
    status = RESULTS.c.status == "failed" if failed else RESULTS.c.status != "failed"
    where = (RESULTS.c.job_id == bindparam("job_id"), status)
    return select(select(RESULTS).where(*where).order_by(RESULTS.c.seq).limit(bindparam("size")).subquery())


# Built once: rebuilding the statement per poll measured more CPU than running it.
_SAMPLE = union_all(_first(failed=True), _first(failed=False))


def page(session: Session, *, job_id: UUID, status: str | None, limit: int, offset: int) -> tuple[int, list[JobResult]]:
    where = [JobResult.job_id == job_id]
    if status is not None:
        where.append(JobResult.status == status)
    total = session.scalar(select(func.count()).select_from(JobResult).where(*where)) or 0
    rows = session.scalars(select(JobResult).where(*where).order_by(JobResult.seq).limit(limit).offset(offset))
    return total, list(rows)
