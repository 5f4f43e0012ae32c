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
    batches = [
        PlannedBatch(
            len(chunk),
            blobs.pack(orjson.dumps([[index, last_index.get(source_ids[index], index) != index, items[index]] for index in chunk])),
        )
        for chunk in _chunks(len(items), batch_size)
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


def _chunks(count: int, size: int) -> Iterator[range]:
    for start in range(0, count, size):
        yield range(start, min(start + size, count))
