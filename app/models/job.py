"""A job and its parts: the stored payload, its batches, and its per-record results.

The job row holds the progress counters so that polling a job of any size is one
primary-key read; per-record results live in their own table and are paged.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import CheckConstraint, Column, ForeignKey, ForeignKeyConstraint, Index, Text, text
from sqlmodel import Field, SQLModel

from app.models.types import Blob, JsonColumn, UTCDateTime
from app.timestamps import utcnow


class JobStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
ACTIVE_STATUSES = frozenset({JobStatus.PENDING, JobStatus.PROCESSING})


class Job(SQLModel, table=True):
    """`payload_digest` is the BLAKE3 digest of what shapes the job's batches (adapter, its
    version, options, payload, batch limits): a later submission with the same digest in
    the workspace copies this job's batches instead of planning them
    (`app.services.resubmissions`). `request_digest`, of the request's bytes, lets a later
    request of the very same bytes copy the whole job without being parsed."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_workspace_created", "workspace_id", "created_at"),
        Index("ix_jobs_status", "status"),
        Index("ix_jobs_workspace_payload_digest", "workspace_id", "payload_digest", "created_at"),
        Index("ix_jobs_workspace_request_digest", "workspace_id", "request_digest", "created_at"),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    workspace_id: UUID = Field(foreign_key="workspaces.id")
    knowledge_base_id: UUID = Field(foreign_key="knowledge_bases.id")
    adapter_type: str = Field(max_length=100)
    adapter_version: str = Field(max_length=50)
    options: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonColumn, nullable=False))
    status: str = Field(default=JobStatus.PENDING, max_length=20)
    error: str | None = Field(default=None, sa_column=Column(Text))
    record_count: int = 0
    batch_count: int = 0
    # NULL for jobs submitted before digests existed: never copied from.
    payload_digest: bytes | None = Field(default=None, sa_column=Column(Blob, nullable=True))
    # NULL also for requests with an Idempotency-Key, which are always parsed.
    request_digest: bytes | None = Field(default=None, sa_column=Column(Blob, nullable=True))
    batches_done: int = 0
    processed: int = 0
    successful: int = 0
    failed: int = 0
    skipped: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class JobPayload(SQLModel, table=True):
    """The submitted `data` less its records (which the batches hold), kept apart so a poll never loads it.

    `body` is zstd-compressed JSON; `records_pointer` (a one-level JSON Pointer) says where
    in it the records go back (`app.services.payloads`), or is None when `body` is the
    whole payload.
    """

    __tablename__ = "job_payloads"

    job_id: UUID = Field(sa_column=Column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True))
    body: bytes = Field(sa_column=Column(Blob, nullable=False))
    records_pointer: str | None = Field(default=None, sa_column=Column(Text))


class JobBatch(SQLModel, table=True):
    """A slice of a job's records: the unit of work of one Dramatiq message.

    `items` is JSON `[[seq, superseded, raw_record], ...]`, zstd-compressed
    (`app.services.blobs`); `manifest` is what the API learnt of each record while
    planning (`app.services.manifests`), so that a worker finds the unchanged records of
    a re-run without reading `items` at all. `done` flips in the same transaction that
    applies the batch, which is what makes redelivery harmless.

    A resubmission's batch (`app.services.resubmissions`) stores neither `items` nor a
    `manifest`: `origin_job_id` names the job whose batch of the same `seq` holds them,
    and `app.services.batch_contents` reads them from there. Stored records are never
    changed, so a copy may share them; the foreign key keeps them while they are shared.
    """

    __tablename__ = "job_batches"
    __table_args__ = (
        ForeignKeyConstraint(["origin_job_id", "seq"], ["job_batches.job_id", "job_batches.seq"], name="fk_job_batches_origin"),
        CheckConstraint("(items IS NULL) = (origin_job_id IS NOT NULL)", name="ck_job_batches_items_or_origin"),
    )

    job_id: UUID = Field(sa_column=Column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True))
    seq: int = Field(primary_key=True)
    record_count: int
    items: bytes | None = Field(default=None, sa_column=Column(Blob, nullable=True))
    # NULL for batches planned before manifests existed: their workers read `items`.
    manifest: bytes | None = Field(default=None, sa_column=Column(Blob, nullable=True))
    origin_job_id: UUID | None = None
    done: bool = False
    attempts: int = 0
    enqueued_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class JobRecordSource(SQLModel, table=True):
    """A batch of another job that some of this job's batches refer to for records' bytes.

    A record the knowledge base already holds, unchanged since that batch stored it, is
    planned as a reference to it (`app.services.batch_records`) rather than stored again;
    this row keeps the batch referred to from being deleted while the job exists.
    """

    __tablename__ = "job_record_sources"
    __table_args__ = (
        ForeignKeyConstraint(
            ["source_job_id", "source_batch"], ["job_batches.job_id", "job_batches.seq"], name="fk_job_record_sources_batch"
        ),
    )

    job_id: UUID = Field(sa_column=Column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True))
    source_job_id: UUID = Field(primary_key=True)
    source_batch: int = Field(primary_key=True)


class JobResult(SQLModel, table=True):
    """What happened to one submitted record; `seq` is its position in the payload."""

    __tablename__ = "job_results"
    # Only failures are found by status (a job's failures come first in its sample); the
    # rest are read through the primary key, and cost one index insertion, not two.
    __table_args__ = (
        Index("ix_job_results_failed", "job_id", "seq", postgresql_where=text("status = 'failed'"), sqlite_where=text("status = 'failed'")),
    )

    # No foreign key: it was checked once per result row, 100,000 times for a 100,000-record
    # run. A trigger on jobs deletes a deleted job's results (migration 0012).
    job_id: UUID = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    source_id: str | None = Field(default=None, max_length=512)
    status: str = Field(max_length=10)
    action: str | None = Field(default=None, max_length=10)
    entry_id: UUID | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    detail: str | None = Field(default=None, sa_column=Column(Text))
