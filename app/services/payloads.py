"""A job's submitted payload, stored once: its records in the batches, the rest beside them.

The records make up nearly all of a payload and the batches already hold every one of
them, so the payload row keeps only the envelope (the payload with its records array
emptied) and where the records go back. `includePayload` reassembles the payload from
the two; a submission no longer compresses and writes its records twice, which was a
third of the API's CPU per job. The records are found where `items()` took them from: the
payload itself, or a list one key or index down holding the same objects (a copy of the
list); anywhere else, the whole payload is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from app.services import batch_records, blobs

WHOLE_PAYLOAD = ""
# Where a fragment goes in JSON made around it: orjson and msgspec escape every control
# character inside strings, so a raw NUL byte in their output is only ever this.
HOLE = b"\x00"


@dataclass(frozen=True)
class Stored:
    """A job's payload as stored: the envelope, where its records go, and every batch's records in order."""

    body: bytes
    records_pointer: str | None
    batches: list[bytes]
    # Reads a batch these refer to, by (job id, batch) (app/services/record_sources.py).
    load_referred: batch_records.Load | None = None


def envelope(data: Any, items: list[Any]) -> tuple[bytes, str | None]:
    """(stored body, records pointer): a one-level JSON Pointer (RFC 6901) to where the
    records were, "" when they are the whole payload, None when the body is the whole payload."""
    if data is items:
        return blobs.pack(b"null"), WHOLE_PAYLOAD
    if isinstance(data, dict):
        for key, value in data.items():
            if value is items or _same_members(value, items):
                return blobs.pack(orjson.dumps({**data, key: None})), "/" + key.replace("~", "~0").replace("/", "~1")
    if isinstance(data, list):
        for index, value in enumerate(data):
            if value is items or _same_members(value, items):
                return blobs.pack(orjson.dumps([None if i == index else v for i, v in enumerate(data)])), f"/{index}"
    return blobs.pack(orjson.dumps(data)), None


def _same_members(value: Any, items: list[Any]) -> bool:
    """`value` is a copy of the records list: the very same objects, in order. Equality
    would not do: a sibling list equal to the records under Python's == (0.0 and -0.0,
    1 and true, 2 and 2.0) was taken for them, and lost."""
    return type(value) is list and len(value) == len(items) and all(a is b for a, b in zip(value, items))


@dataclass(frozen=True)
class Spliced:
    """A stored payload ready to send: the envelope's JSON before and after its records
    (the whole payload in `head` when the records are not spliced in), and the batches."""

    head: bytes
    tail: bytes
    batches: list[bytes] | None
    load_referred: batch_records.Load | None = None

    def pieces(self) -> Iterator[bytes]:
        """The payload as submitted (re-serialized), one batch's records at a time: a 30 MB
        payload is never whole in memory, nor are the batches decompressed all at once
        (nor the batches referred to: app/services/record_sources.py)."""
        if self.batches is None:
            yield self.head
            return
        head, separator = self.head, b"["
        for blob in self.batches:
            yield head + separator + b",".join(batch_records.raw_records(blob, self.load_referred))
            head, separator = b"", b","
        yield head + (b"[]" if separator == b"[" else b"]") + self.tail


def splice(stored: Stored) -> Spliced:
    """Everything but the records, done at once, so a broken envelope fails here rather
    than while the payload is being sent."""
    if stored.records_pointer is None:
        return Spliced(blobs.unpack(stored.body), b"", None)
    if stored.records_pointer == WHOLE_PAYLOAD:
        return Spliced(b"", b"", stored.batches, stored.load_referred)
    outer = orjson.loads(blobs.unpack(stored.body))
    token = stored.records_pointer[1:].replace("~1", "/").replace("~0", "~")
    outer[int(token) if isinstance(outer, list) else token] = orjson.Fragment(HOLE)
    head, tail = orjson.dumps(outer).split(HOLE)
    return Spliced(head, tail, stored.batches, stored.load_referred)


def reassemble(stored: Stored) -> bytes:
    return b"".join(splice(stored).pieces())
