"""Creating the job of a submission: stored in one transaction, exactly one job per idempotency key.

The checks that need the database (a key already used, the knowledge base) come first in
a short transaction; the payload digest, the lookup of an earlier job with it and the
planning (serializing and compressing the batches) run outside any; and the job, its
batches and its key are inserted in one last transaction, so a crash leaves all or nothing.

Resubmissions (app/services/resubmissions.py) skip most of that. A request whose bytes the
workspace sent before is not even parsed: one transaction copies the earlier job (its
row, payload envelope and batches). A payload submitted before in other bytes (other
whitespace, or with an Idempotency-Key, whose check needs the parsed request) is parsed
and checked, and its last transaction copies the earlier job's batches instead of planning.

Two identical requests racing with one key: on PostgreSQL both may build a job, the
second insert of the key fails on its primary key once the first commits, and that
request rolls back and answers with the winner's job; on SQLite transactions are
serialized (BEGIN IMMEDIATE), so the second finds the key in its last transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from uuid import UUID

import anyio
import blake3
from sqlalchemy.exc import IntegrityError

from app.api.submission import Received
from app.db import reading, transaction
from app.runtime import Runtime
from app.settings import Settings
from app.services import idempotency, jobs, knowledge_bases, planning, resubmissions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Created:
    job_id: UUID
    batch_seqs: list[int] = field(default_factory=list)
    replayed: bool = False
    resent_from: UUID | None = None


async def accept(runtime: Runtime, *, workspace_id: UUID, received: Received, key: str | None) -> Created:
    """The job of a received submission: a copy of the same request's earlier job, or
    the parsed submission's own (create_job).

    The database work runs on worker threads; parsing runs on the event loop's thread,
    where the body's chunks were allocated. Parsed on another thread, the 30 MB of a body
    went into that thread's malloc arena while its freed chunks stayed in the main one:
    the API's peak RSS grew from 246 to 274 MB on a 30 MB body."""
    digest = None
    if key is None:
        digest = received.digest or await anyio.to_thread.run_sync(_digest_of, received, request_hasher(runtime.settings))
        resent = await anyio.to_thread.run_sync(partial(_resend, runtime, workspace_id, digest))
        if resent is not None:
            return resent
    submission = received.parse()
    return await anyio.to_thread.run_sync(partial(create_job, runtime, workspace_id=workspace_id, submission=submission, key=key, request_digest=digest))


def request_hasher(settings: Settings) -> blake3.blake3:
    """The request digest's hasher, before the request's own bytes, for this service's
    limits. Only requests without an Idempotency-Key take one: the others are always parsed."""
    return resubmissions.request_hasher(batch_size=settings.batch_size, max_records=settings.max_records_per_job)


def _digest_of(received: Received, hasher: blake3.blake3) -> bytes:
    """A form's digest, from its frames (a JSON body's is taken while it arrives)."""
    for frame in received.frames():
        hasher.update(frame)
    return hasher.digest()


def create_job(
    runtime: Runtime, *, workspace_id: UUID, submission: jobs.Submission, key: str | None, request_digest: bytes | None = None
) -> Created:
    """`request_digest`, of an unkeyed request's bytes, is stored for later requests to match."""
    if key is None:
        return _create(runtime, workspace_id, submission, None, request_digest)
    request = idempotency.IdempotentRequest(key, idempotency.fingerprint(submission))
    try:
        return _create(runtime, workspace_id, submission, request, None)
    except IntegrityError as error:
        with transaction(runtime.sessions) as session:
            winner = idempotency.previous_job(session, workspace_id=workspace_id, request=request, ttl=_ttl(runtime))
        if winner is None:
            raise error
        log.info("lost the race for Idempotency-Key %r to job %s", key, winner, extra={"job_id": str(winner)})
        return Created(winner, replayed=True)


def _resend(runtime: Runtime, workspace_id: UUID, digest: bytes) -> Created | None:
    """The job of a request sent before, copied; None if there is none to copy."""
    try:
        with transaction(runtime.sessions) as session:
            resent = resubmissions.resend(session, workspace_id=workspace_id, request_digest=digest)
            if resent is None:
                return None
            return Created(resent.job.id, list(range(resent.job.batch_count)), resent_from=resent.earlier_id)
    except resubmissions.EarlierBatchesGone as gone:
        log.info("parsing the request: %s", gone)
        return None


def _create(
    runtime: Runtime,
    workspace_id: UUID,
    submission: jobs.Submission,
    request: idempotency.IdempotentRequest | None,
    request_digest: bytes | None,
) -> Created:
    settings = runtime.settings
    # Everything that can refuse the request, in this order, before a second of planning
    # (after the checks made while it was parsed: its fields, its nesting depth): a key
    # used by another request (409; a replay answers at once), the adapter and the
    # records (400), the knowledge base (404).
    with transaction(runtime.sessions) as session:
        if request is not None:
            previous = idempotency.previous_job(session, workspace_id=workspace_id, request=request, ttl=_ttl(runtime))
            if previous is not None:
                return Created(previous, replayed=True)
        validated = jobs.validate(submission, max_records=settings.max_records_per_job)
        knowledge_bases.get(session, workspace_id=workspace_id, knowledge_base_id=submission.knowledge_base_id)
    # The payload digest (serializing the payload: ~15 ms for 30 MB) and planning run
    # outside any transaction: no pooled connection idles meanwhile, and in the embedded
    # mode SQLite's write lock stays free for the worker threads.
    digest = jobs.payload_digest(validated, batch_size=settings.batch_size)
    with reading(runtime.engine) as connection:
        earlier = resubmissions.earlier_job(connection, workspace_id=workspace_id, payload_digest=digest)
    if earlier is not None:
        try:
            return _store(runtime, workspace_id, request, jobs.repeat(validated, earlier=earlier, digest=digest), request_digest)
        except resubmissions.EarlierBatchesGone as gone:
            log.info("planning the payload: %s", gone)
    identified = planning.identities(validated.adapter, validated.items)
    with reading(runtime.engine) as connection:
        known = jobs.stored_records(connection, validated, identified)
    planned = jobs.plan(validated, batch_size=settings.batch_size, digest=digest, identified=identified, known=known)
    return _store(runtime, workspace_id, request, planned, request_digest)


def _store(
    runtime: Runtime,
    workspace_id: UUID,
    request: idempotency.IdempotentRequest | None,
    planned: jobs.Planned,
    request_digest: bytes | None,
) -> Created:
    with transaction(runtime.sessions) as session:
        if request is not None:
            # Another request with this key may have finished while this one planned.
            previous = idempotency.previous_job(session, workspace_id=workspace_id, request=request, ttl=_ttl(runtime))
            if previous is not None:
                return Created(previous, replayed=True)
        accepted = jobs.store(session, workspace_id=workspace_id, planned=planned, request_digest=request_digest)
        if request is not None:
            idempotency.remember(session, workspace_id=workspace_id, request=request, job_id=accepted.job.id)
        return Created(accepted.job.id, accepted.batch_seqs)


def _ttl(runtime: Runtime) -> timedelta:
    return timedelta(seconds=runtime.settings.idempotency_key_ttl)
