"""The sweeper's runner: a thread in every worker process (and the embedded app) of which
one at a time, elected through a PostgreSQL advisory lock, sweeps every few seconds.

The decisions live in app/services/sweeper.py; this module only schedules them, holds the
election, and sends what a pass decided to send again.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import Connection, Engine, text

from app.db import transaction
from app.runtime import Runtime
from app.services import failures, idempotency, sweeper
from app.timestamps import utcnow

log = logging.getLogger(__name__)

# Any constant shared by every process of one database; advisory locks are per database.
LOCK_KEY = 0x6B62_5F73_7765_6570  # "kb_sweep"


class AdvisoryLockLeadership:
    """Leader while holding a session-level advisory lock on a connection kept for the purpose.

    The lock goes with the connection: when the leader dies or loses the database, the
    server releases it and another process takes over on its next try.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None

    def leading(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                self._connection.commit()
                return True
            except Exception:  # noqa: BLE001 - a lost connection is a lost lock
                log.warning("sweeper lost its database connection, and with it the lead")
                self._drop()
        connection = self.engine.connect()
        try:
            won = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar()
            connection.commit()
        except Exception:
            connection.invalidate()
            connection.close()
            raise
        if won:
            self._connection = connection
        else:
            connection.close()
        return bool(won)

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            self._connection.commit()
            self._connection.close()
        except Exception:  # noqa: BLE001 - closing the connection releases the lock anyway
            self._drop()
        self._connection = None

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.invalidate()
            self._connection.close()
        self._connection = None


class SoleLeadership:
    """The embedded mode has one process (SQLite allows no other), so it always leads."""

    def leading(self) -> bool:
        return True

    def release(self) -> None:
        pass


class Sweeper:
    """Sweeps every `sweep_interval_seconds` while this process leads; started and stopped with the worker."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.interval = settings.sweep_interval_seconds
        self.policy = sweeper.Policy(
            stall_after=timedelta(seconds=settings.stall_timeout_seconds), max_attempts=settings.max_batch_attempts
        )
        self.key_ttl = timedelta(seconds=settings.idempotency_key_ttl)
        self.leadership = SoleLeadership() if settings.is_sqlite else AdvisoryLockLeadership(runtime.engine)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="kb-ingest-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.leadership.release()

    def _run(self) -> None:
        failing = False
        while not self._stopping.is_set():
            try:
                self.sweep_once()
                failing = False
            except Exception as error:  # noqa: BLE001 - the database or broker is down: try again next time
                # The traceback once per outage; a line a pass after that.
                log.warning(
                    "sweep failed (%s); trying again every %ss",
                    failures.describe(error),
                    self.interval,
                    exc_info=not failing,
                )
                failing = True
            self._stopping.wait(self.interval)

    def sweep_once(self) -> sweeper.Sweep | None:
        """One pass, if this process leads; None otherwise."""
        if not self.leadership.leading():
            return None
        queue = self.runtime.queue
        lost = queue.lost_messages()
        with transaction(self.runtime.sessions) as session:
            result = sweeper.sweep(session, policy=self.policy, now=utcnow(), broker_lost_messages=lost)
        for job_id, seqs in result.resend.items():
            queue.enqueue_batches(job_id, seqs)
        if lost:
            queue.remember_messages()
        if result:
            log.info(
                "sweeper sent %d batches of %d jobs again and failed %d jobs",
                sum(len(s) for s in result.resend.values()),
                len(result.resend),
                len(result.failed),
                extra={"broker_lost_messages": lost},
            )
        self._purge_expired_keys()
        return result

    def _purge_expired_keys(self) -> None:
        """Expired keys are ignored anyway; deleting them here keeps the table small without
        costing a submission anything. Its own transaction: a failure here loses no sweep."""
        try:
            with transaction(self.runtime.sessions) as session:
                purged = idempotency.purge_expired(session, ttl=self.key_ttl)
        except Exception:  # noqa: BLE001 - the next pass tries again
            log.warning("could not delete expired idempotency keys", exc_info=True)
            return
        if purged:
            log.info("sweeper deleted %d expired idempotency keys", purged)
