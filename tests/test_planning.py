"""Splitting a payload into batches, and resolving duplicate ids once at submission."""

from adapters import registry
from app.services.batch_records import decode
from app.services.planning import plan_batches

ADAPTER = registry.get("generic-json")


def test_records_are_split_into_batches_of_the_configured_size_in_order():
    items = [{"id": f"r{i}", "content": "x"} for i in range(25)]
    plan = plan_batches(ADAPTER, items, batch_size=10)
    assert plan.record_count == 25
    assert [b.record_count for b in plan.batches] == [10, 10, 5]
    decoded = [entry for b in plan.batches for entry in decode(b.items)]
    assert [seq for seq, _, _ in decoded] == list(range(25))
    assert [raw for _, _, raw in decoded] == items


def test_every_earlier_occurrence_of_an_id_is_superseded_across_batches():
    items = [{"id": "a", "content": "1"}, {"id": "b", "content": "1"}, {"id": "a", "content": "2"}, {"content": "no id"}, {"id": "a", "deleted": True}]
    plan = plan_batches(ADAPTER, items, batch_size=2)
    flags = [superseded for b in plan.batches for _, superseded, _ in decode(b.items)]
    assert flags == [True, False, True, False, False]
