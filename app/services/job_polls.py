"""What a job poll reads: the job and its results sample, in one statement.

Polling is the most frequent request. The job and its sample used to be two statements
(two round trips, two passes through SQLAlchemy's execution machinery) read through an
ORM Session, which together cost more CPU than the queries themselves. Here the sample
(results.SAMPLE: two LIMITed range scans, failures first) is LEFT JOINed to the job's
row, so a poll is one statement on a bare connection; the statement is built once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Row, bindparam, select, true

from app.errors import NotFound
from app.models import Job
from app.services.results import FAILED, SAMPLE

JOBS = Job.__table__
JOB_COLUMNS = (
    "id", "status", "knowledge_base_id", "adapter_type", "record_count", "processed", "successful", "failed",
    "skipped", "created", "updated", "deleted", "error", "created_at", "started_at", "completed_at",
)  # fmt: skip
RESULT_COLUMNS = ("seq", "source_id", "status", "action", "entry_id", "error", "detail")

_sample = SAMPLE.subquery("sample")
_POLL = (
    select(*(JOBS.c[name] for name in JOB_COLUMNS), *(_sample.c[name].label(f"result_{name}") for name in RESULT_COLUMNS))
    .select_from(JOBS.outerjoin(_sample, true()))
    .where(JOBS.c.id == bindparam("job_id"), JOBS.c.workspace_id == bindparam("workspace_id"))
)


@dataclass(frozen=True, slots=True)
class SampledResult:
    seq: int
    source_id: str | None
    status: str
    action: str | None
    entry_id: UUID | None
    error: str | None
    detail: str | None


def read(connection: Connection, *, workspace_id: UUID, job_id: UUID, sample_size: int) -> tuple[Row[Any], list[SampledResult]]:
    """The job (404 if not in the workspace) and up to `sample_size` results, failures first, then in submission order."""
    size = max(0, sample_size)
    rows = connection.execute(_POLL, {"job_id": job_id, "workspace_id": workspace_id, "size": size}).all()
    if not rows:
        raise NotFound(f"Job {job_id} not found")
    sample = [SampledResult(*row[len(JOB_COLUMNS) :]) for row in rows if row.result_seq is not None]
    sample.sort(key=lambda r: (r.status != FAILED, r.seq))
    return rows[0], sample[:size]
