"""Per-record results: a bounded sample for polling (failures first) and the full paged list."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.models import JobResult

_FAILURES_FIRST = case((JobResult.status == "failed", 0), else_=1)


def sample(session: Session, *, job_ids: list[UUID], size: int) -> dict[UUID, list[JobResult]]:
    """Up to `size` results per job in one query, failures first, then in submission order."""
    if not job_ids or size <= 0:
        return {}
    rank = func.row_number().over(partition_by=JobResult.job_id, order_by=(_FAILURES_FIRST, JobResult.seq)).label("rank")
    ranked = select(JobResult, rank).where(JobResult.job_id.in_(job_ids)).subquery()
    rows = session.execute(select(ranked).where(ranked.c.rank <= size).order_by(ranked.c.job_id, ranked.c.rank))
    found: dict[UUID, list[JobResult]] = {job_id: [] for job_id in job_ids}
    for row in rows:
        values = {c: getattr(row, c) for c in JobResult.__table__.columns.keys()}
        found[row.job_id].append(JobResult(**values))
    return found


def page(session: Session, *, job_id: UUID, status: str | None, limit: int, offset: int) -> tuple[int, list[JobResult]]:
    where = [JobResult.job_id == job_id]
    if status is not None:
        where.append(JobResult.status == status)
    total = session.scalar(select(func.count()).select_from(JobResult).where(*where)) or 0
    rows = session.scalars(select(JobResult).where(*where).order_by(JobResult.seq).limit(limit).offset(offset))
    return total, list(rows)
