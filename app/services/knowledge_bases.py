"""Knowledge bases and the entries ingested into them."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound
from app.models import Entry, KnowledgeBase


def create(session: Session, *, workspace_id: UUID, name: str, description: str | None) -> KnowledgeBase:
    kb = KnowledgeBase(workspace_id=workspace_id, name=name, description=description)
    try:
        with session.begin_nested():
            session.add(kb)
    except IntegrityError:
        raise Conflict(f"A knowledge base named {name!r} already exists") from None
    return kb


def get(session: Session, *, workspace_id: UUID, knowledge_base_id: UUID) -> KnowledgeBase:
    kb = session.get(KnowledgeBase, knowledge_base_id)
    if kb is None or kb.workspace_id != workspace_id:
        raise NotFound(f"Knowledge base {knowledge_base_id} not found")
    return kb


def list_page(session: Session, *, workspace_id: UUID, limit: int, offset: int) -> tuple[int, list[KnowledgeBase]]:
    where = KnowledgeBase.workspace_id == workspace_id
    total = session.scalar(select(func.count()).select_from(KnowledgeBase).where(where)) or 0
    rows = session.scalars(
        select(KnowledgeBase).where(where).order_by(KnowledgeBase.created_at.desc(), KnowledgeBase.id).limit(limit).offset(offset)
    )
    return total, list(rows)


def entry_counts(session: Session, *, knowledge_base_ids: list[UUID]) -> dict[UUID, int]:
    if not knowledge_base_ids:
        return {}
    rows = session.execute(
        select(Entry.knowledge_base_id, func.count())
        .where(Entry.knowledge_base_id.in_(knowledge_base_ids))
        .group_by(Entry.knowledge_base_id)
    )
    return {kb_id: count for kb_id, count in rows}


def list_entries(
    session: Session, *, workspace_id: UUID, knowledge_base_id: UUID, limit: int, offset: int, source_id: str | None
) -> tuple[int, list[Entry]]:
    get(session, workspace_id=workspace_id, knowledge_base_id=knowledge_base_id)
    where = [Entry.knowledge_base_id == knowledge_base_id, Entry.workspace_id == workspace_id]
    if source_id is not None:
        where.append(Entry.source_id == source_id)
    total = session.scalar(select(func.count()).select_from(Entry).where(*where)) or 0
    rows = session.scalars(select(Entry).where(*where).order_by(Entry.created_at, Entry.source_id).limit(limit).offset(offset))
    return total, list(rows)
