"""A payload the workspace submitted before gets that job's batches, copied in the database.

A nightly sync that sends an unchanged export again would otherwise have the API
serialize, fingerprint and compress every record once more, only to plan the very same
batches: most of the API's CPU on such a re-run, and the API is its critical path.
Batches depend on nothing but the adapter, its version, the options, the payload, the
batch limits and the planner's own format (planning.PLAN_FORMAT), so a job with the same
digest of all those was planned identically: its stored batches (records and manifests)
are copied row for row, and the workers, reading the manifests, skip every unchanged
record as they would have. A payload whose JSON differs (an export timestamp in the
envelope included; the digest is over the parsed payload re-serialized, so whitespace
does not count but key order does), or a changed BATCH_SIZE, is planned as usual.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import false, insert, literal, select
from sqlalchemy.orm import Session

from adapters.base import Adapter
from app.models import Job, JobBatch
from app.services.planning import MAX_BATCH_BYTES, PLAN_FORMAT


@dataclass(frozen=True)
class Earlier:
    """The job a submission repeats."""

    job_id: UUID
    batch_count: int


def digest(adapter: Adapter, options: dict[str, Any], payload: bytes, *, batch_size: int) -> bytes:
    shape = [PLAN_FORMAT, batch_size, MAX_BATCH_BYTES]
    head = orjson.dumps([adapter.name, adapter.version, options, shape], option=orjson.OPT_SORT_KEYS)
    state = hashlib.sha256(head)
    state.update(b"\n")
    state.update(payload)
    return state.digest()


def earlier_job(session: Session, *, workspace_id: UUID, payload_digest: bytes) -> Earlier | None:
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
    have its workers read every record): plan the payload instead. Nothing deletes
    batches or manifests today, so only a hand-made change (or a future retention rule)
    leads here."""


BATCHES = JobBatch.__table__
_COPIED = ("job_id", "seq", "record_count", "items", "manifest", "done", "attempts", "enqueued_at")


def copy_batches(session: Session, *, earlier: Earlier, job_id: UUID, now: datetime) -> None:
    """The earlier job's batches, unstarted, as `job_id`'s; EarlierBatchesGone (the
    caller's transaction then rolls back) unless every one of them, manifest and all,
    was copied."""
    rows = select(
        literal(job_id, BATCHES.c.job_id.type),
        BATCHES.c.seq,
        BATCHES.c.record_count,
        BATCHES.c["items"],
        BATCHES.c.manifest,
        false(),
        literal(0),
        literal(now, BATCHES.c.enqueued_at.type),
    ).where(BATCHES.c.job_id == earlier.job_id, BATCHES.c.manifest.is_not(None))
    # Counted from RETURNING: psycopg reported a rowcount of -1 for this INSERT … SELECT.
    copied = len(session.execute(insert(BATCHES).from_select(_COPIED, rows).returning(BATCHES.c.seq)).all())
    if copied != earlier.batch_count:
        raise EarlierBatchesGone(f"job {earlier.job_id} has {copied} of its {earlier.batch_count} batches with manifests")
