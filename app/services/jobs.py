"""Submitting, reading, listing and cancelling jobs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from adapters import PayloadError, UnknownAdapter, registry
from adapters.base import Adapter, Identity, Issue
from app.errors import Conflict, InvalidInput, NotFound
from app.models import ACTIVE_STATUSES, Job, JobBatch, JobPayload, JobStatus
from app.services import batch_contents, knowledge_bases, payloads, record_sources, resubmissions
from app.services.planning import Plan, plan_batches, usable_id
from app.services.record_sources import Known
from app.timestamps import utcnow


@dataclass(frozen=True, kw_only=True)
class Submission:
    adapter_type: str
    knowledge_base_id: UUID
    data: Any
    options: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class JobFilter:
    status: JobStatus | None = None
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class Accepted:
    job: Job
    batch_seqs: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Validated:
    """A submission that passed every check the database is not needed for."""

    submission: Submission
    adapter: Adapter
    options: dict[str, Any]
    items: list[Any]


@dataclass(frozen=True)
class Planned:
    """Batches planned, or (`plan` None) to be copied from the `earlier` job with the same payload digest."""

    validated: Validated
    plan: Plan | None
    envelope: tuple[bytes, str | None]
    payload_digest: bytes
    earlier: resubmissions.Earlier | None = None

    @property
    def batch_count(self) -> int:
        return len(self.plan.batches) if self.plan is not None else self.earlier.batch_count  # type: ignore[union-attr]


def validate(submission: Submission, *, max_records: int) -> Validated:
    """The adapter, its options and the records: cheap checks, no database."""
    try:
        adapter = registry.get(submission.adapter_type)
    except UnknownAdapter:
        raise InvalidInput(f"Unknown adapter: {submission.adapter_type}", [Issue("adapterType", "is not a known adapter")]) from None
    try:
        options = adapter.parse_options(submission.options)
        items = adapter.items(submission.data)
    except PayloadError as error:
        raise InvalidInput("Payload validation failed", error.issues) from None
    if len(items) > max_records:
        raise InvalidInput(
            f"Too many records: {len(items)} (the maximum per job is {max_records}); split the payload into several jobs",
            [Issue("data", f"has {len(items)} records, more than the maximum of {max_records}")],
        )
    return Validated(submission, adapter, options, items)


def payload_digest(validated: Validated, *, batch_size: int) -> bytes:
    return resubmissions.digest(validated.adapter, validated.options, validated.submission.data, batch_size=batch_size)


def stored_records(connection: Connection, validated: Validated, identified: list[Identity | None]) -> dict[str, Known]:
    """Which of the records (`identified`: planning.identities) the knowledge base already
    stores (app/services/record_sources.py): one index probe per record, before planning."""
    source_ids = list({source_id for identity in identified if (source_id := usable_id(identity)) is not None})
    knowledge_base_id = validated.submission.knowledge_base_id
    return record_sources.known(connection, knowledge_base_id=knowledge_base_id, source_ids=source_ids)


def plan(
    validated: Validated,
    *,
    batch_size: int,
    digest: bytes | None = None,
    identified: list[Identity | None] | None = None,
    known: Mapping[str, Known] | None = None,
) -> Planned:
    """Serialize, fingerprint and compress the batches: the CPU-heavy part (about a second
    for 30 MB), which needs no database and so holds no connection or lock. `identified`
    and `known` come from `stored_records`."""
    # What the API parsed always serializes: the submission refused nesting past MAX_DEPTH
    # (measured while parsing, or by check_depth), and app/api/json_parsing.py reads
    # integers as orjson does.
    planned = plan_batches(
        validated.adapter, validated.items, batch_size=batch_size, options=validated.options, identified=identified, known=known
    )
    envelope = payloads.envelope(validated.submission.data, validated.items)
    return Planned(validated, planned, envelope, digest if digest is not None else payload_digest(validated, batch_size=batch_size))


def repeat(validated: Validated, *, earlier: resubmissions.Earlier, digest: bytes) -> Planned:
    """A payload planned before: its batches will be copied from the earlier job (app/services/resubmissions.py)."""
    return Planned(validated, None, payloads.envelope(validated.submission.data, validated.items), digest, earlier)


def store(session: Session, *, workspace_id: UUID, planned: Planned, request_digest: bytes | None = None) -> Accepted:
    """The job, its payload envelope and batches; NotFound if the knowledge base is not (or
    no longer) there, resubmissions.EarlierBatchesGone if batches to copy are.
    `request_digest` lets a later request of the same bytes copy this job unparsed."""
    validated = planned.validated
    knowledge_base_id = validated.submission.knowledge_base_id
    knowledge_bases.get(session, workspace_id=workspace_id, knowledge_base_id=knowledge_base_id)
    job = Job(
        workspace_id=workspace_id,
        knowledge_base_id=knowledge_base_id,
        adapter_type=validated.adapter.name,
        adapter_version=validated.adapter.version,
        options=validated.options,
        record_count=len(validated.items),
        batch_count=planned.batch_count,
        payload_digest=planned.payload_digest,
        request_digest=request_digest,
    )
    session.add(job)
    session.flush()
    body, records_pointer = planned.envelope
    session.add(JobPayload(job_id=job.id, body=body, records_pointer=records_pointer))
    now = utcnow()
    if planned.plan is None:
        resubmissions.copy_batches(session, earlier=planned.earlier, job_id=job.id, now=now)  # type: ignore[arg-type]
    else:
        for seq, batch in enumerate(planned.plan.batches):
            session.add(
                JobBatch(job_id=job.id, seq=seq, record_count=batch.record_count, items=batch.items, manifest=batch.manifest, enqueued_at=now)
            )
        record_sources.remember(session, job_id=job.id, batches=planned.plan.sources)
    return Accepted(job, list(range(planned.batch_count)))


def get(session: Session, *, workspace_id: UUID, job_id: UUID) -> Job:
    job = session.get(Job, job_id, populate_existing=True)
    if job is None or job.workspace_id != workspace_id:
        raise NotFound(f"Job {job_id} not found")
    return job


def stored_payload(session: Session | Connection, *, job_id: UUID) -> payloads.Stored | None:
    """Read in one go (about a third of the payload's size, compressed), so that no
    connection is held while the payload is sent (payloads.Spliced.pieces); records stored
    by earlier jobs are read from their batches as the payload is sent, each batch on a
    connection taken for that read (record_sources.reader)."""
    row = session.execute(select(JobPayload.body, JobPayload.records_pointer).where(JobPayload.job_id == job_id)).first()
    if row is None:
        return None
    return payloads.Stored(
        row.body,
        row.records_pointer,
        batch_contents.all_items(session, job_id=job_id),
        record_sources.reader(session.get_bind() if isinstance(session, Session) else session.engine),
    )


def list_page(session: Session, *, workspace_id: UUID, filters: JobFilter) -> tuple[int, list[Job]]:
    where = [Job.workspace_id == workspace_id]
    if filters.status is not None:
        where.append(Job.status == filters.status)
    if filters.start is not None:
        where.append(Job.created_at >= filters.start)
    if filters.end is not None:
        where.append(Job.created_at < filters.end)
    total = session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
    rows = session.scalars(
        select(Job).where(*where).order_by(Job.created_at.desc(), Job.id.desc()).limit(filters.limit).offset(filters.offset)
    )
    return total, list(rows)


def cancel(session: Session, *, workspace_id: UUID, job_id: UUID) -> None:
    """Cancel a pending or processing job; a batch in flight rolls back rather than count."""
    now = utcnow()
    cancelled = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.workspace_id == workspace_id, Job.status.in_(ACTIVE_STATUSES))
        .values(status=JobStatus.CANCELLED, completed_at=now, updated_at=now)
        .returning(Job.id)
    ).first()
    if cancelled is None:
        job = get(session, workspace_id=workspace_id, job_id=job_id)
        raise Conflict(f"Job {job_id} is already {job.status}")
