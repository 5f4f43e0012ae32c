"""A batch that fails every time ends its job `failed` with the last error, never `processing`.

The failure is real: the database itself refuses one record's entry or result row (a
trigger, as a full disk or a constraint added by an operator would), on every attempt, on
both deployments.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.reliability.ledger import assert_counted_once, attempts, records

def refuse_doc_3(service, table: str = "entries") -> None:  # type: ignore[no-untyped-def]
    """From now on the database refuses to insert `doc-3`'s row into `table`."""
    if service.runtime.settings.is_sqlite:
        statements = [
            f"""CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} WHEN NEW.source_id = 'doc-3'
            BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"""
        ]
    else:
        statements = [
            f"""CREATE FUNCTION refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.source_id = 'doc-3' THEN RAISE EXCEPTION 'disk quota exceeded'; END IF;
                RETURN NEW;
            END $$""",
            f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_{table}()",
        ]
    with service.runtime.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def error_name(service) -> str:  # type: ignore[no-untyped-def]
    return "IntegrityError" if service.runtime.settings.is_sqlite else "RaiseException"


@pytest.mark.parametrize("settings_overrides", [{"batch_size": 2, "message_retries": 1, "max_batch_attempts": 5}])
def test_a_batch_whose_retries_run_out_fails_its_job_with_the_last_error(service):
    kb = service.create_kb()
    refuse_doc_3(service)

    job = service.run(kb, records(5))

    assert job["status"] == "failed"
    assert job["result"]["error"] == (
        f"batch 1 could not be applied after 2 attempts; last error: {error_name(service)}: disk quota exceeded"
    )
    assert attempts(service.runtime.engine, job["id"])[1] == 2
    ledger = assert_counted_once(service.runtime.engine, job["id"])
    assert ledger.processed < 5, "the refused batch counts nothing"


@pytest.mark.parametrize("settings_overrides", [{"batch_size": 2, "message_retries": 10, "max_batch_attempts": 2}])
def test_a_failing_batch_stops_at_its_attempt_budget_before_dramatiq_runs_out_of_retries(service):
    kb = service.create_kb()
    refuse_doc_3(service)

    job = service.run(kb, records(5))

    assert job["status"] == "failed"
    assert job["result"]["error"] == (
        f"batch 1 could not be applied after 2 attempts; last error: {error_name(service)}: disk quota exceeded"
    )
    assert attempts(service.runtime.engine, job["id"])[1] == 2
    assert_counted_once(service.runtime.engine, job["id"])


@pytest.mark.parametrize("settings_overrides", [{"batch_size": 2, "message_retries": 10, "max_batch_attempts": 2}])
def test_a_batch_settled_by_its_manifest_that_fails_still_counts_its_attempts(service):
    """An unchanged re-run applies each batch in the transaction that claims it, so a
    failure there rolls the claim back: the attempt must still be counted, or the batch
    would be retried until Dramatiq gives up instead of within its attempt budget."""
    kb = service.create_kb()
    assert service.run(kb, records(5))["status"] == "completed"
    refuse_doc_3(service, "job_results")

    job = service.run(kb, records(5))

    assert job["status"] == "failed"
    assert job["result"]["error"] == (
        f"batch 1 could not be applied after 2 attempts; last error: {error_name(service)}: disk quota exceeded"
    )
    assert attempts(service.runtime.engine, job["id"]) == {0: 1, 1: 2, 2: 1}
    ledger = assert_counted_once(service.runtime.engine, job["id"])
    assert (ledger.processed, ledger.skipped) == (3, 3), "the refused batch counts nothing"
