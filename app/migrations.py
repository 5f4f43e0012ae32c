"""Applying Alembic migrations from inside the service (embedded mode, `kb-ingest migrate`),
and telling whether a database's schema is one this release can run on."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

ROOT = Path(__file__).resolve().parent.parent
_VERSION_TABLE = "alembic_version"


def config() -> Config:
    """Alembic's configuration for this release's migrations, wherever the service runs from."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    return config


def upgrade(engine: Engine) -> None:
    alembic_config = config()
    with engine.begin() as connection:
        alembic_config.attributes["connection"] = connection
        command.upgrade(alembic_config, "head")


@cache
def _scripts() -> tuple[str, frozenset[str]]:
    """(this release's head revision, every revision it knows), read from alembic/ once."""
    scripts = ScriptDirectory.from_config(config())
    return scripts.get_current_head() or "", frozenset(s.revision for s in scripts.walk_revisions())


def schema_behind(connection: Connection) -> str | None:
    """Why this release cannot run on the database's schema, or None when it can.

    A deployment that forgot `kb-ingest migrate`, or whose migration failed, answered every
    request with a 500 while /ready said it was fine. A schema newer than this release
    (a revision it does not know) counts as fine: during a deploy, the older processes
    still running after the migration step must stay in service until they are replaced.
    """
    # The version table read directly: alembic's MigrationContext logged two lines on every probe.
    found = connection.dialect.has_table(connection, _VERSION_TABLE)
    revisions = set(connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars()) if found else set()
    head, known = _scripts()
    if head in revisions or revisions - known:
        return None
    found = ", ".join(sorted(revisions)) if revisions else "no schema"
    return f"database schema: {found}, this release needs {head}; run kb-ingest migrate"
