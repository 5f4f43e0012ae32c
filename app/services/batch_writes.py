"""Applying a batch's decision to its knowledge base's entries, in the batch's transaction.

Upserts, deletes and fingerprint refreshes, each one statement locking its rows in source
id order (a pass locking them all first when there are several); content-hub documents
whose conversion comes out as their stored entry are kept as they are. Returns each
record's outcome, the entry it names included.
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
)


def write(session: Session, *, job_id: UUID, seq: int, workspace_id: UUID, knowledge_base_id: UUID, decision: Decision) -> list[Outcome]:
    """Apply a batch's writes, deletes and refreshes; the outcome of each."""
    _locate(decision, job_id=job_id, seq=seq)
    _lock_first(session, knowledge_base_id, decision)
    kept = _drop_converted_alike(session, knowledge_base_id, decision)
    # Sorted so that concurrent jobs on one knowledge base lock entry rows in the same order.
    writes = sorted(decision.writes, key=lambda w: w.record.source_id)
    written = entry_writes.upsert(
        session, workspace_id=workspace_id, knowledge_base_id=knowledge_base_id, job_id=job_id, writes=writes
    )
    removed = entry_writes.remove(session, knowledge_base_id=knowledge_base_id, deletes=decision.deletes)
    entry_writes.refresh_source_hashes(session, refreshes=decision.refreshes)
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
    outcomes += kept
    for d in decision.deletes:
        if d.source_id in removed:
            outcomes.append(Outcome(seq=d.seq, source_id=d.source_id, status=SUCCESS, action=DELETED, entry_id=removed[d.source_id]))
        else:
            outcomes.append(Outcome(seq=d.seq, source_id=d.source_id, status=SKIPPED, action=UNCHANGED, detail="no entry with this id to delete"))
    return outcomes


def _lock_first(session: Session, knowledge_base_id: UUID, decision: Decision) -> None:
    """Lock, in one pass in source id order, the entries a batch would otherwise lock in
    several statements (upsert, delete, refresh), or compare before writing.

    Each statement locks its own rows in source id order, but two statements make two
    passes, which another batch's can cross: A upserts s1, B upserts s2, then A's
    refresh waits for s2 and B's for s1, a deadlock. And an entry compared with a
    converted document (`_drop_converted_alike`) must not change before this
    transaction ends, or a job applied later would lose its update to one found alike.
    A batch of one kind of write (a first load's, an unchanged re-run's) needs no pass."""
    several_statements = sum(map(bool, (decision.writes, decision.deletes, decision.refreshes))) > 1
    # A refresh alone still needs it: its UPDATE … FROM locks rows in whatever order its plan reads them.
    compared = any(w.entry_hash is not None for w in decision.writes)
    if not (several_statements or decision.refreshes or compared):
        return
    source_ids = [w.record.source_id for w in decision.writes] + [d.source_id for d in decision.deletes]
    source_ids += [r.source_id for r in decision.refreshes if r.source_id is not None]
    entry_writes.lock(session, knowledge_base_id=knowledge_base_id, source_ids=source_ids)


def _drop_converted_alike(session: Session, knowledge_base_id: UUID, decision: Decision) -> list[Outcome]:
    """Skip the updates whose raw item changed but whose entry comes out as stored.

    An adapter that hashes its raw items (content-hub: the HTML, before converting it)
    sees a changed item whenever the export does, also when the change converts to
    nothing (markup, whitespace, attribute order): written, such an entry took version
    + 1 and was reported updated with the same content. The stored entry is compared as
    a normalized record, in the transaction that would write it, and kept; its source
    hash is refreshed, so the same raw item is skipped unread next time. The entries
    are locked (`_lock_first`) before they are read."""
    candidates = {w.record.source_id: w for w in decision.writes if w.entry_hash is not None}
    if not candidates:
        return []
    stored = entry_writes.stored_entries(session, knowledge_base_id=knowledge_base_id, source_ids=candidates)
    kept, alike = [], set()
    for source_id, (entry_id, stored_hash, entry) in stored.items():
        write = candidates[source_id]
        if content_hash(entry.as_dict()) != write.entry_hash:
            continue
        alike.add(source_id)
        kept.append(Outcome(seq=write.seq, source_id=source_id, status=SKIPPED, action=UNCHANGED, entry_id=entry_id, detail="content unchanged"))
        if write.source_hash is not None:
            decision.refreshes.append(Refresh(entry_id, stored_hash, write.source_hash, write.seq, write.location, source_id))
    decision.writes = [w for w in decision.writes if w.record.source_id not in alike]
    return kept


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
    line, or the line of an earlier job it refers to (never a reference: app/services/batch_records.py)."""
    for w in decision.writes:
        if w.source_hash is not None:
            w.location = decision.locations.get(w.seq) or Location(job_id, seq, w.seq)
    decision.refreshes = [
        r._replace(location=decision.locations.get(r.seq) or Location(job_id, seq, r.seq)) if r.seq is not None else r
        for r in decision.refreshes
    ]
