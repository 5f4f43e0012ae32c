"""Engine and session factory for PostgreSQL (psycopg 3) and the embedded SQLite file."""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

# An execution option of `reading` connections: on SQLite they begin deferred (_configure_sqlite).
_READ_ONLY = "kbi_read_only"
# A pooled PostgreSQL connection idle for longer than this is pinged before the API uses it.
API_PING_AFTER_IDLE_SECONDS = 1.0
CONNECT_TIMEOUT_SECONDS = 10


def make_engine(settings: Settings, *, ping: str = "always") -> Engine:
    """`ping="always"` (workers, CLI) tests every pooled PostgreSQL connection before use;
    `ping="after-idle"` (the API) only one that sat unused for a second (see _ping_after_idle)."""
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    connect_args = _libpq_defaults(url)
    if ping == "after-idle":
        engine = create_engine(url, pool_size=10, max_overflow=10, pool_recycle=3600, connect_args=connect_args)
        _ping_after_idle(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args=connect_args)


class DatabaseUnavailable(Exception):
    """A command cannot reach its database: said in one line, never with the password."""


def check_connection(engine: Engine) -> None:
    """Connect once, so that a command whose database is missing or unreachable ends with
    what failed, where, and the driver's reason on one line, not a traceback."""
    try:
        with engine.connect():
            pass
    except DBAPIError as error:
        reason = " ".join(str(error.orig).split())
        raise DatabaseUnavailable(f"cannot connect to {_where(engine.url)}: {reason}") from None


@contextmanager
def checked_engine(settings: Settings) -> Iterator[Engine]:
    """An engine for a one-off command, its database reached first (DatabaseUnavailable
    otherwise), disposed after."""
    engine = make_engine(settings)
    try:
        check_connection(engine)
        yield engine
    finally:
        engine.dispose()


def _where(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return f"the SQLite database {url.database}"
    port = f":{url.port}" if url.port else ""
    database = f'PostgreSQL database "{url.database}"' if url.database else "the default PostgreSQL database"
    return f'{database} on {url.host or "the default host"}{port}'


# Unless DATABASE_URL, a libpq service file or the PG* environment says otherwise: libpq
# waits for ever for a server that takes the connection but never answers, and a
# connection whose server vanished (packets dropped, not refused) waits on the kernel's
# retransmissions, ~15 min. Keepalives every 10 s after 30 s idle, given up after 3
# unanswered, while idle; data sent and not acknowledged for 60 s, while a query waits.
_LIBPQ_DEFAULTS = {
    "connect_timeout": ("PGCONNECT_TIMEOUT", lambda: CONNECT_TIMEOUT_SECONDS),
    "keepalives_idle": (None, lambda: 30),
    "keepalives_interval": (None, lambda: 10),
    "keepalives_count": (None, lambda: 3),
    "tcp_user_timeout": (None, lambda: 60_000),
}


def _libpq_defaults(url: str) -> dict[str, object]:
    given = make_url(url).query
    if "service" in given or os.environ.get("PGSERVICE"):
        return {}  # the service file's settings would be overridden by these
    return {
        name: default()
        for name, (variable, default) in _LIBPQ_DEFAULTS.items()
        if name not in given and not (variable and os.environ.get(variable))
    }


def _ping_after_idle(engine: Engine) -> None:
    """Pre-ping only connections that sat idle, where a dead server goes unnoticed.

    `pool_pre_ping` costs a round trip (~0.1 ms of CPU) on every checkout: a third of what
    a job poll's own query costs. A connection used within the last second is used as is;
    if the server died meanwhile, that request fails, SQLAlchemy invalidates the whole
    pool (so the next checkouts connect afresh) and app/api/errors.py answers 503, which
    clients retry.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):  # type: ignore[no-untyped-def]
        if time.monotonic() - record.info.get("checked_in_at", float("-inf")) <= API_PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and checks out another (SQLAlchemy's contract).
            raise DisconnectionError(str(error)) from error


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers, and BEGIN IMMEDIATE for every transaction.

    With deferred transactions a reader that later writes fails at once with
    SQLITE_BUSY when another writer got in first; taking the write lock up front makes it
    wait on busy_timeout instead, which is what the API and the in-process worker need.
    Connections from `reading`, which never write, begin deferred: in WAL mode their reads
    neither wait for a writer nor hold one up, so a job poll is not queued behind a batch
    being applied.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get(_READ_ONLY) else "BEGIN IMMEDIATE")


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with sessions.begin() as session:
        yield session


def deadlocked(error: BaseException) -> bool:
    """PostgreSQL chose this transaction to end a deadlock (SQLSTATE 40P01), raised through
    SQLAlchemy or by psycopg itself (statements run on the driver's connection)."""
    return "40P01" in (getattr(error, "sqlstate", None), getattr(getattr(error, "orig", None), "sqlstate", None))


def retrying_deadlocks(sessions: sessionmaker[Session], work: Callable[[Session], T], *, what: str = "transaction", attempts: int = 4) -> T:
    """`work` in a transaction, run again from the start when PostgreSQL ends it to break
    a deadlock: two transactions locking rows in crossing orders, one of them rolled back
    whole, so running it again is as safe as running it once. Only the last deadlock
    is raised; the sleeps (up to ~0.1 s, growing, jittered) let the other transaction finish.
    `what` names the work in the log lines (which carry the job id of the context)."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction(sessions) as session:
                return work(session)
        except Exception as error:
            if not deadlocked(error):
                raise
            if attempt == attempts:
                log.warning("%s: deadlocked with another transaction %d times; giving up", what, attempts)
                raise
            log.info("%s: deadlocked with another transaction; running it again (attempt %d)", what, attempt + 1)
            time.sleep(random.uniform(0.01, 0.03) * attempt)
    raise AssertionError("unreachable")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """Reads that need no single snapshot (job polling), on a bare connection. Never write
    here: on SQLite these transactions begin deferred, so a write would fail at once with
    SQLITE_BUSY whenever another writer holds the lock, instead of waiting its turn.

    On PostgreSQL each statement runs on its own, without BEGIN and COMMIT; and there is
    no Session, whose set-up, identity map and tear-down cost more CPU than a poll's queries.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        else:
            connection = connection.execution_options(**{_READ_ONLY: True})
        yield connection
