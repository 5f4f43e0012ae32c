"""Idempotent job submission: a retried request with the same `Idempotency-Key` replays.

A key names one request, identified by the SHA-256 of its canonical form (adapter type,
knowledge base, options and the payload's compact JSON). Within the key's lifetime the same key
with the same request answers with the job it created; with another request it is a
Conflict. An expired key is forgotten, and the next request may use it again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import orjson
from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.errors import Conflict
from app.models import IdempotencyKey
from app.services import payload_json
from app.services.jobs import Submission
from app.timestamps import utcnow


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    key: str
    fingerprint: str


def fingerprint(submission: Submission) -> str:
    head = {
        "adapterType": submission.adapter_type,
        "knowledgeBaseId": str(submission.knowledge_base_id),
        "options": submission.options or {},
    }
    digest = hashlib.sha256(orjson.dumps(head, option=orjson.OPT_SORT_KEYS))
    digest.update(b"\n")
    payload_json.feed(digest, submission.data)
    return digest.hexdigest()


def previous_job(session: Session, *, workspace_id: UUID, request: IdempotentRequest, ttl: timedelta) -> UUID | None:
    """The job this key created within `ttl`, or None; Conflict if it was another request's key."""
    row = session.get(IdempotencyKey, (workspace_id, request.key), populate_existing=True)
    if row is None:
        return None
    if row.created_at <= utcnow() - ttl:
        session.delete(row)
        session.flush()
        return None
    if row.fingerprint != request.fingerprint:
        raise Conflict(
            f"Idempotency-Key {request.key!r} was already used for a different request; "
            "send a new key with a new request, or repeat the original request exactly"
        )
    return row.job_id


def remember(session: Session, *, workspace_id: UUID, request: IdempotentRequest, job_id: UUID) -> None:
    """Record the key in the job's own transaction; IntegrityError when a racing request got there first."""
    session.add(IdempotencyKey(workspace_id=workspace_id, key=request.key, fingerprint=request.fingerprint, job_id=job_id))
    session.flush()


def purge_expired(session: Session, *, ttl: timedelta) -> int:
    """Delete keys older than `ttl`; they would be ignored anyway. Returns how many went."""
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at <= utcnow() - ttl))
    return result.rowcount or 0
