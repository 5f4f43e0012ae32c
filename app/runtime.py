"""Everything a process (API or worker) needs, built once from Settings."""

from __future__ import annotations

from dataclasses import dataclass

import dramatiq
from sqlalchemy import Engine
from sqlalchemy.orm import Session, configure_mappers, sessionmaker

from app.db import make_engine, make_sessions
from app.queue import JobQueue, build_broker
from app.services.record_checks import RecordLimits
from app.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    broker: dramatiq.Broker
    queue: JobQueue
    limits: RecordLimits

    def close(self) -> None:
        self.broker.close()
        self.engine.dispose()


def build_runtime(settings: Settings, *, ping: str = "always") -> Runtime:
    """`ping` as in make_engine: the API passes "after-idle"."""
    # Up front, so that the first request or batch of a process does not configure every
    # mapper while other threads wait on it.
    configure_mappers()
    engine = make_engine(settings, ping=ping)
    sessions = make_sessions(engine)
    broker = build_broker(settings)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        broker=broker,
        queue=JobQueue(broker, sessions),
        limits=RecordLimits(
            max_fields=settings.max_record_fields,
            max_field_bytes=settings.max_field_bytes,
            max_record_bytes=settings.max_record_bytes,
        ),
    )
