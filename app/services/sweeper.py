"""The sweeper's decisions: which unfinished batches to send again, which jobs to give up on.

The broker can lose a message: Redis unreachable when the job was submitted, Redis
restarted without persistence, a worker killed before Redis hands its messages to another
one, the embedded process restarted. The database knows what is left to do (every batch
not `done` of a pending or processing job), so a periodic pass over it makes sure nothing
waits for a message that will never come. Sending a batch twice is harmless: the batch
runner checks and flips `done` atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.models import ACTIVE_STATUSES, Job, JobBatch
from app.services.batches import fail_job, out_of_attempts


@dataclass(frozen=True, kw_only=True)
class Policy:
    stall_after: timedelta
    max_attempts: int


@dataclass
class Sweep:
    """What one pass decided: batches to send again (already marked sent) and jobs it failed."""

    resend: dict[UUID, list[int]] = field(default_factory=dict)
    failed: dict[UUID, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.resend or self.failed)


def sweep(session: Session, *, policy: Policy, now: datetime, broker_lost_messages: bool = False) -> Sweep:
    """Decide about every unfinished batch that looks forgotten, and record it in the session.

    A batch looks forgotten when its message never reached the broker (`enqueued_at` is
    NULL), when the broker lost everything (`broker_lost_messages`), or when neither the
    batch nor its job moved for `stall_after`: not sent, started or progressed since. The
    caller commits, then enqueues `resend`.
    """
    result = Sweep()
    for job_id, seq, attempts in _forgotten(session, policy=policy, now=now, everything=broker_lost_messages):
        if job_id in result.failed:
            continue
        if attempts >= policy.max_attempts:
            reason = out_of_attempts(seq, attempts)
            if fail_job(session, job_id=job_id, reason=reason):
                result.failed[job_id] = reason
            result.resend.pop(job_id, None)
            continue
        result.resend.setdefault(job_id, []).append(seq)
    for job_id, seqs in result.resend.items():
        session.execute(
            update(JobBatch).where(JobBatch.job_id == job_id, JobBatch.seq.in_(seqs)).values(enqueued_at=now)
        )
    return result


def _forgotten(session: Session, *, policy: Policy, now: datetime, everything: bool) -> list[tuple[UUID, int, int]]:
    cutoff = now - policy.stall_after
    stalled = and_(
        JobBatch.enqueued_at < cutoff,
        Job.updated_at < cutoff,
        or_(JobBatch.started_at.is_(None), JobBatch.started_at < cutoff),
    )
    where = [Job.status.in_(ACTIVE_STATUSES), JobBatch.done.is_(False)]
    if not everything:
        where.append(or_(JobBatch.enqueued_at.is_(None), stalled))
    rows = session.execute(
        select(JobBatch.job_id, JobBatch.seq, JobBatch.attempts)
        .join(Job, Job.id == JobBatch.job_id)
        .where(*where)
        .order_by(Job.created_at, JobBatch.seq)
    )
    return [(job_id, seq, attempts) for job_id, seq, attempts in rows]
