"""`kb-ingest workspaces ...` and `kb-ingest clients ...`: the operators' side of authentication.

Each command is one transaction against the configured database (DATABASE_URL, or the
embedded SQLite file, which it migrates first as the service would). A client's secret
is printed once, by `clients create` and `clients rotate-secret`, and never again.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from app import migrations
from app.auth import scopes as scope_rules
from app.db import DatabaseUnavailable, checked_engine, make_sessions, transaction
from app.errors import ServiceError
from app.models import AccessClient, Workspace
from app.services import access_clients, workspaces
from app.services.access_clients import NewSecret, PendingSecret
from app.settings import ConfigurationError, Settings
from app.timestamps import iso


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ws = commands.add_parser("workspaces", help="create and list workspaces").add_subparsers(dest="action", required=True)
    created = ws.add_parser("create", help="create a workspace and print its id")
    created.add_argument("name")
    _json_flag(created)
    _json_flag(ws.add_parser("list", help="list workspaces"))

    cl = commands.add_parser("clients", help="manage access-token clients").add_subparsers(dest="action", required=True)
    new = cl.add_parser("create", help="create a client; prints its id and secret once")
    new.add_argument("--workspace", required=True, type=UUID, help="workspace id")
    new.add_argument("--scope", required=True, action="append", help=f"repeatable or space-separated: {', '.join((*scope_rules.SCOPES, scope_rules.ALL))}")
    new.add_argument("--name", default="client", help="a label for operators")
    _json_flag(new)
    listing = cl.add_parser("list", help="list clients (never their secrets)")
    listing.add_argument("--workspace", type=UUID, help="only this workspace's clients")
    _json_flag(listing)
    revoke = cl.add_parser("revoke", help="revoke a client: its tokens stop working at once")
    revoke.add_argument("client_id", type=UUID)
    _json_flag(revoke)
    rotate = cl.add_parser("rotate-secret", help="new secret; the old one and its tokens stop working at once")
    rotate.add_argument("client_id", type=UUID)
    _json_flag(rotate)


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def run(args: argparse.Namespace) -> int:
    """Exit 2 for a bad setting, as `serve`, `migrate` and `kb-ingest-worker` do; 1 for a refused command."""
    try:
        settings = Settings.from_env()
        settings.check_deployment()  # with a broker but no DATABASE_URL it used a local SQLite file
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        command = _COMMANDS[(args.command, args.action)]
        output = command(settings, args)
    except (ServiceError, scope_rules.InvalidScope, DatabaseUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(output, indent=2) if args.json else _text(output))
    return 0


def _in_transaction(settings: Settings, work: Callable[[Session], Any]) -> Any:
    with checked_engine(settings) as engine:
        if settings.embedded:
            migrations.upgrade(engine)
        with transaction(make_sessions(engine)) as session:
            return work(session)


def _create_workspace(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    return _in_transaction(settings, lambda s: _workspace(workspaces.create(s, name=args.name)))


def _list_workspaces(settings: Settings, args: argparse.Namespace) -> list[dict[str, Any]]:
    return _in_transaction(settings, lambda s: [_workspace(w) for w in workspaces.list_all(s)])


def _create_client(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    wanted = scope_rules.parse(args.scope)
    pending = PendingSecret.make(cost=settings.secret_hash_cost)
    return _in_transaction(
        settings,
        lambda s: _secret(access_clients.create(s, workspace_id=args.workspace, name=args.name, scopes=wanted, pending=pending)),
    )


def _list_clients(settings: Settings, args: argparse.Namespace) -> list[dict[str, Any]]:
    return _in_transaction(settings, lambda s: [_client(c) for c in access_clients.list_all(s, workspace_id=args.workspace)])


def _revoke_client(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    return _in_transaction(settings, lambda s: _client(access_clients.revoke(s, client_id=args.client_id)))


def _rotate_secret(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    pending = PendingSecret.make(cost=settings.secret_hash_cost)
    return _in_transaction(settings, lambda s: _secret(access_clients.rotate_secret(s, client_id=args.client_id, pending=pending)))


_COMMANDS: dict[tuple[str, str], Callable[[Settings, argparse.Namespace], Any]] = {
    ("workspaces", "create"): _create_workspace,
    ("workspaces", "list"): _list_workspaces,
    ("clients", "create"): _create_client,
    ("clients", "list"): _list_clients,
    ("clients", "revoke"): _revoke_client,
    ("clients", "rotate-secret"): _rotate_secret,
}


def _workspace(workspace: Workspace) -> dict[str, Any]:
    return {"workspace_id": str(workspace.id), "name": workspace.name, "created_at": iso(workspace.created_at)}


def _client(client: AccessClient) -> dict[str, Any]:
    return {
        "client_id": str(client.id),
        "workspace_id": str(client.workspace_id),
        "name": client.name,
        "scope": client.scope,
        "created_at": iso(client.created_at),
        "secret_rotated_at": iso(client.secret_rotated_at),
        "revoked_at": iso(client.revoked_at),
    }


def _secret(new: NewSecret) -> dict[str, Any]:
    return {**_client(new.client), "client_secret": new.secret}


def _text(output: dict[str, Any] | list[dict[str, Any]]) -> str:
    """One `key: value` line per field, a blank line between items; the secret gets a warning."""
    items = output if isinstance(output, list) else [output]
    blocks = ["\n".join(f"{key + ':':<18} {'-' if value is None else value}" for key, value in item.items()) for item in items]
    text = "\n\n".join(blocks) if blocks else "(none)"
    if isinstance(output, dict) and "client_secret" in output:
        text += "\n\nThe client secret is shown only this once: store it now."
    return text
