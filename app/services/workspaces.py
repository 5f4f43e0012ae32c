"""Workspaces: the owners of all data."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.orm import Session

from app.models import DEFAULT_WORKSPACE_ID, Workspace


def ensure_default(session: Session) -> UUID:
    if session.get(Workspace, DEFAULT_WORKSPACE_ID) is None:
        session.add(Workspace(id=DEFAULT_WORKSPACE_ID, name="default"))
    return DEFAULT_WORKSPACE_ID
