"""Dramatiq middleware that keeps jobs honest when Dramatiq itself gives up or shuts down.

- JobFailures: Dramatiq's Retries dead-letters a message whose retries ran out; the job
  would then stay `processing` for ever. This fails the job instead, with the last error,
  and also stops retrying once the batch used up its attempts counted in the database
  (that count also includes attempts whose worker process died, which Dramatiq never sees).
- Sweeping: runs the sweeper thread for as long as the Dramatiq worker runs.
- BatchLogContext: every line logged while a batch's message is handled carries its job
  id and batch, Dramatiq's own too ("Failed to process message …", "Retrying message …").
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

import dramatiq
from dramatiq.middleware import Middleware
from sqlalchemy import select

from app import logs
from app.db import transaction
from app.models import JobBatch
from app.queue import PROCESS_BATCH
from app.runtime import Runtime
from app.services import failures
from app.services.batches import fail_job
from workers.sweeper import Sweeper

log = logging.getLogger(__name__)

LAST_ERROR = "kb_last_error"
ATTEMPTS = "kb_attempts"


class JobFailures(Middleware):
    """Added after Retries: Dramatiq calls `after_*` hooks in reverse, so ours runs before its decision."""

    def __init__(self, runtime: Runtime) -> None:
        self.sessions = runtime.sessions
        self.max_attempts = runtime.settings.max_batch_attempts

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        if exception is None or message.actor_name != PROCESS_BATCH:
            return
        message.options[LAST_ERROR] = failures.describe(exception)
        attempts = self._attempts(*message.args)
        if attempts is None:
            return
        message.options[ATTEMPTS] = attempts
        if attempts >= self.max_attempts:
            # Retries reads a message's own max_retries first: zero makes it give up now.
            message.options["max_retries"] = 0

    def after_nack(self, broker: dramatiq.Broker, message: Any) -> None:
        if message.actor_name != PROCESS_BATCH:
            return
        job_id, seq = message.args
        attempts = message.options.get(ATTEMPTS) or message.options.get("retries", 0)
        reason = failures.gave_up(seq, attempts, message.options.get(LAST_ERROR, "unknown error"))
        try:
            with transaction(self.sessions) as session:
                failed = fail_job(session, job_id=UUID(job_id), reason=reason)
        except Exception as error:  # noqa: BLE001 - most likely the very outage that exhausted the retries
            log.warning(
                "could not fail job %s (%s): %s; once the database answers, the sweeper sends its batches again",
                job_id,
                reason,
                failures.describe(error),
            )
            return
        if failed:
            log.error("job failed: %s", reason, extra={"job_id": job_id, "batch": seq})

    def _attempts(self, job_id: str, seq: int) -> int | None:
        """The batch's attempt count, or None when the database cannot say (it may be the error)."""
        try:
            with transaction(self.sessions) as session:
                return session.scalar(
                    select(JobBatch.attempts).where(JobBatch.job_id == UUID(job_id), JobBatch.seq == seq)
                )
        except Exception:  # noqa: BLE001
            return None


class BatchLogContext(Middleware):
    """Put first: Dramatiq calls `before_*` hooks in order and `after_*` ones in reverse,
    so the context is set before any other middleware logs and cleared after all of them.
    A worker thread handles one message at a time, so clearing means setting None."""

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        if message.actor_name == PROCESS_BATCH:
            job_id, seq = message.args
            logs.job_id.set(job_id)
            logs.batch.set(seq)

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        logs.job_id.set(None)
        logs.batch.set(None)

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self.after_process_message(broker, message)


class Sweeping(Middleware):
    def __init__(self, runtime: Runtime) -> None:
        self.sweeper = Sweeper(runtime)

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.sweeper.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.sweeper.stop()


def install(runtime: Runtime) -> None:
    """Add our middleware to the broker once, whichever entry point declares the actors."""
    broker = runtime.broker
    if any(isinstance(m, JobFailures) for m in broker.middleware):
        return
    broker.add_middleware(JobFailures(runtime))
    broker.add_middleware(Sweeping(runtime))
    broker.add_middleware(BatchLogContext(), before=type(broker.middleware[0]))
