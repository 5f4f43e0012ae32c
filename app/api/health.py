"""Liveness and readiness probes."""

from __future__ import annotations

import anyio
from litestar.di import NamedDependency
from litestar import Response, get
from sqlalchemy import text

from app.api.schemas import Health
from app.db import reading
from app.runtime import Runtime


@get("/health", sync_to_thread=False, tags=["health"])
def health() -> Health:
    """The process is up."""
    return Health(status="ok")


@get("/ready", tags=["health"])
async def ready(runtime: NamedDependency[Runtime]) -> Response[Health]:
    """The database and the broker both answer; 503 otherwise (with which one failed)."""
    checks = {"database": await anyio.to_thread.run_sync(_check_database, runtime), "broker": await anyio.to_thread.run_sync(_check_broker, runtime)}
    ok = all(v == "ok" for v in checks.values())
    return Response(Health(status="ok" if ok else "unavailable", checks=checks), status_code=200 if ok else 503)


def _check_database(runtime: NamedDependency[Runtime]) -> str:
    try:
        with reading(runtime.engine) as connection:  # on SQLite, not queued behind a batch being applied
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return f"unavailable: {type(error).__name__}"
    return "ok"


def _check_broker(runtime: NamedDependency[Runtime]) -> str:
    try:
        runtime.queue.ping()
    except Exception as error:  # noqa: BLE001
        return f"unavailable: {type(error).__name__}"
    return "ok"
