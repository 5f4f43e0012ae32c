"""Why a job failed when one of its batches kept raising until its retries ran out.

The reason ends up in the job's `error`, which users read, so it says which batch, how
often it was tried, and the last error in one line (never a traceback or an SQL statement).
A batch whose worker died instead is explained by `batches.out_of_attempts`.
"""

from __future__ import annotations

MAX_ERROR_LENGTH = 500


def gave_up(seq: int, attempts: int, error: str) -> str:
    """A batch whose every attempt raised, until its retry budget ran out."""
    return f"batch {seq} could not be applied after {attempts} attempts; last error: {error}"


def describe(error: BaseException) -> str:
    """`Type: message`, first line only; for database errors the driver's, without the SQL."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    text = f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__
    return text[:MAX_ERROR_LENGTH]
