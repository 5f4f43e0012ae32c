"""Applying a batch's decision to its knowledge base's entries, in the batch's transaction.

Upserts, deletes and fingerprint refreshes, each one statement locking its rows in source
id order; content-hub documents whose conversion comes out as their stored entry are kept
as they are. Returns each record's outcome, the entry it names included.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.orm import Session

from app.services import entry_writes
from app.services.batch_records import Location
from app.services.hashing import content_hash
from app.services.ingest import (
    CREATED,
    DELETED,
    SKIPPED,
    SUCCESS,
    UNCHANGED,
    UPDATED,
    Decision,
    Outcome,
    Refresh,
    Write,
)


def write(session: Session, *, job_id: UUID, seq: int, workspace_id: UUID, knowledge_base_id: UUID, decision: Decision) -> list[Outcome]:
    """Apply a batch's writes, deletes and refreshes; the outcome of each. What it changes
    of `decision` (where records are stored) comes out the same every time, so that a
    transaction rolled back (a deadlock) can apply it again."""
    _locate(decision, job_id=job_id, seq=seq)
    writes, alike, refreshes = _drop_converted_alike(session, knowledge_base_id, decision.writes, decision.refreshes)
    # Sorted so that concurrent jobs on one knowledge base lock entry rows in the same order.
    writes.sort(key=lambda w: w.record.source_id)
    written = entry_writes.upsert(
        session, workspace_id=workspace_id, knowledge_base_id=knowledge_base_id, job_id=job_id, writes=writes
    )
    removed = entry_writes.remove(session, knowledge_base_id=knowledge_base_id, deletes=decision.deletes)
    entry_writes.refresh_source_hashes(session, refreshes=refreshes)
    unwritten = _entries_written_meanwhile(session, knowledge_base_id, [w.record.source_id for w in writes if w.record.source_id not in written])
    outcomes = []
    for w in writes:
        source_id = w.record.source_id
        if source_id in written:
            entry_id, version = written[source_id]
            outcomes.append(Outcome(seq=w.seq, source_id=source_id, status=SUCCESS, action=CREATED if version == 1 else UPDATED, entry_id=entry_id))
        else:
            entry_id = unwritten.get(source_id)
            outcomes.append(Outcome(seq=w.seq, source_id=source_id, status=SKIPPED, action=UNCHANGED, entry_id=entry_id, detail="content unchanged"))
    outcomes += alike
    for d in decision.deletes:
        if d.source_id in removed:
            outcomes.append(Outcome(seq=d.seq, source_id=d.source_id, status=SUCCESS, action=DELETED, entry_id=removed[d.source_id]))
        else:
            outcomes.append(Outcome(seq=d.seq, source_id=d.source_id, status=SKIPPED, action=UNCHANGED, detail="no entry with this id to delete"))
    return outcomes


def _drop_converted_alike(
    session: Session, knowledge_base_id: UUID, writes: list[Write], refreshes: list[Refresh]
) -> tuple[list[Write], list[Outcome], list[Refresh]]:
    """The writes left once the updates whose raw item changed but whose entry comes out
    as stored are dropped; the outcomes of those; the refreshes with theirs added.

    An adapter that hashes its raw items (content-hub: the HTML, before converting it)
    sees a changed item whenever the export does, also when the change converts to
    nothing (markup, whitespace, attribute order): written, such an entry took version
    + 1 and was reported updated with the same content. The stored entry is compared as
    a normalized record and kept; its source hash is refreshed, so the same raw item is
    skipped unread next time. As for any skipped record, the entry is compared as this
    batch reads it: a job changing it meanwhile is applied after this one, and the
    refresh, guarded by the content hash read, then leaves it alone."""
    candidates = {w.record.source_id: w for w in writes if w.entry_hash is not None}
    if not candidates:
        return list(writes), [], refreshes
    stored = entry_writes.stored_entries(session, knowledge_base_id=knowledge_base_id, source_ids=candidates)
    alike: list[Outcome] = []
    refreshes = list(refreshes)
    for source_id, (entry_id, stored_hash, entry) in stored.items():
        write = candidates[source_id]
        if content_hash(entry.as_dict()) != write.entry_hash:
            continue
        alike.append(Outcome(seq=write.seq, source_id=source_id, status=SKIPPED, action=UNCHANGED, entry_id=entry_id, detail="content unchanged"))
        if write.source_hash is not None:
            refreshes.append(Refresh(entry_id, stored_hash, write.source_hash, write.seq, write.location, source_id))
    kept_ids = {o.source_id for o in alike}
    return [w for w in writes if w.record.source_id not in kept_ids], alike, refreshes


def _entries_written_meanwhile(session: Session, knowledge_base_id: UUID, source_ids: list[str]) -> dict[str, UUID]:
    """The entries of writes the upsert's hash guard skipped: another job stored the same
    content after this batch looked (two identical jobs at once), so the entry may be
    newer than what the batch read. Their results name it, as any skipped record's does."""
    if not source_ids:
        return {}
    found = entry_writes.stored_hashes(session, knowledge_base_id=knowledge_base_id, source_ids=source_ids)
    return {source_id: stored.entry_id for source_id, stored in found.items()}


def _locate(decision: Decision, *, job_id: UUID, seq: int) -> None:
    """Where each fingerprinted record written or refreshed is stored: this batch's own
    line, or the line of an earlier job it refers to (never a reference:
    app/services/batch_records.py). Set in place, the same each time it is applied."""
    for w in decision.writes:
        if w.source_hash is not None:
            w.location = decision.locations.get(w.seq) or Location(job_id, seq, w.seq)
    decision.refreshes = [
        r._replace(location=decision.locations.get(r.seq) or Location(job_id, seq, r.seq)) if r.seq is not None else r
        for r in decision.refreshes
    ]
