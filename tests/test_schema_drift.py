"""The Alembic migrations build exactly the schema the models describe, on both databases."""

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


def test_postgres_schema_matches_the_models(postgres):  # type: ignore[no-untyped-def]
    url = postgres.create()  # a clone of the migrated template, never the template itself
    try:
        assert differences(url) == []
    finally:
        postgres.drop(url)
