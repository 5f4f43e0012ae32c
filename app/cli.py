"""`kb-ingest`: run the API server, apply migrations, or manage workspaces and clients."""

from __future__ import annotations

import argparse
import sys

from app import admin_cli
from app.db import DatabaseUnavailable
from app.settings import ConfigurationError, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kb-ingest", description="Knowledge-base ingestion service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP API (and, with no REDIS_URL or BROKER_URL, an in-process worker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    commands.add_parser("migrate", help="apply database migrations (PostgreSQL deployments run this as a step)")
    admin_cli.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command in {"workspaces", "clients"}:
        return admin_cli.run(args)
    try:
        _run(args)
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _run(args: argparse.Namespace) -> None:
    """`serve` and `migrate`; a configuration mistake or a database out of reach ends them
    with its message, not a traceback."""
    if args.command == "serve":
        import uvicorn

        from app.main import preflight

        preflight(Settings.from_env())
        uvicorn.run("app.main:create_app", factory=True, host=args.host, port=args.port, log_config=None)
    elif args.command == "migrate":
        from app import migrations
        from app.db import checked_engine

        settings = Settings.from_env()
        settings.check_deployment()  # with a broker but no DATABASE_URL it migrated a local SQLite file
        with checked_engine(settings) as engine:
            migrations.upgrade(engine)
