"""Records stored once: where a record already stored lives, and reading it back from there.

The API plans a record the knowledge base holds unchanged (its entry's `source_hash` is
the record's fingerprint, app/services/manifests.py) as a reference to the line the entry
was written from (`Entry.record_job_id`, `record_batch`, `record_seq`), rather than
compressing and writing its bytes again: on a nightly export with one record in ten
changed, that was most of the API's CPU and of the bytes PostgreSQL wrote. The worker
usually skips such a record unread, as the manifest settles it; it reads it from the
batch referred to only when the entry changed after planning. `job_record_sources` keeps
every batch referred to while a job refers to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from sqlalchemy import Connection, Engine, insert, literal, select, tuple_
from sqlalchemy.orm import Session

from app.db import reading
from app.models import Entry, JobBatch, JobRecordSource
from app.services import batch_contents, batch_records, postgres_writes
from app.services.batch_records import Location, Reference

ENTRIES = Entry.__table__
SOURCES = JobRecordSource.__table__
# Stays under SQLite's bound-parameter limit per statement.
_IDS_PER_STATEMENT = 1000


class Known(NamedTuple):
    """A stored record: the fingerprint of the raw record an entry holds, and where that record is."""

    fingerprint: str
    location: Location


def known(session: Session, *, knowledge_base_id: UUID, source_ids: list[str]) -> dict[str, Known]:
    """source id → Known, for the entries among `source_ids` whose raw record is stored somewhere."""
    if not source_ids:
        return {}
    if postgres_writes.on_postgres(session):
        rows: Iterable[Any] = postgres_writes.record_locations(session, knowledge_base_id=knowledge_base_id, source_ids=source_ids)
    else:
        rows = []
        columns = (ENTRIES.c.source_id, ENTRIES.c.source_hash, ENTRIES.c.record_job_id, ENTRIES.c.record_batch, ENTRIES.c.record_seq)
        for start in range(0, len(source_ids), _IDS_PER_STATEMENT):
            rows += session.execute(
                select(*columns).where(
                    ENTRIES.c.knowledge_base_id == knowledge_base_id,
                    ENTRIES.c.source_id.in_(source_ids[start : start + _IDS_PER_STATEMENT]),
                    ENTRIES.c.record_job_id.is_not(None),
                    ENTRIES.c.source_hash.is_not(None),
                )
            ).all()
    found = {source_id: Known(fingerprint, Location(job_id, batch, seq)) for source_id, fingerprint, job_id, batch, seq in rows}
    return _in_stored_batches(session, found)


def _in_stored_batches(session: Session, found: dict[str, Known]) -> dict[str, Known]:
    """Only records whose batch is still there: nothing deletes batches, but one deleted by
    hand must make its records be stored again, not fail the submission."""
    batches = sorted({(k.location.job_id, k.location.batch) for k in found.values()})
    present: set[tuple[UUID, int]] = set()
    for start in range(0, len(batches), _IDS_PER_STATEMENT):
        chunk = batches[start : start + _IDS_PER_STATEMENT]
        rows = session.execute(select(JobBatch.job_id, JobBatch.seq).where(tuple_(JobBatch.job_id, JobBatch.seq).in_(chunk)))
        present.update((job_id, seq) for job_id, seq in rows)
    return {source_id: k for source_id, k in found.items() if (k.location.job_id, k.location.batch) in present}


def remember(session: Session, *, job_id: UUID, batches: Iterable[tuple[UUID, int]]) -> None:
    """Keep the batches (job id, seq) the job's batches refer to."""
    rows = [{"job_id": job_id, "source_job_id": source_job_id, "source_batch": batch} for source_job_id, batch in sorted(set(batches))]
    if rows:
        session.execute(insert(SOURCES), rows)


def copy(session: Session, *, earlier_job_id: UUID, job_id: UUID) -> None:
    """A copy of an earlier job's batches refers to what that job's batches do."""
    rows = select(literal(job_id, SOURCES.c.job_id.type), SOURCES.c.source_job_id, SOURCES.c.source_batch).where(
        SOURCES.c.job_id == earlier_job_id
    )
    session.execute(insert(SOURCES).from_select(["job_id", "source_job_id", "source_batch"], rows))


def referred_batch(connection: Session | Connection, job_id: UUID, batch: int) -> bytes:
    """The stored records of a batch referred to (LookupError if it is not there)."""
    statement = batch_contents.with_origin(select(batch_contents.ITEMS)).where(JobBatch.job_id == job_id, JobBatch.seq == batch)
    blob = connection.execute(statement).scalar_one_or_none()
    if blob is None:
        raise LookupError(f"batch {batch} of job {job_id} is referred to but not stored")
    return blob


def reader(engine: Engine) -> Callable[[UUID, int], bytes]:
    """Reads a batch referred to on a connection of its own, taken for that read only:
    `includePayload` sends the payload holding none."""

    def load(job_id: UUID, batch: int) -> bytes:
        with reading(engine) as connection:
            return referred_batch(connection, job_id, batch)

    return load


class Fetcher:
    """The batches referred to, each read, decompressed and split once, for `raw_records`.

    `load(job_id, batch)` gives a batch's stored blob. Only the last `keep` batches read
    stay decoded, which bounds the memory whatever a job refers to; references mostly
    point into one or two earlier batches at a time, in order."""

    def __init__(self, load: Callable[[UUID, int], bytes], keep: int = 4) -> None:
        self._load = load
        self._keep = keep
        self._decoded: dict[tuple[UUID, int], dict[int, bytes]] = {}

    def __call__(self, location: Location) -> batch_records.Records:
        key = (location.job_id, location.batch)
        records = self._decoded.pop(key, None)
        if records is None:
            records = batch_records.by_seq(self._load(*key))
            if len(self._decoded) >= self._keep:
                del self._decoded[next(iter(self._decoded))]
        self._decoded[key] = records
        return records


def resolve(session: Session, items: list[tuple[int, bool, Any]]) -> tuple[list[tuple[int, bool, Any]], dict[int, Location]]:
    """`items` (batch_records.decode) with every Reference replaced by the record it refers
    to, parsed, and seq → location of those records, whose entries are then written from there."""
    if not any(isinstance(raw, Reference) for _seq, _superseded, raw in items):
        return items, {}
    fetch = Fetcher(lambda job_id, batch: referred_batch(session, job_id, batch))
    resolved, locations = [], {}
    for seq, superseded, raw in items:
        if isinstance(raw, Reference):
            location = raw.location
            try:
                text = fetch(location)[location.seq]
            except KeyError:
                raise LookupError(f"record {location.seq} is not stored in full in batch {location.batch} of job {location.job_id}") from None
            resolved.append((seq, superseded, orjson.loads(text)))
            locations[seq] = location
        else:
            resolved.append((seq, superseded, raw))
    return resolved, locations
