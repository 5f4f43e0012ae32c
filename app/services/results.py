"""Per-record results: a bounded sample for polling (failures first) and the full paged list.

The sample must stay cheap on a job of 100,000 records, so it is two LIMITed range scans
per job (failures through the (job_id, status, seq) index, then the rest through the
primary key), never a sort or window over all of a job's results.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import JobResult

FAILED = "failed"


def sample(session: Session, *, job_ids: list[UUID], size: int) -> dict[UUID, list[JobResult]]:
    return {job_id: _sample_one(session, job_id, size) for job_id in job_ids} if size > 0 else {}


def _sample_one(session: Session, job_id: UUID, size: int) -> list[JobResult]:
    failures = list(
        session.scalars(
            select(JobResult).where(JobResult.job_id == job_id, JobResult.status == FAILED).order_by(JobResult.seq).limit(size)
        )
    )
    if len(failures) == size:
        return failures
    others = session.scalars(
        select(JobResult)
        .where(JobResult.job_id == job_id, JobResult.status != FAILED)
        .order_by(JobResult.seq)
        .limit(size - len(failures))
    )
    return failures + list(others)


def page(session: Session, *, job_id: UUID, status: str | None, limit: int, offset: int) -> tuple[int, list[JobResult]]:
    where = [JobResult.job_id == job_id]
    if status is not None:
        where.append(JobResult.status == status)
    total = session.scalar(select(func.count()).select_from(JobResult).where(*where)) or 0
    rows = session.scalars(select(JobResult).where(*where).order_by(JobResult.seq).limit(limit).offset(offset))
    return total, list(rows)
