"""Finding work the broker does not know about: the database is the source of truth."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import ACTIVE_STATUSES, Job, JobBatch


def unfinished_batches(session: Session) -> dict[UUID, list[int]]:
    """Every batch not yet applied, of every pending or processing job."""
    rows = session.execute(
        select(JobBatch.job_id, JobBatch.seq)
        .join(Job, Job.id == JobBatch.job_id)
        .where(Job.status.in_(ACTIVE_STATUSES), JobBatch.done.is_(False))
        .order_by(Job.created_at, JobBatch.seq)
    )
    found: dict[UUID, list[int]] = {}
    for job_id, seq in rows:
        found.setdefault(job_id, []).append(seq)
    return found


def mark_unsent(session: Session, *, job_id: UUID, seqs: list[int]) -> None:
    """Record that these batches' messages never reached the broker (`enqueued_at` NULL).

    The sweeper sends such batches on its next pass instead of waiting for them to stall.
    """
    if seqs:
        unsent = update(JobBatch).where(JobBatch.job_id == job_id, JobBatch.seq.in_(seqs), JobBatch.done.is_(False))
        session.execute(unsent.values(enqueued_at=None))
