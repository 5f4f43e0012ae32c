"""What the API learns of each record while planning a batch, for the worker to triage with.

Per record: its position in the payload, its source id (None when the adapter cannot
tell one: the worker then reads the record and reports why), whether it asks for
deletion, whether a later record of the job supersedes it, and its fingerprint, a
SHA-256 over the adapter, its version, the job's options and the record's raw JSON.
An entry whose stored `source_hash` equals a record's fingerprint was written from
exactly that input, so a worker skips the record as unchanged without reading,
parsing, normalizing or hashing it: a re-run of an unchanged export never opens its
batches. The API already holds each record's JSON while it plans, so the fingerprint
costs one hash over bytes in hand. Last, whether the batch stores the record as a
reference to an earlier job's line (app/services/record_sources.py): a worker points an
entry at this batch's line only when the line holds the record itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson

from adapters.base import Adapter

# A change to what is stored here must bump planning.PLAN_FORMAT.
# 128 bits of SHA-256: collisions stay out of reach, and the column stays small.
FINGERPRINT_HEX_LENGTH = 32


class Line(NamedTuple):
    """A NamedTuple, not a frozen dataclass: a worker decodes 500 per batch, the API makes
    one per record, and a frozen dataclass's __init__ cost four times as much."""

    seq: int
    source_id: str | None
    deleted: bool
    superseded: bool
    fingerprint: str
    # The batch stores a reference to the record, not its JSON (app/services/record_sources.py).
    referred: bool = False


class Fingerprinter:
    """Fingerprints records of one job: the adapter, its version and the options are
    hashed once, and every record continues from a copy of that state."""

    def __init__(self, adapter: Adapter, options: Mapping[str, Any]) -> None:
        head = orjson.dumps([adapter.name, adapter.version, options], option=orjson.OPT_SORT_KEYS)
        self._state = hashlib.sha256(head + b"\n")

    def __call__(self, raw_json: bytes) -> str:
        state = self._state.copy()
        state.update(raw_json)
        return state.hexdigest()[:FINGERPRINT_HEX_LENGTH]


def encode(lines: list[Line]) -> bytes:
    return orjson.dumps([tuple(line) for line in lines])


def decode(blob: bytes) -> list[Line]:
    """Manifests planned before references (planning.PLAN_FORMAT 2 and older) have five
    fields a line, and their batches store every record in full."""
    return [Line(*fields) for fields in orjson.loads(blob)]
