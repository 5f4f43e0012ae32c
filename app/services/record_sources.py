"""Records stored once: where a record already stored lives, and reading it back from there.

The API plans a record whose exact raw JSON the knowledge base already stores (its
entry's `record_hash` is the record's fingerprint, app/services/manifests.py) as a
reference to the line it is stored in (`Entry.record_job_id`, `record_batch`,
`record_seq`), rather than compressing and writing its bytes again: on a nightly export
with one record in ten changed, that was most of the API's CPU and of the bytes
PostgreSQL wrote. A worker usually skips such a record unread, as its manifest settles
it; it reads it from the batch referred to when the entry changed after planning, or
when it reads the whole batch (another adapter version), and `includePayload` reads it
from there too. `job_record_sources` keeps every batch referred to while a job refers to it.

Whoever reads references reads each batch referred to once per referring batch, one at a
time: after many nightly runs a batch's unchanged records are spread over the batches of
every night that last changed them, so reading them back costs a batch read per such
night, while planning and processing the run never read them at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from sqlalchemy import Connection, Engine, insert, literal, select, tuple_
from sqlalchemy.orm import Session

from app.db import reading
from app.models import Entry, JobBatch, JobRecordSource
from app.services import batch_contents, batch_records, postgres_writes
from app.services.batch_records import Load, Location, Reference

ENTRIES = Entry.__table__
SOURCES = JobRecordSource.__table__
# Bound parameters per statement stay well under SQLite's limit (32,766).
_IDS_PER_STATEMENT = 1000


class Known(NamedTuple):
    """A stored record: its fingerprint, and where it is."""

    fingerprint: str
    location: Location


def known(connection: Connection, *, knowledge_base_id: UUID, source_ids: list[str]) -> dict[str, Known]:
    """source id → Known, for the entries among `source_ids` that say where a raw record
    they were written from is stored, and whose batch is there."""
    if not source_ids:
        return {}
    if connection.dialect.name == "postgresql":
        rows: Iterable[Any] = postgres_writes.record_locations(connection, knowledge_base_id=knowledge_base_id, source_ids=source_ids)
    else:
        rows = []
        columns = (ENTRIES.c.source_id, ENTRIES.c.record_hash, ENTRIES.c.record_job_id, ENTRIES.c.record_batch, ENTRIES.c.record_seq)
        for start in range(0, len(source_ids), _IDS_PER_STATEMENT):
            chunk = source_ids[start : start + _IDS_PER_STATEMENT]
            where = (
                ENTRIES.c.knowledge_base_id == knowledge_base_id,
                ENTRIES.c.source_id.in_(chunk),
                ENTRIES.c.record_hash.is_not(None),
                ENTRIES.c.record_job_id.is_not(None),
            )
            rows += connection.execute(select(*columns).where(*where)).all()
    found = {source_id: Known(fingerprint, Location(job_id, batch, seq)) for source_id, fingerprint, job_id, batch, seq in rows}
    return _in_stored_batches(connection, found)


def _in_stored_batches(connection: Connection, found: dict[str, Known]) -> dict[str, Known]:
    """Only records whose batch is still there: nothing deletes batches, but one deleted by
    hand must have its records stored again, not fail the submission."""
    batches = sorted({(k.location.job_id, k.location.batch) for k in found.values()})
    present: set[tuple[UUID, int]] = set()
    pairs = _IDS_PER_STATEMENT // 2  # two bound parameters each
    for start in range(0, len(batches), pairs):
        chunk = batches[start : start + pairs]
        rows = connection.execute(select(JobBatch.job_id, JobBatch.seq).where(tuple_(JobBatch.job_id, JobBatch.seq).in_(chunk)))
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


def stored_batch(connection: Session | Connection, job_id: UUID, batch: int) -> bytes:
    """The stored records of a batch referred to (LookupError if it is not there)."""
    blob = batch_contents.items(connection, job_id=job_id, seq=batch)
    if blob is None:
        raise LookupError(f"batch {batch} of job {job_id} is referred to but not stored")
    return blob


def reader(engine: Engine) -> Load:
    """Reads a batch referred to on a connection of its own, taken for that read only (no
    write lock on SQLite): `includePayload` sends the payload holding none, and a worker
    decodes records outside its transactions."""

    def load(job_id: UUID, batch: int) -> bytes:
        with reading(engine) as connection:
            return stored_batch(connection, job_id, batch)

    return load


def resolve(load: Load, items: list[tuple[int, bool, Any]]) -> tuple[list[tuple[int, bool, Any]], dict[int, Location]]:
    """`items` (batch_records.decode) with every Reference replaced by the record it refers
    to, parsed, and seq → location of those records, whose entries are then written with it."""
    wanted = [raw.location for _seq, _superseded, raw in items if isinstance(raw, Reference)]
    if not wanted:
        return items, {}
    found = batch_records.referred(wanted, load)
    resolved, locations = [], {}
    for seq, superseded, raw in items:
        if isinstance(raw, Reference):
            resolved.append((seq, superseded, orjson.loads(found[raw.location])))
            locations[seq] = raw.location
        else:
            resolved.append((seq, superseded, raw))
    return resolved, locations
