"""The machine's PostgreSQL and Redis, for tests: reachable, or a loud failure in CI.

Each test gets its own PostgreSQL database, cloned from a migrated template, and its
own Redis namespace, so tests never see each other's data or messages and leave nothing
behind.
"""

from __future__ import annotations

import os
import uuid

import pytest
import redis
from alembic import command
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from app import migrations
from app.settings import Settings

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(what: str, error: Exception) -> None:
    """Skip locally, fail in CI: CI must never silently skip the PostgreSQL+Redis tests."""
    message = f"{what} is not reachable: {error}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


class PostgresDatabases:
    def __init__(self) -> None:
        self.admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.template = f"kbi_tmpl_{uuid.uuid4().hex[:10]}"
        self.created: list[str] = []

    def prepare_template(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.template}"'))
        engine = create_engine(self.url(self.template))
        migrations.upgrade(engine)
        engine.dispose()

    def url(self, name: str) -> str:
        return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def create(self) -> str:
        name = f"kbi_t_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        self.created.append(name)
        return self.url(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        with self.admin.connect() as conn:
            for name in [*self.created, self.template]:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def redis_client() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    return client


def clear_namespace(client: redis.Redis, namespace: str) -> None:
    keys = list(client.scan_iter(match=f"{namespace}*", count=1000))
    if keys:
        client.delete(*keys)


def postgres_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "redis_url": REDIS_URL,
        "redis_namespace": f"kbi-test-{uuid.uuid4().hex[:10]}",
        "log_json": False,
        "secret_key": "test-signing-key-" + uuid.uuid4().hex,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def alembic(engine: Engine, action: str, revision: str) -> None:
    """`alembic upgrade|downgrade <revision>` on `engine`'s database, in one transaction."""
    config = migrations.config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)
