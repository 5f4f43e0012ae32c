"""POST /api/v2/data-ingestion/jobs: JSON and multipart submissions, and every way to get one wrong."""

import gzip
import json
import uuid

import pytest

JOBS = "/api/v2/data-ingestion/jobs"
RECORDS = {"records": [{"id": "doc-1", "content": "# Title\nBody"}]}


def error_of(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"statusCode", "error", "message", "timestamp", "path"}
    assert body["statusCode"] == status
    assert body["path"] == JOBS
    assert "Traceback" not in response.text
    return body


def test_json_submission_is_accepted_with_location_of_the_job(service):
    kb = service.create_kb()
    response = service.client.post(JOBS, json={"adapterType": "generic-json", "knowledgeBaseId": kb, "data": RECORDS})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert response.headers["location"] == f"{JOBS}/{body['jobId']}"
    assert service.client.get(response.headers["location"]).status_code == 200


def test_multipart_upload_of_a_json_file_runs_the_job(service):
    kb = service.create_kb()
    files = {"data": ("data.json", json.dumps(RECORDS).encode(), "application/json")}
    response = service.client.post(JOBS, data={"adapterType": "generic-json", "knowledgeBaseId": kb}, files=files)
    assert response.status_code == 202, response.text
    job = service.wait(response.json()["jobId"])
    assert job["status"] == "completed"
    assert job["result"]["entriesCreated"] == 1


def test_multipart_data_as_a_json_string_field_runs_the_job(service):
    kb = service.create_kb()
    fields = {"adapterType": "generic-json", "knowledgeBaseId": kb, "data": json.dumps(RECORDS)}
    response = service.client.post(JOBS, data=fields, files={"unused": ("x.txt", b"x", "text/plain")})
    assert response.status_code == 202, response.text
    assert service.wait(response.json()["jobId"])["result"]["entriesCreated"] == 1


def test_multipart_data_that_is_not_json_is_a_400(service):
    kb = service.create_kb()
    files = {"data": ("data.json", b"id,content\n1,hello", "text/csv")}
    body = error_of(service.client.post(JOBS, data={"adapterType": "generic-json", "knowledgeBaseId": kb}, files=files), 400)
    assert body["message"].startswith("Invalid JSON in data")
    assert body["errors"][0]["path"] == "data"


def test_multipart_without_data_names_the_missing_field(service):
    kb = service.create_kb()
    response = service.client.post(
        JOBS, data={"adapterType": "generic-json", "knowledgeBaseId": kb}, files={"other": ("a", b"{}", "application/json")}
    )
    body = error_of(response, 400)
    assert body["message"] == "Missing required fields: data"


def test_malformed_json_body_is_a_400(service):
    response = service.client.post(JOBS, content=b'{"adapterType": ', headers={"content-type": "application/json"})
    assert error_of(response, 400)["message"].startswith("Invalid JSON")


def test_json_body_that_is_not_an_object_is_a_400(service):
    response = service.client.post(JOBS, json=[1, 2, 3])
    assert error_of(response, 400)["message"] == "Request body must be a JSON object"


def test_missing_fields_are_each_named(service):
    body = error_of(service.client.post(JOBS, json={"data": RECORDS}), 400)
    assert body["message"] == "Missing required fields: adapterType, knowledgeBaseId"
    assert [e["path"] for e in body["errors"]] == ["adapterType", "knowledgeBaseId"]


def test_unknown_adapter_is_a_400_naming_it(service):
    kb = service.create_kb()
    body = error_of(service.client.post(JOBS, json={"adapterType": "invalid-adapter", "knowledgeBaseId": kb, "data": RECORDS}), 400)
    assert body["message"] == "Unknown adapter: invalid-adapter"


def test_malformed_knowledge_base_id_is_a_400(service):
    body = error_of(service.client.post(JOBS, json={"adapterType": "generic-json", "knowledgeBaseId": "kb-1", "data": RECORDS}), 400)
    assert body["errors"] == [{"path": "knowledgeBaseId", "message": "must be a UUID"}]


def test_unknown_knowledge_base_is_a_404(service):
    kb = str(uuid.uuid4())
    body = error_of(service.client.post(JOBS, json={"adapterType": "generic-json", "knowledgeBaseId": kb, "data": RECORDS}), 404)
    assert body["message"] == f"Knowledge base {kb} not found"


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ([{"id": "a", "content": "x"}], "data", "must be an object with a `records` array"),
        ({"items": []}, "data.records", "is required"),
        ({"records": {"id": "a"}}, "data.records", "must be an array"),
        ({"records": []}, "data.records", "must contain at least one record"),
    ],
)
def test_data_that_does_not_fit_the_adapter_is_a_400_with_its_path(service, data, path, message):
    kb = service.create_kb()
    body = error_of(service.client.post(JOBS, json={"adapterType": "generic-json", "knowledgeBaseId": kb, "data": data}), 400)
    assert body["message"] == "Payload validation failed"
    assert body["errors"] == [{"path": path, "message": message}]


def test_options_for_an_adapter_that_takes_none_are_a_400(service):
    kb = service.create_kb()
    response = service.client.post(
        JOBS, json={"adapterType": "generic-json", "knowledgeBaseId": kb, "data": RECORDS, "options": {"x": 1}}
    )
    assert error_of(response, 400)["errors"] == [{"path": "options", "message": "adapter generic-json takes no options"}]


def test_unsupported_content_type_is_a_415(service):
    response = service.client.post(JOBS, content=b"adapterType=generic-json", headers={"content-type": "text/plain"})
    assert "application/json or multipart/form-data" in error_of(response, 415)["message"]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"content-encoding": "gzip"}, "Content-Encoding 'gzip' is not supported; send the body uncompressed"),
        ({"content-type": "application/json; charset=iso-8859-1"}, "charset 'iso-8859-1' is not supported; JSON is sent as UTF-8"),
        ({"content-type": 'application/json; charset="UTF-16"'}, "charset 'utf-16' is not supported; JSON is sent as UTF-8"),
    ],
)
def test_a_body_it_would_misread_is_a_415_saying_why(service, headers, message):
    """Compressed or in another charset: parsed as UTF-8 JSON it failed with a message about surrogates."""
    kb = service.create_kb()
    body = json.dumps({"adapterType": "generic-json", "knowledgeBaseId": kb, "data": RECORDS}).encode()
    if headers.get("content-encoding") == "gzip":
        body = gzip.compress(body)
    response = service.client.post(JOBS, content=body, headers={"content-type": "application/json", **headers})
    assert error_of(response, 415)["message"] == message
    assert service.client.get(JOBS).json()["total"] == 0


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=UTF-8", "application/json;charset=us-ascii", 'application/json; foo="a;charset=latin1"; version=2'],
)
def test_utf_8_or_ascii_named_as_the_charset_and_identity_coding_are_accepted(service, content_type):
    kb = service.create_kb()
    body = json.dumps({"adapterType": "generic-json", "knowledgeBaseId": kb, "data": RECORDS}).encode()
    headers = {"content-type": content_type, "content-encoding": "identity"}
    assert service.client.post(JOBS, content=body, headers=headers).status_code == 202


def test_another_media_type_is_told_as_such_whatever_its_charset(service):
    response = service.client.post(JOBS, content=b"x", headers={"content-type": "text/plain; charset=latin1"})
    assert "application/json or multipart/form-data" in error_of(response, 415)["message"]


def test_nothing_is_stored_for_a_refused_submission(service):
    kb = service.create_kb()
    service.client.post(JOBS, json={"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": "no"}})
    assert service.client.get(JOBS).json()["total"] == 0
