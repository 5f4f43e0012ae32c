"""Splitting a submitted payload into batches, the units the workers process in parallel.

Duplicate source ids are resolved here, once, in submission order ("the later one
wins"): every earlier occurrence is marked superseded. That keeps batches independent,
so two workers never race on the same entry of one job.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from adapters.base import Adapter, Identity
from app.services import batch_records, blobs, manifests

# A batch also ends before this much raw JSON: 500 generic-json records of a few KB stay
# one batch, while 500 content-hub pages of ~100 KB (a minute of HTML conversion) become
# a dozen batches that every worker process can share.
MAX_BATCH_BYTES = 4 * 1024 * 1024
# Part of every job's payload digest (app/services/resubmissions.py): bump it whenever what
# this module or app/services/manifests.py stores for a batch changes, so that a payload
# submitted again is planned anew rather than copied in the old form. 2: a line per
# record (app/services/batch_records.py).
PLAN_FORMAT = 2
# zstd releases the GIL: batches are compressed on these threads while the request's
# thread serializes and fingerprints the next ones (compression is a third of the API's
# CPU per job). At most this many serialized batches wait, which bounds the memory.
COMPRESSION_THREADS = 2
_compressor = ThreadPoolExecutor(COMPRESSION_THREADS, thread_name_prefix="compress")


@dataclass(frozen=True, slots=True)
class _Pending:
    record_count: int
    items: Future[bytes]
    manifest: bytes


@dataclass(frozen=True, slots=True)
class PlannedBatch:
    record_count: int
    items: bytes
    manifest: bytes


@dataclass(frozen=True, slots=True)
class Plan:
    record_count: int
    batches: list[PlannedBatch]


def plan_batches(adapter: Adapter, items: list[Any], *, batch_size: int, options: Mapping[str, Any] | None = None) -> Plan:
    """Batches of at most `batch_size` records and, unless one record alone is larger,
    MAX_BATCH_BYTES; each is serialized and compressed as soon as it is full, so no more
    than one batch of serialized records is held at a time. `options` are the job's
    parsed options, part of every record's fingerprint."""
    identities = [_identity_or_none(adapter, item) for item in items]
    last_index = {identity.source_id: index for index, identity in enumerate(identities) if identity is not None}
    fingerprint = manifests.Fingerprinter(adapter, options or {})
    batches: list[PlannedBatch] = []
    pending: deque[_Pending] = deque()
    parts: list[bytes] = []
    lines: list[manifests.Line] = []
    size = 0
    for index, item in enumerate(items):
        encoded = orjson.dumps(item)
        if parts and (len(parts) == batch_size or size + len(encoded) > MAX_BATCH_BYTES):
            pending.append(_batch(parts, lines))
            if len(pending) > COMPRESSION_THREADS:
                batches.append(_finished(pending.popleft()))
            parts, lines, size = [], [], 0
        identity = identities[index]
        superseded = identity is not None and last_index[identity.source_id] != index
        parts.append(b"[%d,%s,%s]" % (index, b"true" if superseded else b"false", encoded))
        lines.append(_line(index, identity, superseded, fingerprint(encoded)))
        size += len(encoded)
    if parts:
        pending.append(_batch(parts, lines))
    batches.extend(_finished(p) for p in pending)
    return Plan(record_count=len(items), batches=batches)


def _batch(parts: list[bytes], lines: list[manifests.Line]) -> _Pending:
    return _Pending(len(parts), _compressor.submit(blobs.pack, batch_records.encode(parts)), manifests.encode(lines))


def _finished(pending: _Pending) -> PlannedBatch:
    return PlannedBatch(pending.record_count, pending.items.result(), pending.manifest)


def _line(seq: int, identity: Identity | None, superseded: bool, fingerprint: str) -> manifests.Line:
    # An id the worker would refuse goes without one: the worker reads the record and says why.
    usable = identity is not None and isinstance(identity.source_id, str) and "\x00" not in identity.source_id
    source_id = identity.source_id if usable else None  # type: ignore[union-attr]
    return manifests.Line(seq, source_id, bool(identity and identity.deleted), superseded, fingerprint)


def _identity_or_none(adapter: Adapter, item: Any) -> Identity | None:
    """A record without a usable id fails later, on its own, with the adapter's message."""
    try:
        return adapter.identify(item)
    except Exception:  # noqa: BLE001 - any failure here is reported per record by the worker
        return None
