"""A payload the workspace submitted before gets that job's batches, copied in the database.

A nightly sync that sends an unchanged export again would otherwise have the API
serialize, fingerprint and compress every record once more, only to plan the very same
batches: most of the API's CPU on such a re-run, and the API is its critical path.
Which records a batch holds, and their manifest, depend on nothing but the adapter, its
version, the options, the payload, the batch limits and the planner's own format
(planning.PLAN_FORMAT), so a job with the same digest of all those was planned
identically (which of its records it stores as references to earlier jobs' lines also
depends on the knowledge base at the time, but those lines never change, so the copy
reads the same records): its batches are copied row for row, each
referring to the records and manifest the earlier job's batch refers to (its own, or its
origin's; app/services/batch_contents.py), and the workers, reading the manifests, skip
every unchanged record as they would have. A payload whose JSON differs (an export timestamp in the
envelope included; the digest is over the parsed payload re-serialized, so whitespace
does not count but key order does), or a changed BATCH_SIZE, is planned as usual.

A request of the very same bytes goes further: it is recognized by a digest of those
bytes before it is parsed (parsing and re-serializing 30 MB cost the API more than the
rest of such a request), and the whole job is copied, row, payload envelope and batches.
Bytes accepted once are accepted again with the same outcome as long as nothing that
reads them has changed, so that digest also covers this build of the service (its
version and a digest of its source), every registered adapter's version and the limits a
request is checked against; after a deploy the first repeat is parsed (and still copies
batches by its payload digest, unless the deploy changed how batches are planned or
digested: planning.PLAN_FORMAT).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any
from uuid import UUID

import blake3
import orjson
from sqlalchemy import Connection, false, func, insert, literal, select
from sqlalchemy.orm import Session

from adapters import registry
from adapters.base import Adapter
from app.models import Job, JobBatch, JobPayload
from app.services import batch_contents, knowledge_bases, payload_json, record_sources
from app.services.planning import MAX_BATCH_BYTES, PLAN_FORMAT

ROOT = Path(__file__).resolve().parents[2]
# Part of every request digest: bump it whenever what app/api/submission.py accepts, or
# how it frames a request's bytes, changes without a new release number.
REQUEST_FORMAT = 1


@dataclass(frozen=True)
class Earlier:
    """The job a submission repeats."""

    job_id: UUID
    batch_count: int


def digest(adapter: Adapter, options: dict[str, Any], data: Any, *, batch_size: int) -> bytes:
    """Over the parsed payload `data` as orjson writes it (app/services/payload_json.py)."""
    shape = [PLAN_FORMAT, batch_size, MAX_BATCH_BYTES]
    head = orjson.dumps([adapter.name, adapter.version, options, shape], option=orjson.OPT_SORT_KEYS)
    state = blake3.blake3(head)
    state.update(b"\n")
    payload_json.feed(state, data)
    return state.digest()


def request_hasher(*, batch_size: int, max_records: int) -> blake3.blake3:
    """A BLAKE3 hasher that has taken in everything but the request's own framed bytes
    (app/api/submission.Received.frames) that decides what those bytes become."""
    shape = [REQUEST_FORMAT, PLAN_FORMAT, batch_size, MAX_BATCH_BYTES, max_records]
    state = blake3.blake3(orjson.dumps([_release(), _adapter_versions(), shape]))
    state.update(b"\n")
    return state


@cache
def _release() -> str:
    """This build of the service: its version and a digest of its own source (app/ and
    adapters/), so that any deploy that changes code, version bumped or not, counts as a
    new release. Plug-in adapters count by their own versions."""
    try:
        version = metadata.version("kb-ingest")
    except metadata.PackageNotFoundError:
        version = "unknown"
    state = hashlib.sha256()
    for package in (ROOT / "app", ROOT / "adapters"):
        for source in sorted(package.rglob("*.py")):
            state.update(b"%s %d\n" % (source.relative_to(ROOT).as_posix().encode(), source.stat().st_size))
            state.update(source.read_bytes())
    return f"{version}+{state.hexdigest()[:16]}"


def _adapter_versions() -> list[list[str]]:
    return [[adapter.name, adapter.version] for adapter in registry]


def earlier_job(session: Session | Connection, *, workspace_id: UUID, payload_digest: bytes) -> Earlier | None:
    """The newest job of the workspace with this digest, whatever its status or knowledge base."""
    row = session.execute(
        select(Job.id, Job.batch_count)
        .where(Job.workspace_id == workspace_id, Job.payload_digest == payload_digest)
        .order_by(Job.created_at.desc())
        .limit(1)
    ).first()
    return Earlier(row.id, row.batch_count) if row is not None else None


class EarlierBatchesGone(Exception):
    """Some of the earlier job's batches are not there, or have no manifest (a copy would
    have its workers read every record), or (for a resent request) its stored payload is
    gone: parse and plan instead. Nothing deletes batches, manifests or payloads today, so
    only a hand-made change (or a future retention rule) leads here."""


@dataclass(frozen=True)
class Resent:
    job: Job
    earlier_id: UUID


def resend(session: Session, *, workspace_id: UUID, request_digest: bytes) -> Resent | None:
    """A copy of the workspace's newest job with this request digest, or None if it has none.

    NotFound if that job's knowledge base is gone, as parsing the request would have
    found; EarlierBatchesGone (roll back, and parse) if its payload or batches are."""
    earlier = session.scalars(
        select(Job).where(Job.workspace_id == workspace_id, Job.request_digest == request_digest).order_by(Job.created_at.desc()).limit(1)
    ).first()
    if earlier is None:
        return None
    knowledge_bases.get(session, workspace_id=workspace_id, knowledge_base_id=earlier.knowledge_base_id)
    job = Job(
        workspace_id=workspace_id,
        knowledge_base_id=earlier.knowledge_base_id,
        adapter_type=earlier.adapter_type,
        adapter_version=earlier.adapter_version,
        options=earlier.options,
        record_count=earlier.record_count,
        batch_count=earlier.batch_count,
        payload_digest=earlier.payload_digest,
        request_digest=request_digest,
    )
    session.add(job)
    session.flush()
    payload = JobPayload.__table__
    envelope = select(literal(job.id, payload.c.job_id.type), payload.c.body, payload.c.records_pointer).where(payload.c.job_id == earlier.id)
    if not session.execute(insert(payload).from_select(["job_id", "body", "records_pointer"], envelope).returning(payload.c.job_id)).all():
        raise EarlierBatchesGone(f"job {earlier.id} has no stored payload")
    copy_batches(session, earlier=Earlier(earlier.id, earlier.batch_count), job_id=job.id, now=job.created_at)
    return Resent(job, earlier.id)


_COPIED = ("job_id", "seq", "record_count", "origin_job_id", "done", "attempts", "enqueued_at")


def copy_batches(session: Session, *, earlier: Earlier, job_id: UUID, now: datetime) -> None:
    """The earlier job's batches, unstarted, as `job_id`'s; EarlierBatchesGone (the
    caller's transaction then rolls back) unless every one of them was copied with a
    manifest to refer to.

    A copy refers to the records and manifest where the earlier batch has them (its own
    row, or its origin's) rather than duplicating them: PostgreSQL rewriting 10 MB of
    compressed records per 30 MB job was most of the time a resent request took."""
    rows = batch_contents.with_origin(
        select(
            literal(job_id, JobBatch.job_id.type),
            JobBatch.seq,
            JobBatch.record_count,
            func.coalesce(JobBatch.origin_job_id, JobBatch.job_id),
            false(),
            literal(0),
            literal(now, JobBatch.enqueued_at.type),
        )
    ).where(JobBatch.job_id == earlier.job_id, batch_contents.MANIFEST.is_not(None))
    batches = JobBatch.__table__
    # Counted from RETURNING: psycopg reported a rowcount of -1 for this INSERT … SELECT.
    copied = len(session.execute(insert(batches).from_select(_COPIED, rows).returning(batches.c.seq)).all())
    if copied != earlier.batch_count:
        raise EarlierBatchesGone(f"job {earlier.job_id} has {copied} of its {earlier.batch_count} batches with manifests")
    record_sources.copy(session, earlier_job_id=earlier.job_id, job_id=job_id)
