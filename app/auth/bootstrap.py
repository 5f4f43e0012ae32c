"""The first client: so that a fresh embedded install can be used without the admin command line.

On a database that has no access-token client at all (a fresh one, or one from before
authentication existed), the service creates the default workspace if needed and a client
with `*` in it, prints the id and secret once on stderr and keeps them in
`<data dir>/bootstrap-credentials.json` (mode 0600). It does so by default only in the
embedded mode (no DATABASE_URL); BOOTSTRAP_CLIENT=true asks for it elsewhere, false never.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth import scopes
from app.auth.private_files import write_private
from app.db import transaction
from app.models import AccessClient, Workspace
from app.runtime import Runtime
from app.services import access_clients, workspaces
from app.services.access_clients import NewSecret, PendingSecret
from app.settings import Settings

log = logging.getLogger(__name__)
CREDENTIALS_FILE = "bootstrap-credentials.json"


def first_start(runtime: Runtime, *, token_path: str) -> Path | None:
    """At every start: the first client, when the database has none yet; where its credentials went."""
    new = first_client(runtime)
    return announce(new, runtime.settings, token_path=token_path) if new else None


def wanted(settings: Settings) -> bool:
    return settings.bootstrap_client if settings.bootstrap_client is not None else settings.database_url is None


def first_client(runtime: Runtime) -> NewSecret | None:
    """Creates the first client unless one exists; None when there was nothing to do."""
    if not wanted(runtime.settings):
        return None
    with transaction(runtime.sessions) as session:
        if _has_clients(session):
            return None
    pending = PendingSecret.make(cost=runtime.settings.secret_hash_cost)
    try:
        with transaction(runtime.sessions) as session:
            workspace_id = workspaces.ensure_default(session)
            # Two processes starting at once on PostgreSQL: the row lock lets one of them in.
            session.get(Workspace, workspace_id, with_for_update=True)
            if _has_clients(session):
                return None
            return access_clients.create(
                session, workspace_id=workspace_id, name="bootstrap", scopes=frozenset({scopes.ALL}), pending=pending
            )
    except IntegrityError:
        return None  # the other process created the default workspace, and so the client


def _has_clients(session: Session) -> bool:
    return session.scalar(select(AccessClient.id).limit(1)) is not None


def announce(new: NewSecret, settings: Settings, *, token_path: str) -> Path:
    """Shows the secret once, on stderr, and keeps it in a file only the service's user can read."""
    path = settings.data_dir / CREDENTIALS_FILE
    document = {
        "workspace_id": str(new.client.workspace_id),
        "client_id": str(new.client.id),
        "client_secret": new.secret,
        "scope": new.client.scope,
        "token_endpoint": token_path,
    }
    write_private(path, json.dumps(document, indent=2) + "\n", replace=True)
    rule = "=" * 72
    print(
        f"\n{rule}\nkb-ingest created a first access-token client. The secret is shown only this once:\n\n"
        f"  client_id:     {new.client.id}\n  client_secret: {new.secret}\n"
        f"  workspace_id:  {new.client.workspace_id}\n  scope:         {new.client.scope}\n\n"
        f"They are also in {path} (readable only by you).\nGet an access token with:\n\n"
        f"  curl -s -X POST http://127.0.0.1:8000{token_path} -u '{new.client.id}:{new.secret}' "
        f"-d grant_type=client_credentials\n{rule}\n",
        file=sys.stderr,
        flush=True,
    )
    log.warning(
        "created the first access-token client; its secret was printed once and saved",
        extra={"client_id": str(new.client.id), "workspace_id": str(new.client.workspace_id), "credentials_file": str(path)},
    )
    return path
