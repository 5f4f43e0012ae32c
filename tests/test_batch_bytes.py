"""Batches end at BATCH_SIZE records or MAX_BATCH_BYTES of JSON, so large documents still spread over workers."""

from adapters import registry
from app.services import planning
from app.services.batch_records import decode
from app.services.planning import plan_batches

ADAPTER = registry.get("generic-json")


def test_large_records_end_a_batch_before_the_byte_limit(monkeypatch):
    monkeypatch.setattr(planning, "MAX_BATCH_BYTES", 10_000)
    items = [{"id": f"r{i}", "content": "x" * 3000} for i in range(10)]
    plan = plan_batches(ADAPTER, items, batch_size=500)
    assert [b.record_count for b in plan.batches] == [3, 3, 3, 1]
    assert [raw for b in plan.batches for _, _, raw in decode(b.items)] == items


def test_a_record_larger_than_the_byte_limit_is_a_batch_of_its_own(monkeypatch):
    monkeypatch.setattr(planning, "MAX_BATCH_BYTES", 1_000)
    items = [{"id": "small", "content": "x"}, {"id": "big", "content": "x" * 5000}, {"id": "small2", "content": "x"}]
    plan = plan_batches(ADAPTER, items, batch_size=500)
    assert [b.record_count for b in plan.batches] == [1, 1, 1]


def test_small_records_fill_batches_of_the_configured_size():
    items = [{"id": f"r{i}", "content": "x"} for i in range(25)]
    assert [b.record_count for b in plan_batches(ADAPTER, items, batch_size=10).batches] == [10, 10, 5]
