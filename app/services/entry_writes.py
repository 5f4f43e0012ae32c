"""Bulk reads and writes of entries for one batch: one query to read, one statement per write kind."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID, uuid4

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import Entry
from app.services.ingest import Delete, Write
from app.timestamps import utcnow

ENTRIES = Entry.__table__
# Stays under SQLite's 32,766 bound parameters per statement with room to spare.
ROWS_PER_STATEMENT = 1000


def stored_hashes(session: Session, *, knowledge_base_id: UUID, source_ids: Iterable[str]) -> dict[str, tuple[UUID, str]]:
    ids = list(set(source_ids))
    found: dict[str, tuple[UUID, str]] = {}
    for start in range(0, len(ids), ROWS_PER_STATEMENT):
        rows = session.execute(
            select(ENTRIES.c.source_id, ENTRIES.c.id, ENTRIES.c.content_hash).where(
                ENTRIES.c.knowledge_base_id == knowledge_base_id, ENTRIES.c.source_id.in_(ids[start : start + ROWS_PER_STATEMENT])
            )
        )
        found.update({source_id: (entry_id, digest) for source_id, entry_id, digest in rows})
    return found


def upsert(
    session: Session, *, workspace_id: UUID, knowledge_base_id: UUID, job_id: UUID, writes: list[Write]
) -> dict[str, tuple[UUID, int]]:
    """Insert new entries and update changed ones in place (version + 1).

    Returns source id → (entry id, version) for every row written. A row whose stored hash
    already equals ours (another job wrote the same content meanwhile) is not written and
    not returned.
    """
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    written: dict[str, tuple[UUID, int]] = {}
    for start in range(0, len(writes), ROWS_PER_STATEMENT):
        rows = [_row(w, workspace_id, knowledge_base_id, job_id, now) for w in writes[start : start + ROWS_PER_STATEMENT]]
        stmt = insert(ENTRIES).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=[ENTRIES.c.knowledge_base_id, ENTRIES.c.source_id],
            set_={
                **{name: stmt.excluded[name] for name in ("title", "content", "content_type", "metadata", "tags", "url")},
                "content_hash": stmt.excluded.content_hash,
                "last_job_id": stmt.excluded.last_job_id,
                "updated_at": stmt.excluded.updated_at,
                "version": ENTRIES.c.version + 1,
            },
            where=ENTRIES.c.content_hash != stmt.excluded.content_hash,
        ).returning(ENTRIES.c.source_id, ENTRIES.c.id, ENTRIES.c.version)
        written.update({source_id: (entry_id, version) for source_id, entry_id, version in session.execute(stmt)})
    return written


def remove(session: Session, *, knowledge_base_id: UUID, deletes: list[Delete]) -> dict[str, UUID]:
    removed: dict[str, UUID] = {}
    ids = [d.source_id for d in deletes]
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
        "version": 1,
        "last_job_id": job_id,
        "created_at": now,
        "updated_at": now,
    }
