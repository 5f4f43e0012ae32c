"""A batch's entry lookups and deletes on PostgreSQL probe the index once per id, whatever the statistics say.

A knowledge base created since the last ANALYZE looks empty to the planner. With the
plain `knowledge_base_id = $1 AND source_id = ANY($2)` it then scanned every entry of
that knowledge base and filtered, so each batch of a first load read everything the load
had written so far (a 100,000-record job took minutes). These tests load a new knowledge
base without analyzing it, beside an analyzed one, and count the rows the plan touches.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID, uuid4

import orjson
import psycopg
import pytest
from sqlalchemy import text

from app.db import transaction
from app.models import DEFAULT_WORKSPACE_ID
from app.services import entry_writes, postgres_writes
from app.services.ingest import Delete

pytestmark = pytest.mark.parametrize("backend", ["postgres"])

LOADED = 20_000


def load(service, knowledge_base_id: str, count: int) -> None:
    with service.runtime.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO entries (id, workspace_id, knowledge_base_id, source_id, title, content, content_type, "
                "metadata, tags, content_hash, version, created_at, updated_at) "
                "SELECT gen_random_uuid(), :workspace, :kb, 'rec-' || g, 't', 'c', 'text/markdown', '{}', '[]', "
                "md5(g::text), 1, now(), now() FROM generate_series(1, :count) AS g"
            ),
            {"workspace": DEFAULT_WORKSPACE_ID, "kb": UUID(knowledge_base_id), "count": count},
        )


@pytest.fixture
def new_knowledge_base(service) -> str:
    """A new knowledge base of LOADED entries that ANALYZE has not seen, beside an analyzed one."""
    with service.runtime.engine.begin() as connection:
        # Statistics stay as the test makes them (autovacuum might analyze midway otherwise).
        connection.execute(text("ALTER TABLE entries SET (autovacuum_enabled = false)"))
    old = service.create_kb("old")
    load(service, old, 5_000)
    with service.runtime.engine.begin() as connection:
        connection.execute(text("ANALYZE entries"))
    new = service.create_kb("new")
    load(service, new, LOADED)
    return new


def entry_rows_touched(plan: dict[str, Any]) -> int:
    """Rows read from `entries` by every node of an EXPLAIN ANALYZE plan, kept or filtered out."""
    touched = 0
    if plan.get("Relation Name") == "entries":
        kept = plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0) + plan.get("Rows Removed by Index Recheck", 0)
        touched += kept * plan.get("Actual Loops", 1)
    return touched + sum(entry_rows_touched(child) for child in plan.get("Plans", []))


def explain(service, statement: str, params: dict[str, Any]) -> dict[str, Any]:
    with transaction(service.runtime.sessions) as session:
        connection = postgres_writes._connection(session)
        (rows,) = connection.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params).fetchone()
        session.rollback()  # EXPLAIN ANALYZE of a DELETE deletes
    plan = rows if isinstance(rows, list) else orjson.loads(rows)
    return plan[0]["Plan"]


def wanted() -> list[str]:
    """500 ids, half of them stored."""
    return [f"rec-{i}" for i in range(LOADED - 249, LOADED + 251)]


def test_stored_hashes_of_a_batch_read_only_its_own_entries(service, new_knowledge_base):
    with transaction(service.runtime.sessions) as session:
        found = postgres_writes.stored_hashes(session, knowledge_base_id=UUID(new_knowledge_base), source_ids=wanted())
    assert sorted(found) == sorted(f"rec-{i}" for i in range(LOADED - 249, LOADED + 1))
    assert found["rec-20000"].content_hash is not None

    params = {"knowledge_base_id": UUID(new_knowledge_base), "source_ids": wanted()}
    plan = explain(service, postgres_writes._STORED_HASHES, params)
    assert entry_rows_touched(plan) <= 500, plan


def test_deletes_of_a_batch_touch_only_their_own_entries(service, new_knowledge_base):
    params = {"knowledge_base_id": UUID(new_knowledge_base), "source_ids": wanted()}
    plan = explain(service, postgres_writes._REMOVE, params)
    assert entry_rows_touched(plan) <= 2 * 500, plan

    with transaction(service.runtime.sessions) as session:
        removed = postgres_writes.remove(session, knowledge_base_id=UUID(new_knowledge_base), source_ids=wanted() + ["rec-1"])
    assert sorted(removed) == sorted([f"rec-{i}" for i in range(LOADED - 249, LOADED + 1)] + ["rec-1"])
    with service.runtime.engine.connect() as connection:
        left = connection.execute(text("SELECT count(*) FROM entries WHERE knowledge_base_id = :kb"), {"kb": UUID(new_knowledge_base)})
        assert left.scalar() == LOADED - 251


def test_lookups_stay_within_one_knowledge_base(service, new_knowledge_base):
    other = service.create_kb(f"other-{uuid4().hex}")
    load(service, other, 10)
    with transaction(service.runtime.sessions) as session:
        found = postgres_writes.stored_hashes(session, knowledge_base_id=UUID(other), source_ids=wanted() + ["rec-3"])
        removed = postgres_writes.remove(session, knowledge_base_id=UUID(other), source_ids=["rec-20000", "rec-4"])
    assert list(found) == ["rec-3"]
    assert list(removed) == ["rec-4"]


def test_a_delete_waits_for_a_concurrent_upsert_instead_of_deadlocking_with_it(service, new_knowledge_base):
    """Rows are locked in source id order, as upserts lock theirs: "rec-10" before "rec-2",
    the reverse of their order on disk. Locked in disk order, the delete would hold "rec-2"
    while waiting for "rec-10", and the upsert holding "rec-10" would then wait for "rec-2"."""
    kb = UUID(new_knowledge_base)
    update = "UPDATE entries SET title = 'changed' WHERE knowledge_base_id = %s AND source_id = %s"
    with psycopg.connect(service.runtime.settings.database_url.replace("+psycopg", ""), autocommit=False) as upsert:
        upsert.execute("SET lock_timeout = '10s'")
        upsert.execute(update, (kb, "rec-10"))
        outcome: dict[str, Any] = {}

        def delete_both() -> None:
            try:
                with transaction(service.runtime.sessions) as session:
                    deletes = [Delete(seq=0, source_id="rec-2"), Delete(seq=1, source_id="rec-10")]
                    outcome["removed"] = entry_writes.remove(session, knowledge_base_id=kb, deletes=deletes)
            except Exception as error:  # noqa: BLE001 - reported below
                outcome["error"] = error

        deleting = threading.Thread(target=delete_both)
        deleting.start()
        wait_for_a_lock_wait(upsert)
        upsert.execute(update, (kb, "rec-2"))  # deadlocked here, before
        upsert.commit()
        deleting.join(timeout=30)
    assert "error" not in outcome, outcome
    assert sorted(outcome["removed"]) == ["rec-10", "rec-2"]


def wait_for_a_lock_wait(connection: psycopg.Connection, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    query = (
        "SELECT count(*) FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
        "WHERE NOT l.granted AND a.datname = current_database()"
    )
    while connection.execute(query).fetchone()[0] == 0:  # type: ignore[index]
        assert time.monotonic() < deadline, "the delete never waited for the upsert's row"
        time.sleep(0.02)
