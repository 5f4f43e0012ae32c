"""Schemathesis fuzzes every operation of the app's own OpenAPI schema: never a 5xx, always as documented.

Bounded (a few dozen examples per operation) so the run stays around a minute; the
requests go in-process to the running app of the `service` fixture, on both backends.
The schema is read from an app that is built but never started (its schema does not
depend on settings), because schemathesis' fixture-based loader does not work with the
installed pytest.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import allow_header_conformance, positive_data_acceptance

from app.main import create_app
from app.settings import Settings
from tests.test_generic_json_properties import payloads, records


def _openapi() -> dict:
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Settings(data_dir=Path(data_dir), log_json=False))
        try:
            return app.openapi_schema.to_schema()
        finally:
            app.state["runtime"].close()


schema = schemathesis.openapi.from_dict(_openapi())

# Checks that cannot hold here, on purpose:
# - positive_data_acceptance: the API refuses some schema-valid values the schema cannot
#   describe (an unknown knowledge-base id, a blank name after trimming, `endDate=""`,
#   `data: null`); each is a 4xx in our error shape, which the other checks still verify.
# - allow_header_conformance: Litestar 2's automatic OPTIONS answer lists the methods of
#   only one handler of a path (litestar-org/litestar#4169, fixed in Litestar 3).
EXCLUDED = [positive_data_acceptance, allow_header_conformance]

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")  # schemathesis' own strategies


@pytest.fixture
def kb(service) -> str:
    return service.create_kb("fuzzed")


@schema.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_every_generated_request_as_documented(case, service, kb):
    """Generated knowledge-base ids are pointed at a real one, so submissions get past the 404."""
    if isinstance(case.body, dict) and isinstance(case.body.get("knowledgeBaseId"), str):
        case.body["knowledgeBaseId"] = kb
    if case.path_parameters and "knowledge_base_id" in case.path_parameters:
        case.path_parameters["knowledge_base_id"] = kb
    session = asgi.get_client(service.client.app)  # in-process; `service` has started the app
    case.call_and_validate(session=session, base_url="http://testserver", excluded_checks=EXCLUDED)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.fixed_dictionaries({"records": st.lists(records, min_size=1, max_size=6)}) | payloads)
def test_any_generic_json_payload_is_refused_or_fully_processed(service, kb, payload):
    """The generated schema cannot describe adapter payloads; these reach planning, workers and the database."""
    body = {"adapterType": "generic-json", "knowledgeBaseId": kb, "data": payload}
    response = service.client.post("/api/v2/data-ingestion/jobs", json=body)
    assert response.status_code in (202, 400), response.text
    if response.status_code == 400:
        assert response.json()["message"]
        return
    job = service.wait(response.json()["jobId"])
    progress = job["data"]["progress"]
    assert job["status"] == "completed"
    assert progress["processed"] == progress["total"] == len(payload["records"])
    assert progress["successful"] + progress["failed"] + progress["skipped"] == progress["total"]
    assert "internal error" not in response.text + str(job["data"]["results"])
