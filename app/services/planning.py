"""Splitting a submitted payload into batches, the units the workers process in parallel.

Duplicate source ids are resolved here, once, in submission order ("the later one
wins"): every earlier occurrence is marked superseded. That keeps batches independent,
so two workers never race on the same entry of one job.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import orjson

from adapters.base import Adapter, Identity, RecordError
from app.services import batch_records, blobs, manifests
from app.services.record_sources import Known

# A batch also ends before this much raw JSON: 500 generic-json records of a few KB stay
# one batch, while 500 content-hub pages of ~100 KB (a minute of HTML conversion) become
# a dozen batches that every worker process can share.
MAX_BATCH_BYTES = 4 * 1024 * 1024
# Part of every job's payload digest (app/services/resubmissions.py): bump it whenever what
# this module or app/services/manifests.py stores for a batch changes, so that a payload
# submitted again is planned anew rather than copied in the old form. 2: a line per
# record (app/services/batch_records.py). 3: references to records stored before. 4: a record
# that fails but names its id supersedes the earlier records of that id.
PLAN_FORMAT = 4
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
    # (job id, batch) of every earlier batch these batches refer to for records' bytes.
    sources: set[tuple[UUID, int]] = field(default_factory=set)


def identities(adapter: Adapter, items: list[Any]) -> list[Identity | None]:
    return [_identity_or_none(adapter, item) for item in items]


def plan_batches(
    adapter: Adapter,
    items: list[Any],
    *,
    batch_size: int,
    options: Mapping[str, Any] | None = None,
    identified: list[Identity | None] | None = None,
    known: Mapping[str, Known] | None = None,
) -> Plan:
    """Batches of at most `batch_size` records and, unless one record alone is larger,
    MAX_BATCH_BYTES; each is serialized and compressed as soon as it is full, so no more
    than one batch of serialized records is held at a time. `options` are the job's
    parsed options, part of every record's fingerprint; `identified` the items'
    `identities`, when the caller has them. A record whose fingerprint is that of the
    stored record `known` gives for its source id is planned as a reference to it
    (app/services/record_sources.py); its size still counts towards MAX_BATCH_BYTES, so
    a batch holds the same records whether or not they were stored before."""
    identified = identified if identified is not None else identities(adapter, items)
    known = known or {}
    # The ids records claim, also those of records that will fail (a bad `deleted` beside a
    # good id): the later record wins even then, so the earlier is superseded, not written.
    claims = [i.source_id if i is not None else _failed_source_id(adapter, item) for i, item in zip(identified, items)]
    last_index = {source_id: index for index, source_id in enumerate(claims) if source_id is not None}
    fingerprint = manifests.Fingerprinter(adapter, options or {})
    batches: list[PlannedBatch] = []
    sources: set[tuple[UUID, int]] = set()
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
        identity = identified[index]
        superseded = claims[index] is not None and last_index[claims[index]] != index
        source_id, digest = usable_id(identity), fingerprint(encoded)
        stored = known.get(source_id) if source_id is not None else None
        referred = stored is not None and stored.fingerprint == digest
        if referred:
            parts.append(batch_records.reference_line(index, superseded, stored.location))  # type: ignore[union-attr]
            sources.add((stored.location.job_id, stored.location.batch))  # type: ignore[union-attr]
        else:
            parts.append(batch_records.line(index, superseded, encoded))
        lines.append(manifests.Line(index, source_id, bool(identity and identity.deleted), superseded, digest, referred))
        size += len(encoded)
    if parts:
        pending.append(_batch(parts, lines))
    batches.extend(_finished(p) for p in pending)
    return Plan(record_count=len(items), batches=batches, sources=sources)


def _batch(parts: list[bytes], lines: list[manifests.Line]) -> _Pending:
    return _Pending(len(parts), _compressor.submit(blobs.pack, batch_records.encode(parts)), manifests.encode(lines))


def _finished(pending: _Pending) -> PlannedBatch:
    return PlannedBatch(pending.record_count, pending.items.result(), pending.manifest)


def usable_id(identity: Identity | None) -> str | None:
    """The record's source id, None for one the worker would refuse: the worker then reads
    the record and says why."""
    usable = identity is not None and isinstance(identity.source_id, str) and "\x00" not in identity.source_id
    return identity.source_id if usable else None  # type: ignore[union-attr]



def _failed_source_id(adapter: Adapter, item: Any) -> str | None:
    """The id a record that cannot be identified still names (RecordError.source_id), if any."""
    try:
        adapter.identify(item)
    except RecordError as error:
        return getattr(error, "source_id", None)
    except Exception:  # noqa: BLE001 - reported per record by the worker
        return None
    return None


def _identity_or_none(adapter: Adapter, item: Any) -> Identity | None:
    """A record without a usable id fails later, on its own, with the adapter's message."""
    try:
        return adapter.identify(item)
    except Exception:  # noqa: BLE001 - any failure here is reported per record by the worker
        return None
