"""Workspaces: the owners of all data."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models import DEFAULT_WORKSPACE_ID, Workspace


def ensure_default(session: Session) -> UUID:
    if session.get(Workspace, DEFAULT_WORKSPACE_ID) is None:
        session.add(Workspace(id=DEFAULT_WORKSPACE_ID, name="default"))
        session.flush()
    return DEFAULT_WORKSPACE_ID


def create(session: Session, *, name: str) -> Workspace:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("A workspace name must be 1-200 characters")
    workspace = Workspace(name=name)
    session.add(workspace)
    session.flush()
    return workspace


def list_all(session: Session) -> list[Workspace]:
    return list(session.scalars(select(Workspace).order_by(Workspace.created_at, Workspace.id)))
