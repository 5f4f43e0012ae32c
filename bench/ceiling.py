"""The ceiling: the same records written straight into `entries` with one COPY.

Rows are built before the clock starts (the same title and content hash the service
stores), so the figure is PostgreSQL's own write speed for this table on this machine.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from adapters.generic_json import GenericJsonAdapter
from app.services.hashing import content_hash
from bench import usage

COLUMNS = (
    "id, workspace_id, knowledge_base_id, source_id, title, content, content_type, metadata, tags, url,"
    " content_hash, version, last_job_id, created_at, updated_at"
)


def entry_rows(records: Iterable[dict[str, Any]], workspace_id: str, knowledge_base_id: str) -> list[tuple[Any, ...]]:
    """The entries' rows for `copy_rows`, built once however many times they are COPYed
    (into an emptied table: the ids are fixed here)."""
    workspace, knowledge_base = uuid.UUID(workspace_id), uuid.UUID(knowledge_base_id)
    adapter = GenericJsonAdapter()
    now = datetime.now(UTC)
    rows = []
    for raw in records:
        record = adapter.normalize(raw, {})
        rows.append((
            uuid.uuid4(), workspace, knowledge_base, record.source_id, record.title, record.content,
            record.content_type, orjson.dumps(record.metadata).decode(), orjson.dumps(record.tags).decode(), record.url,
            content_hash(adapter.fingerprint(raw, {})), 1, None, now, now,
        ))  # fmt: skip
    return rows


@dataclass(frozen=True)
class Ceiling:
    rows: int
    seconds: float
    client_cpu: float
    server_cpu: float


def copy_rows(database_url: str, rows: list[tuple[Any, ...]]) -> Ceiling:
    """COPY `rows` (from `entry_rows`) into entries, commit included, with the CPU it took on both ends."""
    with psycopg.connect(database_url) as conn:
        backend = conn.info.backend_pid
        server_before, client_before = usage.cpu_seconds(backend), time.process_time()
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(f"COPY entries ({COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - started
        client, server = time.process_time() - client_before, usage.cpu_seconds(backend) - server_before
    return Ceiling(len(rows), elapsed, client, server)
