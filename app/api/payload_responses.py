"""Jobs with `includePayload`, streamed: a payload can be 30 MB of JSON, and a list holds
up to 100 jobs.

Built whole, a list of eight 30 MB jobs took the API's peak RSS from 257 to 791 MB, and a
full page would have taken gigabytes; each job alone held its payload several times over
(decompressed batches, records, the reassembled payload, the encoded response). Streamed,
the API holds one job's compressed batches and one batch's records at a time. A single
job's stored payload is read, and its envelope parsed, before the first byte is sent, so
those errors are still error responses; records stored by earlier jobs' batches are read
as their turn comes (app/services/record_sources.py). A list reads everything but the payloads first, as without them, then
each job's stored payload as its turn comes (payloads never change once stored); no
connection is held while the client reads. A failure after the first byte can no longer
change the status line: the response ends early, so the client sees a broken body, never
JSON that parses.
"""

from __future__ import annotations

from collections.abc import Iterator

import logging

import msgspec
from sqlalchemy import Engine

from app.api import schemas
from app.db import reading
from app.services import jobs, payloads

log = logging.getLogger(__name__)
_ENCODER = msgspec.json.Encoder()


def job(listed: schemas.JobPublic, stored: payloads.Stored | None) -> Iterator[bytes]:
    """The JSON of one `schemas.JobPublic` with its stored payload (jobs.stored_payload),
    whose envelope is parsed here, before the first byte is sent."""
    return _aborting(_job(listed, _spliced(stored)))


def job_list(engine: Engine, total: int, listed: list[schemas.JobPublic]) -> Iterator[bytes]:
    """The JSON of a `schemas.JobList`, each job with its payload."""
    return _aborting(_job_list(engine, total, listed))


def _job(listed: schemas.JobPublic, payload: payloads.Spliced | None) -> Iterator[bytes]:
    head, tail = _ENCODER.encode(msgspec.structs.replace(listed, payload=msgspec.Raw(payloads.HOLE))).split(payloads.HOLE)
    if payload is None:
        yield head + b"null" + tail
        return
    yield head
    yield from payload.pieces()
    yield tail


def _job_list(engine: Engine, total: int, listed: list[schemas.JobPublic]) -> Iterator[bytes]:
    yield b'{"total":%d,"jobs":[' % total
    for n, one in enumerate(listed):
        if n:
            yield b","
        with reading(engine) as connection:
            stored = jobs.stored_payload(connection, job_id=one.id)
        yield from _job(one, _spliced(stored))
    yield b"]}"


def _spliced(stored: payloads.Stored | None) -> payloads.Spliced | None:
    return payloads.splice(stored) if stored is not None else None


def _aborting(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Litestar reads a sync iterator on a thread and takes a ValueError from it for the
    iterator's end (its stand-in for StopIteration): a corrupt stored batch would have
    ended the response as if complete, with a 200 and nothing logged. Any error goes on
    as a RuntimeError instead, which the server logs and which aborts the response."""
    try:
        yield from chunks
    except Exception as error:
        log.exception("sending a payload failed; the response is cut short")
        raise RuntimeError("sending a payload failed") from error
