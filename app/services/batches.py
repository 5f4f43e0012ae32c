"""Running one batch of a job: claim it, decide per record, apply everything in one transaction.

Deciding starts from the batch's manifest: the records it settles (superseded, deletes,
raw input unchanged since the entry was written) are never read; the batch's records
are fetched and parsed only when some are left, and then only those are looked at.

Every step is safe to run twice. The batch's `done` flag flips in the same transaction
that writes its entries, results and counters, so a redelivered message finds it done
and does nothing; a batch in flight when its job is cancelled rolls back whole, so the
counters always say exactly what was applied. The last batch to finish completes the job.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters import Registry, UnknownAdapter
from app.db import retrying_deadlocks, transaction
from app.models import ACTIVE_STATUSES, Job, JobBatch, JobStatus
from adapters.base import Adapter
from app.services import batch_contents, batch_records, batch_writes, entry_writes, manifests, record_sources, results
from app.services.ingest import (
    CREATED,
    DELETED,
    FAILED,
    SKIPPED,
    SUCCESS,
    UPDATED,
    Decision,
    Stored,
    decide,
    identify_all,
    triage,
)
from app.services.record_checks import RecordLimits
from app.timestamps import utcnow

log = logging.getLogger(__name__)

# The statements every batch runs, built once. Built per call, constructing them and
# computing their cache keys cost 0.45 ms each on the AMD bench machine, a few ms per
# batch; executed on the session's Core connection they also skip the ORM's bulk-update
# path. Bind names differ from column names, which update() reserves for its SET clause.
_JOBS, _BATCHES = Job.__table__, JobBatch.__table__
_THIS_BATCH = (_BATCHES.c.job_id == bindparam("b_job_id"), _BATCHES.c.seq == bindparam("b_seq"))
_CLAIMED = batch_contents.with_origin(
    select(
        _JOBS.c.status,
        _JOBS.c.workspace_id,
        _JOBS.c.knowledge_base_id,
        _JOBS.c.adapter_type,
        _JOBS.c.adapter_version,
        _JOBS.c.options,
        _BATCHES.c.done,
        batch_contents.MANIFEST.label("manifest"),
        _BATCHES.c.attempts,
    )
    .select_from(JobBatch)
    .join(Job, Job.id == JobBatch.job_id)
).where(*_THIS_BATCH)
_COUNT_ATTEMPT = (
    update(_BATCHES)
    .where(*_THIS_BATCH, _BATCHES.c.done.is_(False))
    .values(attempts=_BATCHES.c.attempts + 1, started_at=bindparam("b_now"))
    .returning(_BATCHES.c.attempts)
)
_START_JOB = (
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("b_job_id"), _JOBS.c.status == JobStatus.PENDING)
    .values(status=JobStatus.PROCESSING, started_at=bindparam("b_now"), updated_at=bindparam("b_now"))
)
# FOR NO KEY UPDATE: enough against a second apply, and it lets copies of this batch
# (whose foreign key takes FOR KEY SHARE) be inserted meanwhile.
_DONE_FOR_UPDATE = select(_BATCHES.c.done).where(*_THIS_BATCH).with_for_update(key_share=True)
_COUNTERS = ("processed", "successful", "failed", "skipped", "created", "updated", "deleted")
_PROGRESS = (
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("b_job_id"), _JOBS.c.status == JobStatus.PROCESSING)
    .values(
        {
            **{name: _JOBS.c[name] + bindparam(f"b_{name}") for name in _COUNTERS},
            "batches_done": _JOBS.c.batches_done + 1,
            "updated_at": bindparam("b_now"),
        }
    )
    .returning(_JOBS.c.batches_done, _JOBS.c.batch_count)
)
_MARK_DONE = update(_BATCHES).where(*_THIS_BATCH).values(done=True)
_COMPLETE_JOB = (
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("b_job_id"))
    .values(status=JobStatus.COMPLETED, completed_at=bindparam("b_now"), updated_at=bindparam("b_now"))
)


class _Abandoned(Exception):
    """The batch must not count: already applied, or its job stopped meanwhile."""


@dataclass(frozen=True, kw_only=True)
class Claim:
    workspace_id: UUID
    knowledge_base_id: UUID
    adapter_type: str
    adapter_version: str
    options: dict[str, Any]
    manifest: bytes | None
    attempts: int


def run_batch(
    sessions: sessionmaker[Session],
    *,
    job_id: UUID,
    seq: int,
    registry: Registry,
    limits: RecordLimits,
    max_attempts: int | None = None,
) -> str:
    """Process batch `seq` of a job; returns what happened, for the log.

    The claim (which counts the attempt), the stored hashes and, when the manifest leaves
    records to read, the batch's records are one transaction, committed before those
    records are decoded and converted: the work that can kill a worker process, which must
    find the attempt counted. A batch the manifest settles whole (an unchanged re-run) is
    applied in that same transaction, its only one. Should that transaction fail after
    the claim, the attempt is counted on its own (`_count_attempt`), as a claim committed
    first would have counted it.
    """
    try:
        started = _start(sessions, job_id=job_id, seq=seq, registry=registry, max_attempts=max_attempts)
        if isinstance(started, str):
            return started
        if started.lines is None:
            decision = _decide_reading_all(sessions, job_id=job_id, seq=seq, claim=started.claim, adapter=started.adapter, limits=limits)
        else:
            decision = _decide_unread(sessions, started, limits)
        # Jobs writing one knowledge base at once can lock its entries in crossing orders
        # (one batch's upsert, then its refresh, against another's): rolled back whole,
        # the apply runs again at once, without costing the batch one of its attempts.
        return retrying_deadlocks(
            sessions, lambda session: apply_batch(session, job_id=job_id, seq=seq, claim=started.claim, decision=decision), what=f"batch {seq}"
        )
    except _Abandoned as reason:
        return f"abandoned: {reason}"


@dataclass(frozen=True)
class _Started:
    """A claimed batch with records still to read (all of them when `lines` is None)."""

    claim: Claim
    adapter: Adapter
    lines: list[manifests.Line] | None = None
    settled: Decision | None = None
    unread: set[int] = field(default_factory=set)
    blob: bytes = b""
    existing: dict[str, Stored] = field(default_factory=dict)


def _start(sessions: sessionmaker[Session], *, job_id: UUID, seq: int, registry: Registry, max_attempts: int | None) -> _Started | str:
    """Claim the batch and settle what its manifest can; a string when that was all there was to do."""
    claim = None

    def claim_and_settle(session: Session) -> _Started | str:
        nonlocal claim
        claim = None  # a claim rolled back by a deadlock counts no attempt
        claim = claim_batch(session, job_id=job_id, seq=seq, max_attempts=max_attempts)
        if claim is None:
            return "nothing to do"
        try:
            adapter = registry.get(claim.adapter_type)
        except UnknownAdapter:
            fail_job(session, job_id=job_id, reason=f"adapter {claim.adapter_type} is no longer available")
            return "failed: unknown adapter"
        if claim.manifest is None or claim.adapter_version != adapter.version:
            # Planned before manifests, or fingerprinted by another version of the adapter
            # than this worker runs (a deploy in progress): every record is read.
            return _Started(claim, adapter)
        lines = manifests.decode(claim.manifest)
        existing = _stored(session, claim, [line.source_id for line in lines if line.source_id is not None])
        settled, unread = triage(lines, existing)
        if not unread:
            return apply_batch(session, job_id=job_id, seq=seq, claim=claim, decision=settled, claimed=True)
        return _Started(claim, adapter, lines, settled, unread, _items_blob(session, job_id=job_id, seq=seq), existing)

    try:
        # A deadlock rolls the claim back too, so the whole transaction runs again.
        return retrying_deadlocks(sessions, claim_and_settle, what=f"batch {seq}")
    except _Abandoned:
        raise
    except BaseException:  # Dramatiq's time limit and shutdown interrupts are BaseExceptions
        if claim is not None:
            _count_attempt(sessions, job_id=job_id, seq=seq)
        raise


def _count_attempt(sessions: sessionmaker[Session], *, job_id: UUID, seq: int) -> None:
    try:
        with transaction(sessions) as session:
            session.execute(update(JobBatch).where(JobBatch.job_id == job_id, JobBatch.seq == seq).values(attempts=JobBatch.attempts + 1))
    except Exception as error:  # noqa: BLE001 - most likely the very error being raised
        log.warning("could not count the failed attempt of batch %s: %s", seq, error, extra={"batch": seq})


def _decide_reading_all(
    sessions: sessionmaker[Session], *, job_id: UUID, seq: int, claim: Claim, adapter: Adapter, limits: RecordLimits
) -> Decision:
    """Planned before manifests, or fingerprinted by another version of the adapter than
    this worker runs (a deploy in progress): every record is read, none is fingerprinted."""
    with transaction(sessions) as session:
        blob = _items_blob(session, job_id=job_id, seq=seq)
    items, locations = record_sources.resolve(_reader(sessions), batch_records.decode(blob))
    identified = identify_all(adapter, items)
    with transaction(sessions) as session:
        existing = _stored(session, claim, [i.identity.source_id for i in identified if i.identity is not None])
    decision = decide(adapter, claim.options, identified, existing, limits)
    decision.locations.update(locations)
    return decision


def _decide_unread(sessions: sessionmaker[Session], started: _Started, limits: RecordLimits) -> Decision:
    """The records the manifest left undecided, read from the batch and added to its decision."""
    adapter, existing = started.adapter, started.existing
    # References among them: records stored by an earlier job whose entries changed since planning.
    items, locations = record_sources.resolve(_reader(sessions), batch_records.decode(started.blob, started.unread))
    started.settled.locations.update(locations)  # type: ignore[union-attr]
    identified = identify_all(adapter, items)
    # Ids the API could not tell but this worker can: look them up too.
    missing = [i.identity.source_id for i in identified if i.identity is not None and i.identity.source_id not in existing]
    if missing:
        with transaction(sessions) as session:
            existing.update(_stored(session, started.claim, missing))
    fingerprints = {line.seq: line.fingerprint for line in started.lines or []}
    return decide(adapter, started.claim.options, identified, existing, limits, fingerprints=fingerprints, into=started.settled)


def _stored(session: Session, claim: Claim, source_ids: list[str]) -> dict[str, Stored]:
    return entry_writes.stored_hashes(session, knowledge_base_id=claim.knowledge_base_id, source_ids=source_ids)


def _reader(sessions: sessionmaker[Session]) -> batch_records.Load:
    return record_sources.reader(sessions.kw["bind"])


def _items_blob(session: Session, *, job_id: UUID, seq: int) -> bytes:
    blob = batch_contents.items(session, job_id=job_id, seq=seq)
    if blob is None:
        raise LookupError(f"batch {seq} of job {job_id} is not stored")
    return blob


def claim_batch(session: Session, *, job_id: UUID, seq: int, max_attempts: int | None = None) -> Claim | None:
    """Start the job if it is pending and count an attempt; None when there is nothing to do.

    The attempt is counted before the batch's records are decoded (run_batch commits it
    first), so a batch that kills its worker process still leaves a trace; once
    `max_attempts` are used up its job fails instead of crashing workers for ever. The
    count is an UPDATE of a batch not done, which also locks the batch's row until the
    transaction ends: when the batch is applied in that transaction, a second worker
    claiming it meanwhile waits, then finds it done (otherwise the claim commits at once,
    and apply_batch checks `done` again under its own lock).
    """
    connection = session.connection()
    row = connection.execute(_CLAIMED, {"b_job_id": job_id, "b_seq": seq}).first()
    if row is None or row.status not in ACTIVE_STATUSES or row.done:
        return None
    if max_attempts is not None and row.attempts >= max_attempts:
        fail_job(session, job_id=job_id, reason=out_of_attempts(seq, row.attempts))
        log.error("batch %s used up its %s attempts; job failed", seq, row.attempts, extra={"batch": seq})
        return None
    now = utcnow()
    attempts = connection.execute(_COUNT_ATTEMPT, {"b_job_id": job_id, "b_seq": seq, "b_now": now}).scalar_one_or_none()
    if attempts is None:
        return None
    if row.status == JobStatus.PENDING:
        connection.execute(_START_JOB, {"b_job_id": job_id, "b_now": now})
    return Claim(
        workspace_id=row.workspace_id,
        knowledge_base_id=row.knowledge_base_id,
        adapter_type=row.adapter_type,
        adapter_version=row.adapter_version,
        options=row.options,
        manifest=row.manifest,
        attempts=attempts,
    )


def out_of_attempts(seq: int, attempts: int) -> str:
    """Why a job failed when one of its batches was started too often without finishing.

    A batch that raised is reported as it happens (workers/middleware.py), so a batch
    that gets here ended its last attempt silently: its worker process died.
    """
    return (
        f"batch {seq} crashed its worker: started {attempts} times, it never finished "
        "(the worker process died while applying it: out of memory or a crash)"
    )


def apply_batch(session: Session, *, job_id: UUID, seq: int, claim: Claim, decision: Decision, claimed: bool = False) -> str:
    """`claimed`: this transaction claimed the batch, so it holds the row locked and not done."""
    connection = session.connection()
    this_batch = {"b_job_id": job_id, "b_seq": seq}
    if not claimed:
        done = connection.execute(_DONE_FOR_UPDATE, this_batch).scalar_one_or_none()
        if done is None or done:
            raise _Abandoned("already applied")
    outcomes = decision.outcomes + batch_writes.write(
        session, job_id=job_id, seq=seq, workspace_id=claim.workspace_id, knowledge_base_id=claim.knowledge_base_id, decision=decision
    )
    results.record(session, job_id=job_id, outcomes=outcomes)
    counts = Counter(o.status for o in outcomes) + Counter(o.action for o in outcomes if o.status == SUCCESS)
    tally = {
        "b_processed": len(outcomes),
        "b_successful": counts[SUCCESS],
        "b_failed": counts[FAILED],
        "b_skipped": counts[SKIPPED],
        "b_created": counts[CREATED],
        "b_updated": counts[UPDATED],
        "b_deleted": counts[DELETED],
    }
    now = utcnow()
    progress = connection.execute(_PROGRESS, {"b_job_id": job_id, "b_now": now, **tally}).first()
    if progress is None:
        raise _Abandoned("job is no longer processing")
    connection.execute(_MARK_DONE, this_batch)
    if progress.batches_done >= progress.batch_count:
        connection.execute(_COMPLETE_JOB, {"b_job_id": job_id, "b_now": now})
        return "applied; job completed"
    return "applied"


def fail_job(session: Session, *, job_id: UUID, reason: str) -> bool:
    now = utcnow()
    failed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(ACTIVE_STATUSES))
        .values(status=JobStatus.FAILED, error=reason, completed_at=now, updated_at=now)
        .returning(Job.id)
    ).first()
    return failed is not None
