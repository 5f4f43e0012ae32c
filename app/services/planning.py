"""Splitting a submitted payload into batches, the units the workers process in parallel.

Duplicate source ids are resolved here, once, in submission order ("the later one
wins"): every earlier occurrence is marked superseded. That keeps batches independent,
so two workers never race on the same entry of one job.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from adapters.base import Adapter
from app.services import blobs

# A batch also ends before this much raw JSON: 500 generic-json records of a few KB stay
# one batch, while 500 content-hub pages of ~100 KB (a minute of HTML conversion) become
# a dozen batches that every worker process can share.
MAX_BATCH_BYTES = 4 * 1024 * 1024
_FLAG = {True: b"true", False: b"false"}


@dataclass(frozen=True, slots=True)
class PlannedBatch:
    record_count: int
    items: bytes


@dataclass(frozen=True, slots=True)
class Plan:
    record_count: int
    batches: list[PlannedBatch]


def plan_batches(adapter: Adapter, items: list[Any], *, batch_size: int) -> Plan:
    source_ids = [_source_id_or_none(adapter, item) for item in items]
    last_index = {source_id: index for index, source_id in enumerate(source_ids) if source_id is not None}
    encoded = [orjson.dumps(item) for item in items]
    batches = [
        PlannedBatch(
            len(chunk),
            blobs.pack(b"[" + b",".join(b"[%d,%s,%s]" % (i, _FLAG[last_index.get(source_ids[i], i) != i], encoded[i]) for i in chunk) + b"]"),
        )
        for chunk in _chunks([len(e) for e in encoded], batch_size)
    ]
    return Plan(record_count=len(items), batches=batches)


def decode_batch(blob: bytes) -> list[tuple[int, bool, Any]]:
    return [(seq, superseded, raw) for seq, superseded, raw in orjson.loads(blobs.unpack(blob))]


def _source_id_or_none(adapter: Adapter, item: Any) -> str | None:
    """A record without a usable id fails later, on its own, with the adapter's message."""
    try:
        return adapter.identify(item).source_id
    except Exception:  # noqa: BLE001 - any failure here is reported per record by the worker
        return None


def _chunks(sizes: list[int], count: int) -> Iterator[range]:
    """Runs of at most `count` records and, unless one record alone is larger, MAX_BATCH_BYTES."""
    start, total = 0, 0
    for index, size in enumerate(sizes):
        if index > start and (index - start == count or total + size > MAX_BATCH_BYTES):
            yield range(start, index)
            start, total = index, 0
        total += size
    if start < len(sizes):
        yield range(start, len(sizes))
