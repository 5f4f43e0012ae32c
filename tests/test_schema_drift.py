"""The Alembic migrations build exactly the schema the models describe, on both databases.

Alembic's comparison sees tables, columns, keys and indexes, but not an index's WHERE:
the one partial index's predicate is checked here by hand."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers every table on SQLModel.metadata
from app import migrations


def differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    finally:
        engine.dispose()


def test_sqlite_schema_matches_the_models(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    migrations.upgrade(engine)
    engine.dispose()
    assert differences(f"sqlite:///{tmp_path / 'schema.db'}") == []
    assert partial_index_predicate(f"sqlite:///{tmp_path / 'schema.db'}").endswith("WHERE status = 'failed'")


def test_postgres_schema_matches_the_models(postgres):  # type: ignore[no-untyped-def]
    url = postgres.create()  # a clone of the migrated template, never the template itself
    try:
        assert differences(url) == []
        assert partial_index_predicate(url) == "((status)::text = 'failed'::text)"
    finally:
        postgres.drop(url)


def partial_index_predicate(url: str) -> str:
    """How the database holds ix_job_results_failed's WHERE (the model's: status = 'failed')."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                query = "SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = 'ix_job_results_failed'::regclass"
            else:
                query = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'ix_job_results_failed'"
            return connection.exec_driver_sql(query).scalar_one()
    finally:
        engine.dispose()
