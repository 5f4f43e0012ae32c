"""Liveness and readiness probes."""

from __future__ import annotations

from collections.abc import Callable

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


# A server that takes connections but never answers holds a check for its client's own
# timeout (redis-py: 5 s), as long as the probes that call /ready wait (compose: 5 s), which
# then saw a timeout rather than this 503 naming what is down.
ANSWER_WITHIN_SECONDS = 2.0


@get("/ready", tags=["health"])
async def ready(runtime: NamedDependency[Runtime]) -> Response[Health]:
    """The database and the broker both answer, within ANSWER_WITHIN_SECONDS, checked at
    once; 503 otherwise (with which one failed)."""
    checks = {"database": "", "broker": ""}

    async def check(name: str, probe: Callable[[Runtime], str]) -> None:
        checks[name] = f"unavailable: no answer within {ANSWER_WITHIN_SECONDS:g} s"
        with anyio.move_on_after(ANSWER_WITHIN_SECONDS):
            # A check given up on finishes on its thread, within its client's own timeout.
            checks[name] = await anyio.to_thread.run_sync(probe, runtime, abandon_on_cancel=True)

    async with anyio.create_task_group() as group:
        group.start_soon(check, "database", _check_database)
        group.start_soon(check, "broker", _check_broker)
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
