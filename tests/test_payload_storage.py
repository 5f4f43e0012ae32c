"""A payload is stored once: its records in the batches, the rest beside them, reassembled for includePayload."""

from uuid import UUID

import orjson
import pytest

from litestar.exceptions import LitestarException
from sqlalchemy import update

from app.db import reading, transaction
from app.models import JobBatch, JobPayload
from app.services import jobs, payloads
from app.services.planning import plan_batches
from adapters import registry
from adapters.generic_json import GenericJsonAdapter

JOBS = "/api/v2/data-ingestion/jobs"


@pytest.fixture
def settings_overrides():
    return {"batch_size": 3}


def test_include_payload_reassembles_records_from_every_batch_in_order(service):
    kb = service.create_kb()
    records = [{"id": f"r{i % 8}", "content": f"text {i}", "tags": ["t"]} for i in range(11)]
    data = {"source": "export-7", "records": records, "exportedAt": "2026-11-01", "extra": {"n": 1}}
    response = service.client.post(JOBS, json={"adapterType": "generic-json", "knowledgeBaseId": kb, "data": data})
    job_id = response.json()["jobId"]
    service.wait(job_id)
    raw = service.client.get(f"{JOBS}/{job_id}", params={"includePayload": "true"}).content
    payload = orjson.loads(raw)["payload"]
    assert payload == data
    assert list(payload) == ["source", "records", "exportedAt", "extra"]


def test_a_payload_is_sent_one_batch_of_records_at_a_time(service):
    kb = service.create_kb()
    data = {"before": "x\u0000y", "records": [{"id": f"r{i}", "content": "z" * 500} for i in range(10)], "after": [1]}
    job_id = service.client.post(JOBS, json={"adapterType": "generic-json", "knowledgeBaseId": kb, "data": data}).json()["jobId"]
    service.wait(job_id)
    response = service.client.get(f"{JOBS}/{job_id}", params={"includePayload": "true"})
    assert "content-length" not in response.headers and response.json()["payload"] == data
    with reading(service.runtime.engine) as connection:
        stored = jobs.stored_payload(connection, job_id=UUID(job_id))
    pieces = list(payloads.splice(stored).pieces())
    assert len(pieces) == len(stored.batches) + 1 == 5  # one per batch of 3, then the end
    assert max(len(p) for p in pieces) < 3 * 600  # never more than one batch's records
    assert orjson.loads(b"".join(pieces)) == data


def test_a_corrupt_stored_payload_is_an_error_never_a_200_that_looks_complete(service):
    kb = service.create_kb()
    data = {"records": [{"id": f"r{i}", "content": "z"} for i in range(7)], "n": 1}
    job_id = service.client.post(JOBS, json={"adapterType": "generic-json", "knowledgeBaseId": kb, "data": data}).json()["jobId"]
    service.wait(job_id)
    with transaction(service.runtime.sessions) as session:  # a batch whose line has no comma: a ValueError when read
        session.execute(update(JobBatch).where(JobBatch.job_id == UUID(job_id), JobBatch.seq == 1).values(items=b"[garbage]"))
    for url, params in ((f"{JOBS}/{job_id}", {}), (JOBS, {"limit": 1})):
        with pytest.raises(LitestarException, match="after response started"):  # cut short, not ended
            service.client.get(url, params={**params, "includePayload": "true"})
    with transaction(service.runtime.sessions) as session:  # an envelope that is not JSON: found before the first byte
        session.execute(update(JobPayload).where(JobPayload.job_id == UUID(job_id)).values(body=b"{not json"))
    response = service.client.get(f"{JOBS}/{job_id}", params={"includePayload": "true"})
    assert response.status_code == 500 and response.json()["statusCode"] == 500


@pytest.mark.parametrize("pointer", ["", "/records"])
def test_a_payload_without_batches_has_an_empty_records_list(pointer):
    body = payloads.envelope({"records": [], "n": 1}, [])[0] if pointer else payloads.envelope([], [])[0]
    assert orjson.loads(payloads.reassemble(payloads.Stored(body, pointer, []))) == ({"records": [], "n": 1} if pointer else [])


def test_records_are_not_stored_twice():
    adapter = GenericJsonAdapter()
    data = {"records": [{"id": str(i), "content": "x" * 2000} for i in range(50)], "note": "small"}
    body, records_pointer = payloads.envelope(data, adapter.items(data))
    assert records_pointer == "/records"
    assert len(body) < 100
    batches = [b.items for b in plan_batches(adapter, adapter.items(data), batch_size=7).batches]
    assert orjson.loads(payloads.reassemble(payloads.Stored(body, records_pointer, batches))) == data


def test_a_payload_that_is_the_records_list_is_reassembled_whole():
    items = [{"id": "a"}, {"id": "b"}]
    body, records_pointer = payloads.envelope(items, items)
    batches = [b.items for b in plan_batches(GenericJsonAdapter(), items, batch_size=1).batches]
    assert orjson.loads(payloads.reassemble(payloads.Stored(body, records_pointer, batches))) == items


@pytest.mark.parametrize("key", ["records", "a/b", "~x", "0"])
def test_records_under_any_key_go_back_where_they_were(key):
    items = [{"id": "a"}, {"id": "b"}]
    data = {"before": 1, key: items, "after": [2]}
    body, records_pointer = payloads.envelope(data, items)
    batches = [b.items for b in plan_batches(GenericJsonAdapter(), items, batch_size=1).batches]
    assert orjson.loads(payloads.reassemble(payloads.Stored(body, records_pointer, batches))) == data


def test_a_sibling_list_equal_to_the_records_is_not_taken_for_them():
    """Python's == holds 1 == true and 0.0 == -0.0: a list before the records that was equal
    to them took their place, and the payload came back with the records twice."""
    data = {"snapshot": [{"id": "a", "n": 1, "v": 0.0}], "records": [{"id": "a", "n": True, "v": -0.0}]}
    items = GenericJsonAdapter().items(data)
    body, records_pointer = payloads.envelope(data, items)
    assert records_pointer == "/records"
    batches = [b.items for b in plan_batches(GenericJsonAdapter(), items, batch_size=1).batches]
    assert payloads.reassemble(payloads.Stored(body, records_pointer, batches)) == orjson.dumps(data)


def test_records_inside_a_list_payload_go_back_at_their_index():
    documents = [{"id": "a"}, {"id": "b"}, {"id": "c"}]
    data = [documents, {"timeTaken": "250ms"}]
    body, records_pointer = payloads.envelope(data, documents)
    assert records_pointer == "/0"
    batches = [b.items for b in plan_batches(GenericJsonAdapter(), documents, batch_size=2).batches]
    assert orjson.loads(payloads.reassemble(payloads.Stored(body, records_pointer, batches))) == data


def test_records_not_found_in_the_payload_keep_the_whole_payload():
    data = {"documents": {"a": {"id": "a"}}}
    body, records_pointer = payloads.envelope(data, list(data["documents"].values()))
    assert records_pointer is None
    assert orjson.loads(payloads.reassemble(payloads.Stored(body, records_pointer, []))) == data


def test_content_hub_documents_are_stored_once():
    adapter = registry.get("content-hub")
    document = {"content": {"documentIdentifier": "Page://a", "inlineContent": {"textContent": {"data": "<p>x</p>"}, "type": "TEXT"}}}
    data = [[document, {**document, "content": {**document["content"], "documentIdentifier": "Page://b"}}], {"timeTaken": "1ms"}]
    items = adapter.items(data)
    body, records_pointer = payloads.envelope(data, items)
    assert records_pointer == "/0"
    batches = [b.items for b in plan_batches(adapter, items, batch_size=1).batches]
    assert orjson.loads(payloads.reassemble(payloads.Stored(body, records_pointer, batches))) == data
