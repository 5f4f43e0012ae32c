"""Bulk reads and writes of entries for one batch: one query to read, one statement per write kind.

PostgreSQL takes the array-parameter statements of `postgres_writes`; SQLite (the embedded
mode) the portable SQLAlchemy statements below, chunked under its bound-parameter limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID, uuid4

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from adapters.base import Record
from app.models import Entry
from app.services import postgres_writes
from app.services.batch_records import Location
from app.services.ingest import (
    RECORD_COLUMNS,
    Delete,
    Refresh,
    Stored,
    Write,
    record_columns,
)
from app.timestamps import utcnow

ENTRIES = Entry.__table__
# Stays under SQLite's 32,766 bound parameters per statement with room to spare.
ROWS_PER_STATEMENT = 1000


def _sqlite_upsert():  # type: ignore[no-untyped-def]
    stmt = sqlite.insert(ENTRIES)
    return stmt.on_conflict_do_update(
        index_elements=[ENTRIES.c.knowledge_base_id, ENTRIES.c.source_id],
        set_={
            **{name: stmt.excluded[name] for name in ("title", "content", "content_type", "metadata", "tags", "url")},
            "content_hash": stmt.excluded.content_hash,
            "source_hash": stmt.excluded.source_hash,
            "record_hash": stmt.excluded.record_hash,
            "record_job_id": stmt.excluded.record_job_id,
            "record_batch": stmt.excluded.record_batch,
            "record_seq": stmt.excluded.record_seq,
            "last_job_id": stmt.excluded.last_job_id,
            "updated_at": stmt.excluded.updated_at,
            "version": ENTRIES.c.version + 1,
        },
        where=ENTRIES.c.content_hash != stmt.excluded.content_hash,
    ).returning(ENTRIES.c.source_id, ENTRIES.c.id, ENTRIES.c.version)


_SQLITE_UPSERT = _sqlite_upsert()


def stored_hashes(session: Session, *, knowledge_base_id: UUID, source_ids: Iterable[str]) -> dict[str, Stored]:
    ids = list(set(source_ids))
    if postgres_writes.on_postgres(session):
        return postgres_writes.stored_hashes(session, knowledge_base_id=knowledge_base_id, source_ids=ids)
    found: dict[str, Stored] = {}
    for start in range(0, len(ids), ROWS_PER_STATEMENT):
        rows = session.execute(
            select(ENTRIES.c.source_id, ENTRIES.c.id, ENTRIES.c.content_hash, ENTRIES.c.source_hash, ENTRIES.c.record_hash).where(
                ENTRIES.c.knowledge_base_id == knowledge_base_id, ENTRIES.c.source_id.in_(ids[start : start + ROWS_PER_STATEMENT])
            )
        )
        found.update({source_id: Stored(*stored) for source_id, *stored in rows})
    return found


def stored_entries(session: Session, *, knowledge_base_id: UUID, source_ids: Iterable[str]) -> dict[str, tuple[UUID, str, Record]]:
    """source id → (entry id, content hash, the entry as a Record) for those that exist."""
    ids = list(set(source_ids))
    if postgres_writes.on_postgres(session):
        rows = postgres_writes.stored_entries(session, knowledge_base_id=knowledge_base_id, source_ids=ids)
    else:
        columns = [ENTRIES.c[name] for name in ("source_id", "id", "content_hash", *postgres_writes.ENTRY_FIELDS)]
        rows = []
        for start in range(0, len(ids), ROWS_PER_STATEMENT):
            chunk = ids[start : start + ROWS_PER_STATEMENT]
            rows += session.execute(select(*columns).where(ENTRIES.c.knowledge_base_id == knowledge_base_id, ENTRIES.c.source_id.in_(chunk)))
    found = {}
    for source_id, entry_id, stored_hash, *values in rows:
        fields = dict(zip(postgres_writes.ENTRY_FIELDS, values, strict=True))
        found[source_id] = (entry_id, stored_hash, Record(source_id=source_id, **fields))
    return found


def upsert(
    session: Session, *, workspace_id: UUID, knowledge_base_id: UUID, job_id: UUID, writes: list[Write]
) -> dict[str, tuple[UUID, int]]:
    """Insert new entries and update changed ones in place (version + 1).

    Returns source id → (entry id, version) for every row written. A row whose stored hash
    already equals ours (another job wrote the same content meanwhile) is not written and
    not returned.
    """
    if not writes:
        return {}
    now = utcnow()
    if postgres_writes.on_postgres(session):
        return postgres_writes.upsert(
            session, workspace_id=workspace_id, knowledge_base_id=knowledge_base_id, job_id=job_id, writes=writes, now=now
        )
    # One executemany: SQLAlchemy's "insertmanyvalues" sends multi-row INSERTs with
    # RETURNING, compiled once; building a VALUES statement per chunk compiled thousands of
    # bind parameters each time (430 against 76 µs per row on SQLite).
    rows = [_row(w, workspace_id, knowledge_base_id, job_id, now) for w in writes]
    return {source_id: (entry_id, version) for source_id, entry_id, version in session.execute(_SQLITE_UPSERT, rows)}


def refresh_source_hashes(session: Session, *, refreshes: list[Refresh]) -> None:
    """Store the fingerprints of entries a batch found unchanged by content only; nothing
    else of the entry (version, updated_at) changes, and an entry whose content another
    job changed meanwhile keeps its own. In source id order, as every batch's statements
    lock their rows (refreshes made without one, by entry id)."""
    if not refreshes:
        return
    refreshes = sorted(refreshes, key=lambda r: (r.source_id or "", str(r.entry_id)))
    if postgres_writes.on_postgres(session):
        postgres_writes.refresh_source_hashes(session, refreshes=refreshes)
        return
    statement = (
        update(ENTRIES)
        .where(ENTRIES.c.id == bindparam("entry_id"), ENTRIES.c.content_hash == bindparam("compared"))
        .values(
            source_hash=bindparam("fingerprint"),
            record_hash=bindparam("record_hash"),
            record_job_id=bindparam("record_job_id"),
            record_batch=bindparam("record_batch"),
            record_seq=bindparam("record_seq"),
        )
    )
    session.connection().execute(
        statement,
        [
            {"entry_id": r.entry_id, "compared": r.content_hash, "fingerprint": r.source_hash, **_stored_record(r.source_hash, r.location)}
            for r in refreshes
        ],
    )


def remove(session: Session, *, knowledge_base_id: UUID, deletes: list[Delete]) -> dict[str, UUID]:
    # In source id order, as upserts lock theirs, so two jobs on one knowledge base never
    # wait on each other's rows in opposite orders.
    ids = sorted({d.source_id for d in deletes})
    if not ids:
        return {}
    if postgres_writes.on_postgres(session):
        return postgres_writes.remove(session, knowledge_base_id=knowledge_base_id, source_ids=ids)
    removed: dict[str, UUID] = {}
    for start in range(0, len(ids), ROWS_PER_STATEMENT):
        rows = session.execute(
            delete(ENTRIES)
            .where(ENTRIES.c.knowledge_base_id == knowledge_base_id, ENTRIES.c.source_id.in_(ids[start : start + ROWS_PER_STATEMENT]))
            .returning(ENTRIES.c.source_id, ENTRIES.c.id)
        )
        removed.update({source_id: entry_id for source_id, entry_id in rows})
    return removed


def _row(write: Write, workspace_id: UUID, knowledge_base_id: UUID, job_id: UUID, now: object) -> dict[str, object]:
    record = write.record
    return {
        "id": uuid4(),
        "workspace_id": workspace_id,
        "knowledge_base_id": knowledge_base_id,
        "source_id": record.source_id,
        "title": record.title,
        "content": record.content,
        "content_type": record.content_type,
        "metadata": record.metadata,
        "tags": record.tags,
        "url": record.url,
        "content_hash": write.content_hash,
        "source_hash": write.source_hash,
        **_stored_record(write.source_hash, write.location),
        "version": 1,
        "last_job_id": job_id,
        "created_at": now,
        "updated_at": now,
    }


def _stored_record(fingerprint: str | None, location: Location | None) -> dict[str, object]:
    return dict(zip(RECORD_COLUMNS, record_columns(fingerprint, location), strict=True))
