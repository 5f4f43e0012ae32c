"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future

from litestar.di import NamedDependency
from litestar import Response, get

from app import migrations
from app.api.schemas import Health
from app.db import reading
from app.runtime import Runtime


@get("/health", sync_to_thread=False, tags=["health"])
def health() -> Health:
    """The process is up."""
    return Health(status="ok")


# A server that takes connections but never answers holds a check for its client's own
# timeout (redis-py: 5 s; a database connection, longer), as long as the probes that call
# /ready wait (compose: 5 s), which then saw a timeout rather than this 503 naming what is down.
ANSWER_WITHIN_SECONDS = 2.0
# The check of each kind still running, per runtime: a probe joins it rather than starting
# another, so a hung server holds one thread (and one pooled connection) per check, not
# one per probe until the pool and the threads run out.
_RUNNING: dict[tuple[int, str], Future[str]] = {}
_RUNNING_LOCK = threading.Lock()


@get("/ready", tags=["health"])
async def ready(runtime: NamedDependency[Runtime]) -> Response[Health]:
    """The database and the broker both answer, within ANSWER_WITHIN_SECONDS, checked at
    once; 503 otherwise (with which one failed)."""
    database, broker = _running(runtime, "database", _check_database), _running(runtime, "broker", _check_broker)
    answers = await asyncio.gather(_answer(database), _answer(broker))
    checks = dict(zip(("database", "broker"), answers, strict=True))
    ok = all(v == "ok" for v in checks.values())
    return Response(Health(status="ok" if ok else "unavailable", checks=checks), status_code=200 if ok else 503)


def _running(runtime: Runtime, name: str, check: Callable[[Runtime], str]) -> Future[str]:
    """The check of this kind under way, started now unless one still is."""
    key = (id(runtime), name)
    with _RUNNING_LOCK:
        if key in _RUNNING:
            return _RUNNING[key]
        future: Future[str] = Future()
        _RUNNING[key] = future

    def run() -> None:
        try:
            future.set_result(check(runtime))
        except BaseException as error:  # noqa: BLE001 - handed to whoever waits
            future.set_exception(error)
        finally:
            with _RUNNING_LOCK:
                _RUNNING.pop(key, None)

    try:
        threading.Thread(target=run, name=f"ready-{name}", daemon=True).start()
    except BaseException as error:  # no thread to be had: this probe fails, the next tries again
        with _RUNNING_LOCK:
            _RUNNING.pop(key, None)
        future.set_exception(error)
    return future


async def _answer(check: Future[str]) -> str:
    """The check's answer, or why there is none; shielded, so that giving up on it here
    leaves it to end for the next probe to read."""
    try:
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(check)), ANSWER_WITHIN_SECONDS)
    except TimeoutError:
        return f"unavailable: no answer within {ANSWER_WITHIN_SECONDS:g} s"
    except Exception as error:  # noqa: BLE001 - the check could not even run
        return f"unavailable: {type(error).__name__}"


def _check_database(runtime: NamedDependency[Runtime]) -> str:
    """The database answers, with a schema this release runs on."""
    try:
        with reading(runtime.engine) as connection:  # on SQLite, not queued behind a batch being applied
            behind = migrations.schema_behind(connection)
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return f"unavailable: {type(error).__name__}"
    return f"unavailable: {behind}" if behind else "ok"


def _check_broker(runtime: NamedDependency[Runtime]) -> str:
    try:
        runtime.queue.ping()
    except Exception as error:  # noqa: BLE001
        return f"unavailable: {type(error).__name__}"
    return "ok"
