"""The message broker and the one kind of message the service sends: "process batch N of job J".

Messages carry ids, never records: the database is the source of truth for what is left
to do, and a message may be delivered twice or lost without harm (the batch runner is
idempotent, and the sweeper re-enqueues what the broker lost).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from uuid import UUID

import dramatiq
from dramatiq.brokers.stub import StubBroker

from app.settings import Settings

log = logging.getLogger(__name__)

QUEUE_NAME = "ingest"
PROCESS_BATCH = "process_batch"


def build_broker(settings: Settings) -> dramatiq.Broker:
    if settings.broker_url and settings.broker_url.startswith("amqp"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker: dramatiq.Broker = RabbitmqBroker(url=settings.broker_url)
    elif settings.redis_url or settings.broker_url:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=settings.redis_url or settings.broker_url, namespace=settings.redis_namespace)
    else:
        broker = StubBroker()
    broker.declare_queue(QUEUE_NAME)
    return broker


class JobQueue:
    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def enqueue_batches(self, job_id: UUID, seqs: Iterable[int]) -> bool:
        """Send one message per batch; False (logged) when the broker is unreachable.

        The job is already committed, so a failure here loses nothing: the sweeper finds
        batches whose messages never arrived and sends them again.
        """
        try:
            for seq in seqs:
                self.broker.enqueue(
                    dramatiq.Message(queue_name=QUEUE_NAME, actor_name=PROCESS_BATCH, args=(str(job_id), seq), kwargs={}, options={})
                )
        except Exception:
            log.warning("could not enqueue batches of job %s; the sweeper will retry", job_id, exc_info=True)
            return False
        return True

    def ping(self) -> None:
        """Raise when the broker cannot be reached."""
        client = getattr(self.broker, "client", None)
        if client is not None:
            client.ping()
        elif hasattr(self.broker, "connection"):
            self._ping_rabbitmq()

    def _ping_rabbitmq(self) -> None:
        """Exchange frames on this thread's connection (opened if needed), so a server that
        went away is noticed now; a dead connection is dropped for the next call to reopen."""
        try:
            self.broker.connection.process_data_events(time_limit=0)  # type: ignore[attr-defined]
        except Exception:
            del self.broker.connection  # type: ignore[attr-defined]
            raise
