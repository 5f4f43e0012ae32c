"""What a job's rows must agree on, read straight from the database.

"Applied exactly once" is checked from three sides: the job's counters equal the sums of
its per-record result rows (a batch counted twice would break that), every record has
one result row, and the knowledge base holds one entry per created record, each written
once (version 1) by this job.
"""

from __future__ import annotations

import random
import string
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.models import Entry, Job, JobBatch, JobResult

COUNTERS = ("processed", "successful", "failed", "skipped", "created", "updated", "deleted")


def records(count: int, *, size: int = 2000, prefix: str = "doc") -> list[dict[str, Any]]:
    """Distinct markdown records of about `size` bytes each."""
    rng = random.Random(count * 7919 + size)
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(400)]
    out = []
    for i in range(count):
        body = " ".join(rng.choices(words, k=size // 6))
        out.append({"id": f"{prefix}-{i}", "title": f"Record {i}", "content": f"# Record {i}\n\n{body}"})
    return out


def job_row(engine: Engine, job_id: str) -> Job:
    with Session(engine) as session:
        job = session.get(Job, UUID(job_id))
    assert job is not None
    return job


def progress(engine: Engine, job_id: str) -> tuple[str, int, int]:
    """(status, processed, record_count), cheap enough to poll."""
    with engine.connect() as connection:
        row = connection.execute(
            select(Job.status, Job.processed, Job.record_count).where(Job.id == UUID(job_id))
        ).one()
    return row.status, row.processed, row.record_count


def in_flight(engine: Engine, job_id: str) -> list[int]:
    """Batches claimed since the job's last progress: a whole batch of work ahead of them."""
    with engine.connect() as connection:
        rows = connection.scalars(
            select(JobBatch.seq)
            .join(Job, Job.id == JobBatch.job_id)
            .where(JobBatch.job_id == UUID(job_id), JobBatch.done.is_(False), JobBatch.started_at > Job.updated_at)
        )
        return list(rows)


def attempts(engine: Engine, job_id: str) -> dict[int, int]:
    with engine.connect() as connection:
        return _counts(
            connection.execute(select(JobBatch.seq, JobBatch.attempts).where(JobBatch.job_id == UUID(job_id)))
        )


def result_sums(engine: Engine, job_id: str) -> dict[str, int]:
    uuid = UUID(job_id)
    with engine.connect() as connection:
        by_status = _counts(
            connection.execute(
                select(JobResult.status, func.count()).where(JobResult.job_id == uuid).group_by(JobResult.status)
            )
        )
        by_action = _counts(
            connection.execute(
                select(JobResult.action, func.count())
                .where(JobResult.job_id == uuid, JobResult.status == "success")
                .group_by(JobResult.action)
            )
        )
    return {
        "processed": sum(by_status.values()),
        "successful": by_status.get("success", 0),
        "failed": by_status.get("failed", 0),
        "skipped": by_status.get("skipped", 0),
        "created": by_action.get("created", 0),
        "updated": by_action.get("updated", 0),
        "deleted": by_action.get("deleted", 0),
    }


def assert_counted_once(engine: Engine, job_id: str) -> Job:
    """The job's counters are exactly the sums of its result rows; returns the job row."""
    job = job_row(engine, job_id)
    assert {name: getattr(job, name) for name in COUNTERS} == result_sums(engine, job_id)
    return job


def assert_applied_once(engine: Engine, job_id: str, kb: str, source_ids: list[str]) -> None:
    """A completed job: every record processed once, one entry per source id, each written once."""
    job = assert_counted_once(engine, job_id)
    assert job.status == "completed", job.error
    assert job.processed == job.record_count == len(source_ids)
    assert job.batches_done == job.batch_count
    with engine.connect() as connection:
        entries = connection.execute(
            select(Entry.source_id, Entry.version, Entry.last_job_id).where(Entry.knowledge_base_id == UUID(kb))
        ).all()
    assert sorted(e.source_id for e in entries) == sorted(source_ids)
    assert {(e.version, e.last_job_id) for e in entries} == {(1, UUID(job_id))}
    assert job.created == len(source_ids)


def _counts(rows: Any) -> dict[Any, int]:
    return {key: count for key, count in rows}
