"""Splitting a stream of records into job bodies under both server limits: records and bytes.

Each record is encoded once; a body is the encoded records joined into a template cut
from the real request, so a batch's size is known exactly before it is sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from kb_client import errors

Envelope = Callable[[list[Any]], Any]
_SLOT = "\x00kb-client-records\x00"


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON, as the body is sent."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def records_envelope(items: list[Any]) -> Any:
    """generic-json: `{"records": [...]}`."""
    return {"records": items}


def content_hub_envelope(items: list[Any]) -> Any:
    """content-hub: `[[...items], {}]`, the export's items followed by its (unused) metadata."""
    return [items, {}]


ENVELOPES: dict[str, Envelope] = {"generic-json": records_envelope, "content-hub": content_hub_envelope}


@dataclass(frozen=True)
class BodyTemplate:
    """A job body with a hole where the records go: `prefix + b",".join(records) + suffix`."""

    prefix: bytes
    suffix: bytes

    @classmethod
    def for_job(cls, *, adapter: str, knowledge_base_id: str, envelope: Envelope,
                options: dict[str, Any] | None = None) -> BodyTemplate:
        body: dict[str, Any] = {"adapterType": adapter, "knowledgeBaseId": knowledge_base_id, "data": envelope([_SLOT])}
        if options is not None:
            body["options"] = options
        prefix, _, suffix = encode(body).partition(encode(_SLOT))
        if not suffix:
            raise ValueError("the envelope must place the records list in the body exactly once")
        return cls(prefix, suffix)

    def size(self, record_bytes: int, count: int) -> int:
        return len(self.prefix) + len(self.suffix) + record_bytes + max(count - 1, 0)

    def render(self, records: list[bytes]) -> bytes:
        return self.prefix + b",".join(records) + self.suffix


@dataclass(frozen=True)
class Batch:
    first: int
    count: int
    body: bytes


def batches(records: Iterable[Any], *, template: BodyTemplate, max_records: int, max_bytes: int) -> Iterator[Batch]:
    """Consume `records` lazily, yielding a batch as soon as it holds `max_records`, or as
    soon as the next record would take it past `max_bytes`: a full batch is sent before
    the iterable is asked for more, which may block, fail or never end."""
    pending: list[bytes] = []
    pending_bytes = 0
    first = 0
    for index, record in enumerate(records):
        try:
            encoded = encode(record)
        except (TypeError, ValueError) as error:
            raise errors.InvalidRecord(f"record {index} ({_label(record)}) is not JSON: {error}") from None
        if template.size(len(encoded), 1) > max_bytes:
            raise errors.RecordTooLarge(
                f"record {index} ({_label(record)}) encodes to {len(encoded)} bytes; with the job envelope that is over "
                f"the {max_bytes}-byte request limit, so it cannot be submitted at all"
            )
        if pending and template.size(pending_bytes + len(encoded), len(pending) + 1) > max_bytes:
            yield Batch(first, len(pending), template.render(pending))
            first, pending, pending_bytes = index, [], 0
        pending.append(encoded)
        pending_bytes += len(encoded)
        if len(pending) >= max_records:
            yield Batch(first, len(pending), template.render(pending))
            first, pending, pending_bytes = index + 1, [], 0
    if pending:
        yield Batch(first, len(pending), template.render(pending))


def _label(record: Any) -> str:
    if isinstance(record, dict) and "id" in record:
        return f"id {record['id']!r}"
    return type(record).__name__
