"""Why a job failed: the reasons recorded when one of its batches cannot be applied.

They end up in the job's `error`, which users read, so they say which batch, how often it
was tried, and the last error in one line (never a traceback or an SQL statement).
"""

from __future__ import annotations

MAX_ERROR_LENGTH = 500


def out_of_attempts(seq: int, attempts: int) -> str:
    """A batch started too often without finishing, its last attempt ending silently.

    Errors are reported as they happen (workers/middleware.py), so silence means the
    worker process died while applying the batch.
    """
    return (
        f"batch {seq} crashed its worker: started {attempts} times, it never finished "
        "(the worker process died while applying it: out of memory or a crash)"
    )


def gave_up(seq: int, attempts: int, error: str) -> str:
    """A batch whose every attempt raised, until its retry budget ran out."""
    return f"batch {seq} could not be applied after {attempts} attempts; last error: {error}"


def describe(error: BaseException) -> str:
    """`Type: message`, first line only; for database errors the driver's, without the SQL."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    text = f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__
    return text[:MAX_ERROR_LENGTH]
