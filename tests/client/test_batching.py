"""Splitting records into jobs under the server's record and byte limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.db import transaction
from app.services import access_clients
from kb_client import Backoff, Client, errors
from kb_client.batching import BodyTemplate, batches, encode, records_envelope
from tests.client.records import articles

FAST = Backoff(initial=0.05, maximum=0.2)
TEMPLATE = BodyTemplate.for_job(adapter="generic-json", knowledge_base_id="kb-1", envelope=records_envelope)
json_records = st.lists(
    st.dictionaries(st.text(max_size=5), st.one_of(st.text(max_size=300), st.integers(), st.booleans()), max_size=4),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(records=json_records, max_records=st.integers(1, 10), max_bytes=st.integers(400, 2_000))
def test_batches_hold_every_record_in_order_within_both_limits(records: list[Any], max_records: int, max_bytes: int) -> None:
    try:
        planned = list(batches(records, template=TEMPLATE, max_records=max_records, max_bytes=max_bytes))
    except errors.RecordTooLarge:
        assert any(TEMPLATE.size(len(encode(r)), 1) > max_bytes for r in records)
        return
    bodies = [json.loads(b.body) for b in planned]
    assert [r for body in bodies for r in body["data"]["records"]] == records
    assert all(len(b.body) <= max_bytes and 0 < b.count <= max_records for b in planned)
    assert [b.first for b in planned] == [sum(p.count for p in planned[:i]) for i in range(len(planned))]
    assert all(body["adapterType"] == "generic-json" and body["knowledgeBaseId"] == "kb-1" for body in bodies)


def test_a_batch_is_closed_only_when_the_next_record_would_not_fit() -> None:
    records = articles(10, size=100)
    planned = list(batches(records, template=TEMPLATE, max_records=100, max_bytes=700))
    for batch, following in zip(planned, planned[1:], strict=False):
        with_next = records[batch.first : batch.first + batch.count + 1]
        assert len(TEMPLATE.render([encode(r) for r in with_next])) > 700
        assert following.first == batch.first + batch.count


def test_a_record_larger_than_a_whole_request_is_refused_before_sending() -> None:
    with pytest.raises(errors.RecordTooLarge, match="record 1 \\(id 'doc-1'\\)"):
        list(batches(articles(1) + articles(1, start=1, size=5_000), template=TEMPLATE, max_records=10, max_bytes=1_000))


class TestAgainstTheServersLimits:
    @pytest.fixture
    def server_settings(self) -> dict[str, Any]:
        return {"max_records_per_job": 40, "max_body_bytes": 8_000}

    def test_records_are_split_into_jobs_the_server_accepts(self, live_server, client: Client, kb_id: str) -> None:
        submitted = []
        with Client(live_server.url, **live_server.credentials, max_records_per_job=40, max_body_bytes=8_000) as limited:
            ids = limited.submit_records(kb_id, articles(150, size=300), on_submitted=lambda a, b: submitted.append(b))
        finals = client.wait_all(ids, polling=FAST)
        assert len(ids) == len(submitted) > 150 // 40
        assert all(b.count <= 40 and len(b.body) <= 8_000 for b in submitted)
        assert sum(j.progress.successful for j in finals) == 150
        assert len(list(client.iter_entries(kb_id))) == 150

    def test_a_body_over_the_servers_limit_is_a_typed_error_that_says_to_lower_the_batch_size(self, client: Client, kb_id: str) -> None:
        with pytest.raises(errors.BatchSubmissionFailed) as stopped:
            client.submit_records(kb_id, articles(30, size=500), batch_size=20)
        assert isinstance(stopped.value.cause, errors.PayloadTooLarge)
        assert "lower the batch size" in str(stopped.value.cause)
        assert stopped.value.submitted == [] and stopped.value.first_record == 0

    def test_a_file_over_the_limit_is_refused_before_it_is_uploaded(self, live_server, kb_id: str, tmp_path) -> None:
        path = tmp_path / "big.json"
        path.write_text(json.dumps({"records": articles(40, size=500)}))
        with Client(live_server.url, **live_server.credentials, max_body_bytes=8_000) as client, pytest.raises(errors.PayloadTooLarge, match="batch size"):
            client.submit_job(kb_id, file=path)



def test_a_full_batch_is_submitted_before_the_next_record_is_asked_for(client: Client, kb_id: str) -> None:
    """A generator that fails (or blocks) right after a full batch: that batch is already sent."""
    def records() -> Iterator[dict[str, Any]]:
        yield from articles(2)
        raise RuntimeError("the export's database went away")

    with pytest.raises(errors.BatchSubmissionFailed) as failure:
        client.submit_records(kb_id, records(), batch_size=2)
    assert len(failure.value.submitted) == 1 and failure.value.first_record == 2
    assert isinstance(failure.value.cause, RuntimeError)
    assert client.wait(failure.value.submitted[0]).progress.successful == 2


def test_a_token_renewal_refused_half_way_still_says_which_jobs_were_sent(live_server, client: Client, kb_id: str) -> None:
    """The renewal runs outside the submission's steps; its error is handed into them."""
    def records() -> Iterator[dict[str, Any]]:
        yield from articles(1)
        with transaction(live_server.runtime.sessions) as session:  # its token ends at its next request
            access_clients.revoke(session, client_id=UUID(live_server.credentials["client_id"]))
        yield from articles(1, start=1)

    with pytest.raises(errors.BatchSubmissionFailed) as failure:
        client.submit_records(kb_id, records(), batch_size=1)
    assert len(failure.value.submitted) == 1 and failure.value.first_record == 1
    assert isinstance(failure.value.cause, errors.KbClientError)
