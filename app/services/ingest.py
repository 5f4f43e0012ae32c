"""Deciding what each record of a batch does: the pure, database-free half of ingestion.

Given what is stored for the batch's source ids (entry id, content hash, source hash),
every record becomes exactly one of: a failure, a skip, a write (create or update) or a
delete. `triage` settles what the batch's manifest alone can tell (superseded records,
deletions, records whose raw input is exactly what an entry was written from) and names
the records that must be read; `decide` settles those. Only records whose content hash
changed pay for `normalize`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from uuid import UUID

from adapters.base import Adapter, Identity, Record, RecordError
from app.services.batch_records import Location
from app.services.hashing import content_hash
from app.services.manifests import Line
from app.services.record_checks import RecordLimits, check_record

log = logging.getLogger(__name__)

SUCCESS, FAILED, SKIPPED = "success", "failed", "skipped"
CREATED, UPDATED, DELETED, UNCHANGED = "created", "updated", "deleted", "unchanged"
INTERNAL_ERROR = "internal error while processing this record"


class Stored(NamedTuple):
    """What a batch reads of an existing entry."""

    entry_id: UUID
    content_hash: str
    source_hash: str | None
    # The fingerprint of the stored record the entry locates (app/services/record_sources.py).
    record_hash: str | None = None


@dataclass(slots=True, kw_only=True)
class Outcome:
    seq: int
    source_id: str | None
    status: str
    action: str | None = None
    entry_id: UUID | None = None
    error: str | None = None
    detail: str | None = None


@dataclass(slots=True, kw_only=True)
class Write:
    seq: int
    record: Record
    content_hash: str
    source_hash: str | None = None
    # Where the raw record behind `source_hash` is stored (app/services/record_sources.py).
    location: Location | None = None
    # No entry had this source id when the batch looked: a batch of such writes only is
    # COPYed in on PostgreSQL (app/services/postgres_writes.py), upserted if one appeared since.
    new: bool = False
    # The normalized record's hash, set when `content_hash` is the adapter's own
    # fingerprint of the raw item (content-hub's raw HTML) and an entry exists: the raw
    # item changed, but if the entry it converts to is the stored one, nothing is written
    # (app/services/batch_writes.py), as the content hash of the normalized record would say.
    entry_hash: str | None = None


@dataclass(slots=True, kw_only=True)
class Delete:
    seq: int
    source_id: str


class Refresh(NamedTuple):
    """Store `source_hash` on an entry, provided it still holds `content_hash` (another
    job may have written other content since it was read)."""

    entry_id: UUID
    content_hash: str
    source_hash: str
    seq: int | None = None
    location: Location | None = None
    # The entry's source id: refreshes lock their rows in its order, as upserts and deletes do
    # (app/services/entry_writes.py).
    source_id: str | None = None


# Where an entry's raw record is stored, and its fingerprint: all four set, or all four NULL.
RECORD_COLUMNS = ("record_hash", "record_job_id", "record_batch", "record_seq")


def record_columns(fingerprint: str | None, location: Location | None) -> tuple[Any, ...]:
    """RECORD_COLUMNS' values for a record written or refreshed from `location`."""
    if fingerprint is None or location is None:
        return (None, None, None, None)
    return (fingerprint, location.job_id, location.batch, location.seq)


@dataclass(slots=True)
class Decision:
    outcomes: list[Outcome] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    deletes: list[Delete] = field(default_factory=list)
    # Records found unchanged by content but not by source hash: storing the fingerprint
    # lets the next re-run skip them without reading them.
    refreshes: list[Refresh] = field(default_factory=list)
    # seq → where a record this batch refers to was read from (app/services/record_sources.py).
    locations: dict[int, Location] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class Identified:
    seq: int
    raw: Any
    identity: Identity | None
    superseded: bool
    error: str | None = None
    # The id of a record that failed to be identified, when the adapter read it first.
    failed_source_id: str | None = None


def identify_all(adapter: Adapter, items: list[tuple[int, bool, Any]]) -> list[Identified]:
    identified = []
    for seq, superseded, raw in items:
        try:
            identity = adapter.identify(raw)
            if "\x00" in identity.source_id:
                raise RecordError("id must not contain NUL characters")
            identified.append(Identified(seq=seq, raw=raw, identity=identity, superseded=superseded))
        except RecordError as error:
            # The id is shown only if it could be stored (no NUL), as a usable id is.
            read = getattr(error, "source_id", None)
            shown = read if read and "\x00" not in read else None
            identified.append(Identified(seq=seq, raw=raw, identity=None, superseded=False, error=str(error), failed_source_id=shown))
        except Exception:
            log.exception("adapter %s failed to identify record %s", adapter.name, seq)
            identified.append(Identified(seq=seq, raw=raw, identity=None, superseded=False, error=INTERNAL_ERROR))
    return identified


def triage(lines: list[Line], existing: Mapping[str, Stored]) -> tuple[Decision, set[int]]:
    """Decide every record the manifest settles; return the seqs of those still to read."""
    decision = Decision()
    unread: set[int] = set()
    for line in lines:
        source_id = line.source_id
        stored = existing.get(source_id) if source_id is not None else None
        if source_id is None:
            unread.add(line.seq)
        elif line.superseded:
            decision.outcomes.append(_skip(line.seq, source_id, existing, "superseded by a later record with the same id in this job"))
        elif line.deleted:
            if stored is not None:
                decision.deletes.append(Delete(seq=line.seq, source_id=source_id))
            else:
                decision.outcomes.append(_skip(line.seq, source_id, existing, "no entry with this id to delete"))
        elif stored is not None and stored.source_hash == line.fingerprint:
            decision.outcomes.append(_skip(line.seq, source_id, existing, "content unchanged"))
            if stored.record_hash != line.fingerprint and not line.referred:
                # Entries written before they located their records (or whose fingerprint
                # another release's worker set): this batch's own line holds the record.
                decision.refreshes.append(Refresh(stored.entry_id, stored.content_hash, line.fingerprint, line.seq, source_id=source_id))
        else:
            unread.add(line.seq)
    return decision, unread


def decide(
    adapter: Adapter,
    options: Mapping[str, Any],
    records: list[Identified],
    existing: Mapping[str, Stored],
    limits: RecordLimits,
    *,
    fingerprints: Mapping[int, str] | None = None,
    into: Decision | None = None,
) -> Decision:
    """`fingerprints` (seq → manifest fingerprint) become the written entries' source
    hashes; without them (batches planned before manifests) none is stored."""
    decision = into if into is not None else Decision()
    fingerprints = fingerprints or {}
    for item in records:
        if item.identity is None:
            decision.outcomes.append(Outcome(seq=item.seq, source_id=item.failed_source_id, status=FAILED, error=item.error))
            continue
        source_id = item.identity.source_id
        if item.superseded:
            decision.outcomes.append(_skip(item.seq, source_id, existing, "superseded by a later record with the same id in this job"))
        elif item.identity.deleted:
            if source_id in existing:
                decision.deletes.append(Delete(seq=item.seq, source_id=source_id))
            else:
                decision.outcomes.append(_skip(item.seq, source_id, existing, "no entry with this id to delete"))
        else:
            _decide_write(adapter, options, item, existing, limits, decision, fingerprints.get(item.seq))
    return decision


def _decide_write(
    adapter: Adapter,
    options: Mapping[str, Any],
    item: Identified,
    existing: Mapping[str, Stored],
    limits: RecordLimits,
    decision: Decision,
    source_hash: str | None,
) -> None:
    source_id = item.identity.source_id  # type: ignore[union-attr]
    try:
        digest, record = _fingerprint(adapter, item.raw, options)
        stored = existing.get(source_id)
        if stored is not None and stored.content_hash == digest:
            decision.outcomes.append(_skip(item.seq, source_id, existing, "content unchanged"))
            if source_hash is not None and stored.source_hash != source_hash:
                decision.refreshes.append(Refresh(stored.entry_id, stored.content_hash, source_hash, item.seq, source_id=source_id))
            return
        entry_hash = None
        if record is None:
            record = adapter.normalize(item.raw, options)
            entry_hash = content_hash(record.as_dict()) if stored is not None else None
        check_record(record, limits)
    except RecordError as error:
        decision.outcomes.append(Outcome(seq=item.seq, source_id=source_id, status=FAILED, error=str(error)))
        return
    except Exception:
        log.exception("adapter %s failed on record %s (%s)", adapter.name, item.seq, source_id)
        decision.outcomes.append(Outcome(seq=item.seq, source_id=source_id, status=FAILED, error=INTERNAL_ERROR))
        return
    decision.writes.append(
        Write(seq=item.seq, record=record, content_hash=digest, source_hash=source_hash, new=stored is None, entry_hash=entry_hash)
    )


def _fingerprint(adapter: Adapter, raw: Any, options: Mapping[str, Any]) -> tuple[str, Record | None]:
    """The content hash, and the normalized record when hashing already made it.

    The default fingerprint is the normalized record itself, so a new or changed record
    is normalized once, not twice (about 7% of a worker's CPU on a first load).
    """
    if type(adapter).fingerprint is Adapter.fingerprint:
        record = adapter.normalize(raw, options)
        return content_hash(record.as_dict()), record
    return content_hash(adapter.fingerprint(raw, options)), None


def _skip(seq: int, source_id: str, existing: Mapping[str, Stored], detail: str) -> Outcome:
    stored = existing.get(source_id)
    return Outcome(
        seq=seq, source_id=source_id, status=SKIPPED, action=UNCHANGED, entry_id=stored.entry_id if stored else None, detail=detail
    )
