"""`kb-ingest-worker`: Dramatiq worker processes for the PostgreSQL + Redis deployment.

Any arguments are passed to Dramatiq's own command line (`--processes`, `--threads`, ...).
Scale by running more of these, on this machine or on others that share the database and broker.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# An idle Dramatiq consumer polls its queue ever more slowly, up to the worker timeout
# (1 s by default), so a job sent to idle workers waited up to a second before its first
# batch started: longer than a whole unchanged re-run of a content-hub export. At 100 ms
# (what the embedded worker uses) an idle worker process costs about 80 Redis commands
# and 20 ms of CPU a second (8 and 3.5 ms at 1 s; measured 2026-12-07). Dramatiq reads
# the setting from the environment once, when it is first imported, and forks its worker
# processes from this one: so it is set before any import of Dramatiq. An operator's own
# `dramatiq_worker_timeout` wins.
WORKER_TIMEOUT_MS = 100
os.environ.setdefault("dramatiq_worker_timeout", str(WORKER_TIMEOUT_MS))

from sqlalchemy.exc import DBAPIError  # noqa: E402

from app import logs, migrations  # noqa: E402
from app.db import DatabaseUnavailable, checked_engine  # noqa: E402
from app.queue import QUEUE_NAME  # noqa: E402 - after the environment above
from app.settings import ConfigurationError, Settings  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    try:
        settings = Settings.from_env()
        settings.check_deployment()
    except ConfigurationError as error:
        print(f"kb-ingest-worker: {error}", file=sys.stderr)
        return 2
    if settings.embedded:
        print(
            "kb-ingest-worker needs REDIS_URL (or BROKER_URL) and DATABASE_URL; "
            "without them the API process runs its own worker (the embedded mode).",
            file=sys.stderr,
        )
        return 2
    behind = _schema_behind(settings)
    if behind:
        print(f"kb-ingest-worker: {behind}", file=sys.stderr)
        return 1
    from dramatiq.cli import main as dramatiq_main

    _yield_cpu_to_the_api(settings.worker_niceness)
    args = list(sys.argv[1:] if argv is None else argv)
    sys.argv = dramatiq_argv(args)
    if not any(arg == "--log-file" or arg.startswith("--log-file=") for arg in args):
        # Dramatiq's own main-process lines (booting up, a worker process that exited) in
        # the service's format too: Dramatiq's plain-text basicConfig is skipped, and the
        # worker processes configure logging as they load workers.entry. With --log-file
        # Dramatiq's main process writes to that file itself, so its setup stays.
        logs.configure(settings.log_level, settings.log_json)
        sys.argv.append("--skip-logging")
    return dramatiq_main() or 0


def _schema_behind(settings: Settings) -> str | None:
    """Why the database's schema is too old for this release (`kb-ingest migrate` not run),
    or None. A database out of reach says nothing here: the workers start and wait for it,
    as they wait for one that goes away later. The engine is gone before Dramatiq forks."""
    try:
        with checked_engine(settings) as engine, engine.connect() as connection:
            return migrations.schema_behind(connection)
    except (DatabaseUnavailable, DBAPIError):  # the database can't say: the workers wait for it
        return None


# Dramatiq's default is 8 threads per process. Batches are CPU-bound (parsing, hashing,
# HTML conversion) and threads of one process share its GIL: two threads converting
# content-hub pages took 10-25% more CPU per page than one (GIL hand-offs between cores),
# while generic-json loads ran as fast with one thread as with two. So: one thread per
# process, and as many processes as cores; `--threads N` overrides.
DEFAULT_THREADS = 1


def dramatiq_argv(args: list[str]) -> list[str]:
    """Later options win in Dramatiq's parser, so the caller's own `--threads` overrides the default."""
    return ["dramatiq", "workers.entry:broker", "--queues", QUEUE_NAME, "--threads", str(DEFAULT_THREADS), *args]


def _yield_cpu_to_the_api(niceness: int) -> None:
    """Batch work runs at a lower CPU priority (inherited by Dramatiq's worker processes).

    On a machine shared with the API, workers at full priority took every core and job
    polling queued behind them (p99 in seconds at 200 requests/s on 2 cores); niced, they
    still get all the CPU the API leaves idle. On a machine of their own it changes nothing.
    """
    if not niceness:
        return
    os.nice(niceness)
    if os.getsid(0) == os.getpid():
        _renice_own_session(niceness)


def _renice_own_session(niceness: int) -> None:
    """With Linux's autogroup scheduling (on by default) CPU is shared between sessions
    first, so a process's nice value only counts against its own session. A worker that
    leads its session (started by systemd, a container runtime or `setsid`) has it to
    itself and its children, so it lowers the session's priority too; a worker sharing a
    terminal session with other programs leaves theirs alone."""
    try:
        Path("/proc/self/autogroup").write_text(str(niceness))
    except OSError:
        pass  # no autogroup support, or not allowed: the process nice value still applies


if __name__ == "__main__":
    raise SystemExit(main())
