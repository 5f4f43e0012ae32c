"""How a batch's records are stored: one `[seq,superseded,record]` JSON line per record,
compressed (app/services/blobs.py).

A line per record lets a reader parse only the records it needs. A worker re-running a
batch with one record in ten changed reads those fifty lines and leaves the rest as
bytes, where one JSON array had it parse all 500 (15% of the workers' CPU on such a
re-run); `includePayload` splices the records' JSON back into the payload without
parsing any. orjson never writes a raw newline (it escapes those inside strings), so a
newline always ends a record.

Batches planned before this format (planning.PLAN_FORMAT 1) hold one JSON array of the
same triples; they start with `[[`, which a line never does, and are read as before.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

import orjson

from app.services import blobs

_ARRAY_FORMAT = b"[["


def encode(lines: list[bytes]) -> bytes:
    """`lines`: one orjson-serialized `[seq,superseded,record]` each."""
    return b"\n".join(lines)


def decode(blob: bytes, seqs: Container[int] | None = None) -> list[tuple[int, bool, Any]]:
    """(seq, superseded, record) of every record, or of those whose seq is in `seqs`."""
    data = blobs.unpack(blob)
    if data.startswith(_ARRAY_FORMAT):
        return [(seq, superseded, raw) for seq, superseded, raw in orjson.loads(data) if seqs is None or seq in seqs]
    decoded = []
    for line in data.split(b"\n"):
        if seqs is None or int(line[1 : line.index(b",")]) in seqs:
            seq, superseded, raw = orjson.loads(line)
            decoded.append((seq, superseded, raw))
    return decoded


def raw_records(blob: bytes) -> list[bytes]:
    """Each record's JSON as stored, unparsed, in order."""
    data = blobs.unpack(blob)
    if data.startswith(_ARRAY_FORMAT):
        return [orjson.dumps(raw) for _seq, _superseded, raw in orjson.loads(data)]
    # After `[seq,` and `true,` or `false,` (neither holds a comma), up to the closing `]`.
    return [line[line.index(b",", line.index(b",") + 1) + 1 : -1] for line in data.split(b"\n")]
