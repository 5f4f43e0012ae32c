"""Clients' standing (workspace, revocation, secret version), cached in the API process on PostgreSQL.

Every authenticated request needs its client's standing, and reading it from the
database cost a thread hop, a pool checkout and a round trip per request: a third of a
job poll's CPU. Revocation and rotation must still end a client's tokens at once, from
whichever process commits them (the API, or `kb-ingest clients` elsewhere), so the cache
is not a TTL cache: `announce_change()` sends `pg_notify` inside the changing
transaction, PostgreSQL delivers it at commit, and a listener thread (one dedicated
connection per API process) drops the client's entry a few milliseconds later. A trigger
(migration 0007) notifies the same way for changes made outside the service's code.

What makes the cache safe to trust, and when it is bypassed:
- It is used only while the listener is connected and has LISTENed; it starts empty and is
  emptied whenever the listener connects, disconnects or fails.
- The listener pings every PING_INTERVAL, asking the server whether its session still
  LISTENs on the channel (behind a transaction-mode pooler it would not, and would hear
  nothing). PostgreSQL sends a listener its pending notifications before it answers a
  query, so a completed ping proves that every change committed before it was sent has
  been seen (psycopg >= 3.2.4 keeps notifications that arrive during a query). Entries
  are used only while the last such proof is younger than MAX_STALENESS: a listener that
  hangs or is starved of CPU cannot keep a revoked client working for longer than that;
  then requests read the database again until the listener catches up.
- An entry read from the database is stored only if no notification arrived since the
  read began (a generation number), so a read that raced a revocation cannot re-insert the
  standing the revocation just dropped.

SQLite (the embedded mode) has no LISTEN and needs none: its per-request read is
in-process and cheap, so there `StandingCache.disabled()` caches nothing.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
CHANNEL = "kb_ingest_access_clients"
PING_INTERVAL = 0.25
MAX_STALENESS = 1.0
RECONNECT_DELAY = 1.0
MAX_ENTRIES = 10_000
# libpq settings that let the listener notice a dead server or network within seconds.
_CONNECTION_OPTIONS: dict[str, Any] = {
    "autocommit": True,
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 1,
    "keepalives_count": 3,
    "tcp_user_timeout": 5000,
    "application_name": "kb-ingest access-client listener",
}


@dataclass(frozen=True)
class Standing:
    workspace_id: UUID
    revoked_at: datetime | None
    secret_version: int


def announce_change(session: Session, *, client_id: UUID) -> None:
    """Tell every API process to forget the client's standing when this transaction commits.

    Caches in this very process forget it synchronously at commit as well, without waiting
    for their listener, so a change made here holds for this process's next request.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text("SELECT pg_notify(:channel, :client_id)"), {"channel": CHANNEL, "client_id": str(client_id)})
    event.listen(session, "after_commit", lambda _session: _forget_here(str(client_id)), once=True)


_caches: weakref.WeakSet[StandingCache] = weakref.WeakSet()


def _forget_here(client_id: str) -> None:
    for cache in list(_caches):
        cache._forget(client_id)


class StandingCache:
    def __init__(self, engine: Engine | None) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._entries: dict[UUID, Standing] = {}
        self._generation = 0
        self._live = False
        self._proven_at = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if engine is not None:
            _caches.add(self)

    @classmethod
    def for_engine(cls, engine: Engine) -> StandingCache:
        return cls(engine if engine.dialect.name == "postgresql" else None)

    @classmethod
    def disabled(cls) -> StandingCache:
        return cls(None)

    def start(self) -> None:
        if self._engine is None or self._thread is not None:
            return
        # Each run its own stop signal and wake sockets: a listener that outlives its stop()
        # (a connect hanging past the join's timeout) ends when it returns, and a later
        # start() cannot revive it, nor mark this run's cache live or proven (the checks
        # in _set_live and _prove, under the lock this swap takes too).
        with self._lock:
            self._stop = threading.Event()
        # stop() writes to one end to wake the listener at once from its wait on the other.
        self._wake = socket.socketpair()
        self._thread = threading.Thread(
            target=self._listen, args=(self._stop, self._wake[0]), name="access-client-listener", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._set_live(False, self._stop)  # trusted no more, even should the join time out
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._wake[1].send(b"\0")
        thread.join(timeout=PING_INTERVAL + 5)
        if not thread.is_alive():
            for end in self._wake:
                end.close()

    @property
    def trusted(self) -> bool:
        return self._live and time.monotonic() - self._proven_at < MAX_STALENESS

    def get(self, client_id: UUID) -> Standing | None:
        if not self.trusted:
            return None
        return self._entries.get(client_id)

    def ticket(self) -> int | None:
        """Taken before reading a standing from the database; None when the result must not be kept."""
        with self._lock:
            return self._generation if self._live else None

    def put(self, client_id: UUID, standing: Standing, ticket: int | None) -> None:
        with self._lock:
            if ticket is None or ticket != self._generation or not self._live:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[client_id] = standing

    def _forget(self, payload: str) -> None:
        with self._lock:
            self._generation += 1
            try:
                self._entries.pop(UUID(payload), None)
            except ValueError:
                self._entries.clear()

    def _set_live(self, live: bool, run: threading.Event) -> None:
        """Only for the current run (`run` is its stop signal), and never live once stopped."""
        with self._lock:
            if self._stop is not run or (live and run.is_set()):
                return
            self._generation += 1
            self._entries.clear()
            self._live = live
            self._proven_at = float("-inf")

    def _prove(self, sent: float, run: threading.Event) -> None:
        with self._lock:
            if self._stop is run and not run.is_set() and self._live:
                self._proven_at = sent

    def _listen(self, stop: threading.Event, wake: socket.socket) -> None:
        assert self._engine is not None
        args, kwargs = self._engine.dialect.create_connect_args(self._engine.url)
        failing = False
        while not stop.is_set():
            try:
                with psycopg.connect(*args, **{**kwargs, **_CONNECTION_OPTIONS}) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self._set_live(True, stop)
                    if failing:
                        log.info("access-client listener reconnected; caching client standings again")
                    failing = False
                    self._follow(connection, stop, wake)
            except Exception as error:  # noqa: BLE001 - whatever failed, stop trusting the cache and reconnect
                if not failing:
                    log.warning("access-client listener lost (%s); reading client standings from the database", type(error).__name__)
                failing = True
            finally:
                self._set_live(False, stop)
            stop.wait(RECONNECT_DELAY)

    def _follow(self, connection: psycopg.Connection[Any], stop: threading.Event, wake: socket.socket) -> None:
        # A selector, not select(): an API process's descriptors may number past 1024.
        with selectors.DefaultSelector() as selector:
            selector.register(connection.fileno(), selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while not stop.is_set():
                sent = time.monotonic()
                listening = connection.execute("SELECT %s = ANY(ARRAY(SELECT pg_listening_channels()))", (CHANNEL,)).fetchone()
                if not listening or not listening[0]:
                    raise RuntimeError(f"this session does not LISTEN on {CHANNEL} (a transaction-mode pooler in between?)")
                # Notifications that came with the ping's answer wait in psycopg's backlog.
                for notify in connection.notifies(timeout=0):
                    self._forget(notify.payload)
                self._prove(sent, stop)
                # Until the next ping: each notification as it arrives, unless stop() wakes us.
                deadline = sent + PING_INTERVAL
                while (left := deadline - time.monotonic()) > 0:
                    if any(key.fileobj is wake for key, _ in selector.select(left)):
                        return
                    for notify in connection.notifies(timeout=0):
                        self._forget(notify.payload)
