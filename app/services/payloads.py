"""A job's submitted payload, stored once: its records in the batches, the rest beside them.

The records make up nearly all of a payload and the batches already hold every one of
them, so the payload row keeps only the envelope (the payload with its records array
emptied) and where the records go back. `includePayload` reassembles the payload from
the two; a submission no longer compresses and writes its records twice, which was a
third of the API's CPU per job. The records are found where `items()` took them from: the
payload itself, or a list one key or index down equal to them (a copy compares element by
element, each the same object, so cheaply); anywhere else, the whole payload is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from app.services import batch_records, blobs

WHOLE_PAYLOAD = ""


def envelope(data: Any, items: list[Any]) -> tuple[bytes, str | None]:
    """(stored body, records pointer): a one-level JSON Pointer (RFC 6901) to where the
    records were, "" when they are the whole payload, None when the body is the whole payload."""
    if data is items:
        return blobs.pack(b"null"), WHOLE_PAYLOAD
    if isinstance(data, dict):
        for key, value in data.items():
            if value is items or (isinstance(value, list) and value == items):
                return blobs.pack(orjson.dumps({**data, key: None})), "/" + key.replace("~", "~0").replace("/", "~1")
    if isinstance(data, list):
        for index, value in enumerate(data):
            if value is items or (isinstance(value, list) and value == items):
                return blobs.pack(orjson.dumps([None if i == index else v for i, v in enumerate(data)])), f"/{index}"
    return blobs.pack(orjson.dumps(data)), None


def reassemble(body: bytes, records_pointer: str | None, batches: Iterable[bytes]) -> bytes:
    """The payload as submitted (re-serialized), from the stored body and batches in order."""
    if records_pointer is None:
        return blobs.unpack(body)
    records = b"[" + b",".join(raw for blob in batches for raw in batch_records.raw_records(blob)) + b"]"
    if records_pointer == WHOLE_PAYLOAD:
        return records
    outer = orjson.loads(blobs.unpack(body))
    token = records_pointer[1:].replace("~1", "/").replace("~0", "~")
    outer[int(token) if isinstance(outer, list) else token] = orjson.Fragment(records)
    return orjson.dumps(outer)
