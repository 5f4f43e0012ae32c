"""The batch actor. Safe to run twice: the batch runner checks and flips `done` atomically."""

from __future__ import annotations

import logging
from uuid import UUID

import dramatiq

import adapters
from app.queue import PROCESS_BATCH, QUEUE_NAME
from app.runtime import Runtime
from app.services.batches import run_batch
from workers import middleware

log = logging.getLogger(__name__)


def declare_actors(runtime: Runtime) -> dramatiq.Actor:
    def process_batch(job_id: str, seq: int) -> None:
        # Its log lines carry the job id and batch (workers/middleware.py: BatchLogContext).
        outcome = run_batch(
            runtime.sessions,
            job_id=UUID(job_id),
            seq=seq,
            registry=adapters.registry,
            limits=runtime.limits,
            max_attempts=runtime.settings.max_batch_attempts,
        )
        log.info("batch %s: %s", seq, outcome)

    middleware.install(runtime)
    return dramatiq.actor(
        process_batch,
        broker=runtime.broker,
        actor_name=PROCESS_BATCH,
        queue_name=QUEUE_NAME,
        max_retries=runtime.settings.message_retries,
        min_backoff=500,
        max_backoff=30_000,
    )
