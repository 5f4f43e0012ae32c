"""Access-token clients: create, look up, list, revoke, and rotate their secrets.

Hashing a secret is deliberately slow (about 0.1 s), so it happens before a transaction
starts or after it ends: on SQLite a transaction holds the database's write lock.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, Row, select
from sqlalchemy.orm import Session

from app.auth import scopes as scope_rules
from app.auth.secret_hashing import hash_secret, new_secret, verify_secret
from app.auth.standings import announce_change
from app.errors import Conflict, InvalidInput, NotFound
from app.models import AccessClient, Workspace
from app.timestamps import utcnow


@dataclass(frozen=True)
class NewSecret:
    """A secret in clear text: shown once to whoever made it, never stored."""

    client: AccessClient
    secret: str


@dataclass(frozen=True)
class PendingSecret:
    secret: str
    secret_hash: str

    @classmethod
    def make(cls, *, cost: int) -> PendingSecret:
        secret = new_secret()
        return cls(secret, hash_secret(secret, cost=cost))


def create(session: Session, *, workspace_id: UUID, name: str, scopes: frozenset[str], pending: PendingSecret) -> NewSecret:
    if session.get(Workspace, workspace_id) is None:
        raise NotFound(f"Workspace {workspace_id} not found")
    if not scopes:
        raise InvalidInput("A client needs at least one scope")
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("A client name must be 1-200 characters")
    client = AccessClient(workspace_id=workspace_id, name=name, scope=scope_rules.render(scopes), secret_hash=pending.secret_hash)
    session.add(client)
    session.flush()
    return NewSecret(client, pending.secret)


def find(session: Session, *, client_id: UUID) -> AccessClient | None:
    return session.get(AccessClient, client_id)


def standing(session: Session | Connection, *, client_id: UUID) -> Row[tuple[UUID, datetime | None, int]] | None:
    """What every authenticated request reads: three columns by primary key, no ORM object."""
    columns = (AccessClient.workspace_id, AccessClient.revoked_at, AccessClient.secret_version)
    return session.execute(select(*columns).where(AccessClient.id == client_id)).one_or_none()


def get(session: Session, *, client_id: UUID) -> AccessClient:
    client = session.get(AccessClient, client_id)
    if client is None:
        raise NotFound(f"Client {client_id} not found")
    return client


def secret_matches(client: AccessClient | None, secret: str, *, cost: int) -> bool:
    """Takes as long for an unknown client as for a known one, so timing tells no ids apart."""
    if client is None:
        verify_secret(secret, _unmatchable_hash(cost))
        return False
    return verify_secret(secret, client.secret_hash)


@functools.cache
def _unmatchable_hash(cost: int) -> str:
    return hash_secret(new_secret(), cost=cost)


def list_all(session: Session, *, workspace_id: UUID | None = None) -> list[AccessClient]:
    query = select(AccessClient).order_by(AccessClient.created_at, AccessClient.id)
    if workspace_id is not None:
        query = query.where(AccessClient.workspace_id == workspace_id)
    return list(session.scalars(query))


def revoke(session: Session, *, client_id: UUID) -> AccessClient:
    """Ends the client's tokens at their next request; revoking twice keeps the first time.

    Every change to a client's standing goes through here or rotate_secret, whose
    announce_change makes API processes drop their cached standing at commit
    (app/auth/standings.py): a change made any other way would not reach those caches.
    """
    client = get(session, client_id=client_id)
    if client.revoked_at is None:
        client.revoked_at = utcnow()
    announce_change(session, client_id=client_id)
    return client


def rotate_secret(session: Session, *, client_id: UUID, pending: PendingSecret) -> NewSecret:
    """A new secret; the old one and every token made with it stop working at once."""
    client = get(session, client_id=client_id)
    if client.revoked_at is not None:
        raise Conflict(f"Client {client_id} is revoked; create a new client instead")
    client.secret_hash = pending.secret_hash
    client.secret_version += 1
    client.secret_rotated_at = utcnow()
    announce_change(session, client_id=client_id)
    return NewSecret(client, pending.secret)
