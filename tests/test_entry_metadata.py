"""An entry's metadata and tags come back as they were sent, on both databases.

PostgreSQL's jsonb reordered keys and rewrote numbers (1e20 as 21 digits, -0.0 as 0);
the entries' columns are json, which keeps the text (migration 0015).
"""

from __future__ import annotations

import math

import pytest
from sqlalchemy import text

from tests.test_batch_origins import _alembic

METADATA = {"zeta": 1, "alpha": "a", "big": 1e20, "negative_zero": -0.0, "huge": 1.5e300, "nested": {"y": [2.5, 1], "b": None}}
TAGS = ["b-tag", "a-tag"]


def test_metadata_and_tags_come_back_as_sent(service):
    kb = service.create_kb()
    job = service.run(kb, [{"id": "a", "content": "x", "metadata": METADATA, "tags": TAGS}])
    assert job["data"]["progress"]["successful"] == 1
    (entry,) = service.client.get(f"/api/v2/knowledge-bases/{kb}/entries").json()["entries"]
    metadata = entry["metadata"]
    assert list(metadata) == list(METADATA) and list(metadata["nested"]) == ["y", "b"]
    assert type(metadata["big"]) is float and metadata["big"] == 1e20
    assert type(metadata["huge"]) is float and metadata["huge"] == 1.5e300
    assert math.copysign(1, metadata["negative_zero"]) == -1
    assert metadata == METADATA and entry["tags"] == TAGS


def test_an_update_keeps_them_as_sent_too(service):
    kb = service.create_kb()
    service.run(kb, [{"id": "a", "content": "x", "metadata": {"k": 1}}])
    service.run(kb, [{"id": "a", "content": "y", "metadata": METADATA, "tags": TAGS}])  # the upsert, not the COPY
    (entry,) = service.client.get(f"/api/v2/knowledge-bases/{kb}/entries").json()["entries"]
    assert entry["version"] == 2
    assert list(entry["metadata"]) == list(METADATA) and math.copysign(1, entry["metadata"]["negative_zero"]) == -1


@pytest.mark.parametrize("backend", ["postgres"])
def test_the_migration_keeps_the_entries_and_the_downgrade_brings_jsonb_back(service):
    kb = service.create_kb()
    service.run(kb, [{"id": "a", "content": "x", "metadata": {"k": [1, 2]}, "tags": ["t"]}])

    def types() -> set[str]:
        with service.runtime.engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT data_type FROM information_schema.columns WHERE table_name = 'entries' AND column_name IN ('metadata', 'tags')"
            ))
            return {row[0] for row in rows}

    assert types() == {"json"}
    _alembic(service, "downgrade", "0014_failed_results_index")
    assert types() == {"jsonb"}
    _alembic(service, "upgrade", "head")
    assert types() == {"json"}
    (entry,) = service.client.get(f"/api/v2/knowledge-bases/{kb}/entries").json()["entries"]
    assert (entry["metadata"], entry["tags"]) == ({"k": [1, 2]}, ["t"])
