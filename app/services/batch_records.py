"""How a batch's records are stored: one `[seq,superseded,record]` JSON line per record,
compressed (app/services/blobs.py), or, for a record stored before, a reference to it.

A line per record lets a reader parse only the records it needs. A worker re-running a
batch with one record in ten changed reads those fifty lines and leaves the rest as
bytes, where one JSON array had it parse all 500 (15% of the workers' CPU on such a
re-run); `includePayload` splices the records' JSON back into the payload without
parsing any. orjson never writes a raw newline (it escapes those inside strings), so a
newline always ends a record.

A reference line, `*[seq,superseded,"job id",batch,record seq]`, stands for a record
whose exact JSON an earlier job stored: the entry it wrote says where
(app/services/record_sources.py). A nightly export with one record in ten changed then
compresses and writes the changed tenth, not the whole export again. A reference always
points at a full line, never at another reference.

Batches planned before this format (planning.PLAN_FORMAT 1) hold one JSON array of the
same triples; they start with `[[`, which a line never does, and are read as before.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any, NamedTuple
from uuid import UUID

import orjson

from app.services import blobs

_ARRAY_FORMAT = b"[["
_REFERENCE = b"*"


class Location(NamedTuple):
    """Where a record's full line is stored: its job, the batch's seq, the record's seq."""

    job_id: UUID
    batch: int
    seq: int


class Reference(NamedTuple):
    """A record decoded from a reference line: its bytes are at `location`."""

    location: Location


def encode(lines: list[bytes]) -> bytes:
    """`lines`: one orjson-serialized `[seq,superseded,record]` each, or a `reference_line`."""
    return b"\n".join(lines)


def line(seq: int, superseded: bool, raw_json: bytes) -> bytes:
    return b"[%d,%s,%s]" % (seq, b"true" if superseded else b"false", raw_json)


def reference_line(seq: int, superseded: bool, location: Location) -> bytes:
    job_id, batch, record = location
    return b'*[%d,%s,"%s",%d,%d]' % (seq, b"true" if superseded else b"false", job_id.hex.encode(), batch, record)


def decode(blob: bytes, seqs: Container[int] | None = None) -> list[tuple[int, bool, Any]]:
    """(seq, superseded, record) of every record, or of those whose seq is in `seqs`; the
    record is a Reference where the batch refers to it (record_sources.resolve reads those).

    Lines are parsed where they lie, through a memoryview: splitting the batch first
    copied every line, and decoding 500 lines took 15 against 9 µs per record."""
    data = blobs.unpack(blob)
    if data.startswith(_ARRAY_FORMAT):
        return [(seq, superseded, raw) for seq, superseded, raw in orjson.loads(data) if seqs is None or seq in seqs]
    view, decoded = memoryview(data), []
    start, end = 0, len(data)
    while True:
        stop = data.find(b"\n", start)
        if stop == -1:
            stop = end
        referred = data.startswith(_REFERENCE, start)
        if seqs is None or int(data[start + 1 + referred : data.index(b",", start)]) in seqs:
            if referred:
                seq, superseded, location = _reference_line(data[start:stop])
                decoded.append((seq, superseded, Reference(location)))
            else:
                seq, superseded, raw = orjson.loads(view[start:stop])
                decoded.append((seq, superseded, raw))
        if stop == end:
            return decoded
        start = stop + 1


Load = Callable[[UUID, int], bytes]


def raw_records(blob: bytes, load: Load | None = None) -> list[bytes]:
    """Each record's JSON as stored, unparsed, in order. `load(job_id, batch)` gives the
    stored blob of a batch referred to; each is loaded once, whatever number of this
    batch's records it holds. Without `load`, a reference raises LookupError."""
    data = blobs.unpack(blob)
    if data.startswith(_ARRAY_FORMAT):
        return [orjson.dumps(raw) for _seq, _superseded, raw in orjson.loads(data)]
    lines = [_reference_line(text)[2] if text[:1] == _REFERENCE else _raw(text) for text in data.split(b"\n")]
    found = referred([line for line in lines if isinstance(line, Location)], load)
    return [found[line] if isinstance(line, Location) else line for line in lines]


def referred(locations: list[Location], load: Load | None) -> dict[Location, bytes]:
    """The JSON of the records at `locations`, reading each batch they are in once, one
    batch at a time (LookupError for a batch or record that is not stored in full)."""
    if not locations:
        return {}
    if load is None:
        raise LookupError(f"the batch refers to records of job {locations[0].job_id}, and no stored batch was given to read them from")
    by_batch: dict[tuple[UUID, int], list[Location]] = {}
    for location in locations:
        by_batch.setdefault((location.job_id, location.batch), []).append(location)
    found = {}
    for (job_id, batch), here in by_batch.items():
        records = by_seq(load(job_id, batch))
        for location in here:
            if location.seq not in records:
                raise LookupError(f"record {location.seq} is not stored in full in batch {batch} of job {job_id}")
            found[location] = records[location.seq]
    return found


def by_seq(blob: bytes) -> dict[int, bytes]:
    """seq → JSON of every record the batch stores in full (references left out)."""
    data = blobs.unpack(blob)
    if data.startswith(_ARRAY_FORMAT):
        return {seq: orjson.dumps(raw) for seq, _superseded, raw in orjson.loads(data)}
    return {int(text[1 : text.index(b",")]): _raw(text) for text in data.split(b"\n") if text[:1] != _REFERENCE}


def _raw(text: bytes) -> bytes:
    # After `[seq,` and `true,` or `false,` (neither holds a comma), up to the closing `]`.
    return text[text.index(b",", text.index(b",") + 1) + 1 : -1]


def _reference_line(text: bytes) -> tuple[int, bool, Location]:
    seq, superseded, job_id, batch, record = orjson.loads(text[1:])
    return seq, superseded, Location(UUID(job_id), batch, record)
