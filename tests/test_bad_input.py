"""Bad input through the real API on both backends: always a clear 4xx or a failed record, never a 500.

Each case the reliability issue names has its test: deeply nested JSON, huge strings,
wrong types, invalid UTF-8, NUL bytes, duplicate keys and empty arrays (100,000-record
payloads are in test_large_payloads.py).
"""

from __future__ import annotations

from uuid import uuid4

import pytest

JOBS = "/api/v2/data-ingestion/jobs"
MB = 1024 * 1024


def post_raw(service, body: bytes, content_type: str = "application/json"):
    return service.client.post(JOBS, content=body, headers={"content-type": content_type})


def refused(response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["statusCode"] == status
    assert "Traceback" not in response.text
    return body


def results_of(service, job: dict) -> dict[str | None, str | None]:
    page = service.client.get(f"{JOBS}/{job['id']}/results").json()
    return {r["sourceId"]: r["error"] for r in page["results"]}


def run_records(service, records: list) -> tuple[dict, dict]:
    kb = service.create_kb(f"records-{uuid4().hex}")
    job = service.run(kb, records)
    assert job["status"] == "completed"
    return job, results_of(service, job)


# Deeply nested JSON


def test_json_nested_deeper_than_1024_levels_is_invalid_json(service):
    body = refused(post_raw(service, b'{"data": ' + b"[" * 1100 + b"]" * 1100 + b"}"))
    assert body["message"].startswith("Invalid JSON: depth limit exceeded")
    assert body["errors"][0]["path"] == "body"


@pytest.mark.parametrize(
    "data",
    [
        b'{"records": [{"id": "a", "content": "x", "metadata": {"k": %s}}]}' % (b"[" * 300 + b"]" * 300),  # in a record
        b'{"records": [{"id": "a", "content": "x"}], "export": %s}' % (b"[" * 300 + b"]" * 300),  # beside the records
    ],
    ids=["record", "envelope"],
)
def test_data_nested_deeper_than_can_be_stored_is_a_400(service, data):
    kb = service.create_kb()
    body = refused(post_raw(service, b'{"adapterType": "generic-json", "knowledgeBaseId": "%s", "data": %s}' % (kb.encode(), data)))
    assert body["message"] == "data is nested too deeply (more than 128 levels of arrays and objects)"
    assert body["errors"] == [{"path": "data", "message": "is nested too deeply (more than 128 levels of arrays and objects)"}]
    keyed = service.client.post(
        "/api/v2/data-ingestion/jobs",
        content=b'{"adapterType": "generic-json", "knowledgeBaseId": "%s", "data": %s}' % (kb.encode(), data),
        headers={"Content-Type": "application/json", "Idempotency-Key": "deep-1"},
    )
    assert keyed.status_code == 400 and keyed.json()["message"] == body["message"]


def test_records_nested_where_orjson_overruns_its_buffer_are_a_400_not_a_crash(service):
    """orjson 3.11-3.13 write past their buffer serializing ten records 250 levels deep
    (the heap is corrupted, the process may abort): such a payload never reaches it."""
    deep = b"[" * 248 + b"]" * 248
    records = b",".join(b'{"id": "r%d", "content": "x", "metadata": {"m": %s}}' % (n, deep) for n in range(10))
    kb = service.create_kb()
    for path, options in (("data", b"{}"), ("options", b'{"k": %s}' % deep)):
        data = b'{"records": [%s]}' % records if path == "data" else b'{"records": []}'
        body = b'{"adapterType": "generic-json", "knowledgeBaseId": "%s", "options": %s, "data": %s}' % (kb.encode(), options, data)
        refused_body = refused(post_raw(service, body))
        assert refused_body["errors"] == [{"path": path, "message": "is nested too deeply (more than 128 levels of arrays and objects)"}]
    assert service.client.get("/api/v2/data-ingestion/jobs").json()["total"] == 0


def _levels(count: int) -> bytes:
    """generic-json `data` nesting exactly `count` levels of arrays and objects."""
    return b'{"records": [{"id": "a", "content": "x", "metadata": {"k": %s}}]}' % (b"[" * (count - 4) + b"]" * (count - 4))


# An integer past 64 bits: orjson parses the document instead of msgspec, and no depth is measured.
WIDE = b', "wide": 18446744073709551616'


@pytest.mark.parametrize("wide", [b"", WIDE], ids=["measured", "orjson"])
@pytest.mark.parametrize("how", ["body", "form file", "form field"])
def test_data_at_the_depth_limit_is_accepted_and_one_level_more_refused(service, how, wide):
    """At the boundary, whichever way `data` arrives: parsing measures the depth, and only
    documents it finds deeper than the limit are walked again to say which field it is;
    documents orjson parsed, whose depth went unmeasured, are always walked."""
    kb = service.create_kb()

    def submit(data: bytes):
        data = data[:-1] + wide + b"}"
        if how == "body":
            return post_raw(service, b'{"adapterType": "generic-json", "knowledgeBaseId": "%s", "data": %s}' % (kb.encode(), data))
        fields = {"adapterType": "generic-json", "knowledgeBaseId": kb}
        if how == "form field":
            return service.client.post(JOBS, data=fields, files={"data": (None, data)})  # a field, not a file
        return service.client.post(JOBS, data=fields, files={"data": ("export.json", data, "application/json")})

    accepted = submit(_levels(128))
    assert accepted.status_code == 202, accepted.text
    body = refused(submit(_levels(129)))
    assert body["errors"] == [{"path": "data", "message": "is nested too deeply (more than 128 levels of arrays and objects)"}]


@pytest.mark.parametrize("wide", [b"", WIDE], ids=["measured", "orjson"])
@pytest.mark.parametrize("how", ["body", "form"])
def test_options_at_the_depth_limit_pass_the_check_and_one_level_more_are_refused(service, how, wide):
    kb = service.create_kb()

    def submit(levels: int):
        options = b'{"k": %s%s}' % (b"[" * (levels - 1) + b"]" * (levels - 1), wide)
        data = b'{"records": [{"id": "a", "content": "x"}]}'
        if how == "body":
            body = b'{"adapterType": "generic-json", "knowledgeBaseId": "%s", "options": %s, "data": %s}' % (kb.encode(), options, data)
            return post_raw(service, body)
        fields = {"adapterType": "generic-json", "knowledgeBaseId": kb, "options": options.decode()}
        return service.client.post(JOBS, data=fields, files={"data": ("export.json", data, "application/json")})

    # No adapter takes such options: within the limit, the adapter is what refuses them.
    assert refused(submit(128))["errors"] == [{"path": "options", "message": "adapter generic-json takes no options"}]
    body = refused(submit(129))
    assert body["errors"] == [{"path": "options", "message": "is nested too deeply (more than 128 levels of arrays and objects)"}]


def test_deeply_nested_metadata_within_the_limit_is_stored_whole(service):
    nested: object = "bottom"
    for _ in range(120):
        nested = {"n": nested}
    kb = service.create_kb()
    job = service.run(kb, [{"id": "deep", "content": "x", "metadata": {"tree": nested}}])
    assert job["data"]["progress"]["successful"] == 1
    assert service.entries(kb)[0]["metadata"] == {"tree": nested}


# Huge strings


def test_huge_content_fails_only_its_record(service):
    job, errors = run_records(service, [{"id": "huge", "title": "Huge", "content": "x" * (6 * MB)}, {"id": "ok", "content": "x"}])
    assert errors == {"huge": f"content is {6 * MB} bytes, larger than the maximum of {5 * MB}", "ok": None}


def test_huge_id_fails_only_its_record(service):
    job, errors = run_records(service, [{"id": "i" * 100_000, "content": "x"}, {"id": "ok", "content": "x"}])
    assert errors == {None: "id is longer than 512 characters", "ok": None}


def test_huge_adapter_type_is_a_400_that_does_not_echo_it(service):
    kb = service.create_kb()
    response = service.client.post(JOBS, json={"adapterType": "a" * MB, "knowledgeBaseId": kb, "data": {"records": []}})
    body = refused(response)
    assert body["errors"] == [{"path": "adapterType", "message": "must be at most 100 characters"}]
    assert len(response.content) < 1000


def test_huge_knowledge_base_name_is_a_400(service):
    body = refused(service.client.post("/api/v2/knowledge-bases", json={"name": "n" * 100_000}))
    assert body["message"] == "name must be 1-200 characters"


def test_knowledge_base_body_over_1_mb_is_a_413(service):
    refused(service.client.post("/api/v2/knowledge-bases", json={"name": "n" * MB}), 413)


# Wrong types


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"adapterType": 5}, "adapterType", "must be a non-empty string"),
        ({"adapterType": ["generic-json"]}, "adapterType", "must be a non-empty string"),
        ({"knowledgeBaseId": 5}, "knowledgeBaseId", "must be a UUID"),
        ({"knowledgeBaseId": {"id": "x"}}, "knowledgeBaseId", "must be a UUID"),
        ({"options": "none"}, "options", "must be an object"),
        ({"options": [1]}, "options", "must be an object"),
        ({"data": "records"}, "data", "must be an object with a `records` array"),
        ({"data": 42}, "data", "must be an object with a `records` array"),
        ({"data": {"records": "all"}}, "data.records", "must be an array"),
    ],
)
def test_wrong_types_of_submission_fields_are_400s_naming_the_field(service, change, path, message):
    kb = service.create_kb()
    body = {"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": [{"id": "a", "content": "x"}]}, **change}
    assert {"path": path, "message": message} in refused(service.client.post(JOBS, json=body))["errors"]


def test_null_required_fields_are_missing(service):
    body = refused(service.client.post(JOBS, json={"adapterType": None, "knowledgeBaseId": None, "data": None}))
    assert body["message"] == "Missing required fields: adapterType, knowledgeBaseId, data"


def test_wrong_types_inside_records_fail_those_records_with_their_reason(service):
    records = [
        "not an object",
        {"id": {"nested": 1}, "content": "x"},
        {"id": True, "content": "x"},
        {"id": "content", "content": 5},
        {"id": "title", "title": 5, "content": "x"},
        {"id": "type", "content": "x", "contentType": "pdf"},
        {"id": "metadata", "content": "x", "metadata": ["a"]},
        {"id": "tags", "content": "x", "tags": "a,b"},
        {"id": "tag", "content": "x", "tags": ["a", 1]},
        {"id": "url", "content": "x", "url": 5},
        {"id": "deleted", "content": "x", "deleted": "yes"},
        {"id": 7, "content": "integer ids are kept as text"},
    ]
    job, _ = run_records(service, records)
    page = service.client.get(f"{JOBS}/{job['id']}/results").json()["results"]
    assert [(r["sourceId"], r["error"]) for r in page] == [
        (None, "record must be an object"),
        (None, "id is required and must be a string or an integer"),
        (None, "id is required and must be a string or an integer"),
        ("content", "content is required and must be a string"),
        ("title", "title must be a string"),
        ("type", "contentType must be one of text, markdown, code, qa_pair"),
        ("metadata", "metadata must be an object"),
        ("tags", "tags must be an array of strings"),
        ("tag", "tags must be an array of strings"),
        ("url", "url must be a string"),
        ("deleted", "deleted must be true or false"),
        ("7", None),
    ]
    assert job["data"]["progress"]["failed"] == 11


def test_wrong_type_of_knowledge_base_name_is_a_400(service):
    assert refused(service.client.post("/api/v2/knowledge-bases", json={"name": 5}))["statusCode"] == 400


# Invalid UTF-8


def test_invalid_utf8_in_a_json_body_is_a_400(service):
    kb = service.create_kb()
    body = b'{"adapterType": "generic-json", "knowledgeBaseId": "%s", "data": {"records": [{"id": "a", "content": "caf\xe9"}]}}'
    error = refused(post_raw(service, body % kb.encode()))
    assert error["message"].startswith("Invalid JSON: str is not valid UTF-8")
    assert service.client.get(JOBS).json()["total"] == 0


def test_lone_surrogate_escape_is_a_400(service):
    kb = service.create_kb()
    body = b'{"adapterType": "generic-json", "knowledgeBaseId": "%s", "data": {"records": [{"id": "a", "content": "\\ud800"}]}}'
    assert refused(post_raw(service, body % kb.encode()))["message"].startswith("Invalid JSON: no low surrogate")


def test_invalid_utf8_in_an_uploaded_file_is_a_400(service):
    kb = service.create_kb()
    files = {"data": ("data.json", b'{"records": [{"id": "a", "content": "\xff\xfe"}]}', "application/json")}
    error = refused(service.client.post(JOBS, data={"adapterType": "generic-json", "knowledgeBaseId": kb}, files=files))
    assert error["message"].startswith("Invalid JSON in data: str is not valid UTF-8")


def test_invalid_utf8_in_a_form_field_is_a_400(service):
    kb = service.create_kb()
    files = {"data": ("data.json", b'{"records": [{"id": "a", "content": "x"}]}', "application/json")}
    boundary_body = {"adapterType": b"generic-json\xff", "knowledgeBaseId": kb.encode()}
    error = refused(service.client.post(JOBS, data=boundary_body, files=files))
    assert error["errors"] == [{"path": "adapterType", "message": "is not valid UTF-8"}]


def test_invalid_utf8_in_a_query_parameter_matches_nothing(service):
    """Litestar decodes percent-escapes with replacement characters; no entry has such an id."""
    kb = service.create_kb()
    response = service.client.get(f"/api/v2/knowledge-bases/{kb}/entries?sourceId=%FF%FE")
    assert response.status_code == 200
    assert response.json() == {"total": 0, "entries": []}


def test_invalid_utf8_in_a_path_parameter_is_a_404(service):
    assert refused(service.client.get(f"{JOBS}/%FF"), 404)["message"] == "Job \ufffd not found"


# NUL bytes


def test_raw_nul_byte_in_json_is_a_400(service):
    kb = service.create_kb()
    body = b'{"adapterType": "generic-json", "knowledgeBaseId": "%s", "data": {"records": [{"id": "a", "content": "a\x00b"}]}}'
    assert refused(post_raw(service, body % kb.encode()))["message"].startswith("Invalid JSON: unexpected control character")


def test_escaped_nul_characters_fail_only_their_records(service):
    records = [
        {"id": "content", "title": "t", "content": "a\x00b"},
        {"id": "content-untitled", "content": "a\x00b"},  # its title, made from the content, has it too
        {"id": "title", "title": "a\x00", "content": "x"},
        {"id": "url", "url": "https://x/\x00", "content": "x"},
        {"id": "metadata-value", "content": "x", "metadata": {"k": "v\x00"}},
        {"id": "metadata-key", "content": "x", "metadata": {"k\x00": "v"}},
        {"id": "tags", "content": "x", "tags": ["a\x00"]},
        {"id": "nul\x00id", "content": "x"},
        {"id": "backslash-u", "content": "C:\\u0000 is not a NUL", "metadata": {"path": "C:\\u0000"}},
    ]
    _, errors = run_records(service, records)
    assert errors == {
        "content": "content must not contain NUL characters",
        "content-untitled": "content must not contain NUL characters",
        "title": "title must not contain NUL characters",
        "url": "url must not contain NUL characters",
        "metadata-value": "metadata and tags must not contain NUL characters",
        "metadata-key": "metadata and tags must not contain NUL characters",
        "tags": "metadata and tags must not contain NUL characters",
        None: "id must not contain NUL characters",
        "backslash-u": None,
    }


def test_nul_in_options_is_a_400(service):
    kb = service.create_kb()
    body = {"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": [{"id": "a", "content": "x"}]}, "options": {"a": "\x00"}}
    assert refused(service.client.post(JOBS, json=body))["errors"] == [{"path": "options", "message": "must not contain NUL characters"}]


def test_nul_in_knowledge_base_name_is_a_400(service):
    body = refused(service.client.post("/api/v2/knowledge-bases", json={"name": "docs\x00"}))
    assert body["message"] == "name and description must not contain NUL characters"


def test_nul_in_query_and_path_parameters_is_a_4xx(service):
    kb = service.create_kb()
    assert refused(service.client.get(f"/api/v2/knowledge-bases/{kb}/entries", params={"sourceId": "a\x00"}))["errors"] == [
        {"path": "sourceId", "message": "must not contain NUL characters"}
    ]
    assert refused(service.client.get(f"{JOBS}/%00"), 404)["message"] == "Job \x00 not found"
    assert refused(service.client.get(JOBS, params={"startDate": "2024\x00"}))["errors"][0]["path"] == "startDate"


# Duplicate keys


def test_duplicate_keys_in_an_object_keep_the_last_value(service):
    kb = service.create_kb()
    body = b'{"adapterType": "nope", "adapterType": "generic-json", "knowledgeBaseId": "%s", "data": {"records": [{"id": "a", "content": "first", "content": "last"}]}}'
    response = post_raw(service, body % kb.encode())
    assert response.status_code == 202, response.text
    service.wait(response.json()["jobId"])
    assert service.entries(kb)[0]["content"] == "last"


def test_duplicate_record_ids_keep_the_last_record(service):
    job, _ = run_records(service, [{"id": "a", "content": "first"}, {"id": "a", "content": "last"}])
    page = service.client.get(f"{JOBS}/{job['id']}/results").json()["results"]
    assert [(r["status"], r["detail"]) for r in page] == [
        ("skipped", "superseded by a later record with the same id in this job"),
        ("success", None),
    ]


# Empty values


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "Invalid JSON: Input is a zero-length, empty document"),
        (b"{}", "Missing required fields: adapterType, knowledgeBaseId, data"),
        (b"[]", "Request body must be a JSON object"),
        (b'""', "Request body must be a JSON object"),
        (b"null", "Request body must be a JSON object"),
    ],
)
def test_empty_bodies_are_400s(service, body, message):
    assert refused(post_raw(service, body))["message"].startswith(message)


def test_empty_records_array_is_a_400(service):
    kb = service.create_kb()
    body = refused(service.client.post(JOBS, json={"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": []}}))
    assert body["errors"] == [{"path": "data.records", "message": "must contain at least one record"}]


def test_empty_strings_are_refused_where_a_value_is_needed(service):
    kb = service.create_kb()
    body = refused(service.client.post(JOBS, json={"adapterType": "", "knowledgeBaseId": "", "data": {"records": [{"id": "a", "content": "x"}]}}))
    assert [e["path"] for e in body["errors"]] == ["adapterType", "knowledgeBaseId"]
    _, errors = run_records(service, [{"id": "", "content": "x"}, {"id": "blank", "content": "  "}, {"id": "ok", "content": "x", "tags": [], "metadata": {}}])
    assert errors == {None: "id must not be empty", "blank": "content must not be empty", "ok": None}


def test_empty_multipart_form_is_a_400(service):
    response = service.client.post(JOBS, content=b"--b--\r\n", headers={"content-type": "multipart/form-data; boundary=b"})
    assert refused(response)["message"] == "Missing required fields: adapterType, knowledgeBaseId, data"


def test_multipart_without_a_boundary_is_a_400(service):
    response = service.client.post(JOBS, content=b"x", headers={"content-type": "multipart/form-data"})
    body = refused(response)
    assert body["message"].startswith("Malformed multipart body")
    assert [e["path"] for e in body["errors"]] == ["body"]


def test_a_text_field_sent_as_a_file_is_named_as_such(service):
    kb = service.create_kb()
    files = {
        "adapterType": ("adapter.txt", b"generic-json", "text/plain"),
        "data": ("data.json", b'{"records": [{"id": "a", "content": "x"}]}', "application/json"),
    }
    body = refused(service.client.post(JOBS, data={"knowledgeBaseId": kb}, files=files))
    assert body["message"] == "adapterType must be sent as a text field, not a file"
    assert body["errors"] == [{"path": "adapterType", "message": "must be a text field, not a file"}]


def test_an_id_with_a_nul_is_not_shown_when_the_record_fails_on_another_field(service):
    """The failed result names the id only when it could be stored (PostgreSQL text cannot hold NUL)."""
    _, errors = run_records(service, [{"id": "a\x00b", "content": "x", "deleted": "yes"}, {"id": "ok", "content": "x"}])
    assert errors == {None: "deleted must be true or false", "ok": None}


def test_the_later_record_wins_also_when_it_fails(service):
    """Its id could be read: the earlier record of that id is superseded, as for any later duplicate."""
    kb = service.create_kb()
    job = service.run(kb, [{"id": "a", "content": "x"}, {"id": "a", "content": "y", "deleted": "yes"}, {"id": "b", "content": "z"}])
    page = service.client.get(f"{JOBS}/{job['id']}/results").json()["results"]
    assert [(r["sourceId"], r["status"], r["error"] or r["detail"]) for r in page] == [
        ("a", "skipped", "superseded by a later record with the same id in this job"),
        ("a", "failed", "deleted must be true or false"),
        ("b", "success", None),
    ]
    assert [e["sourceId"] for e in service.entries(kb)] == ["b"]


def test_null_optional_fields_are_taken_and_wrong_types_fail_whatever_their_value(service):
    """Clients that send unset optional fields as null lost the record to `deleted: null`;
    `metadata: ""` or `contentType: 0` passed as `{}` and markdown where `"s"` or `5` failed."""
    nulls = {"title": None, "contentType": None, "metadata": None, "url": None, "tags": None, "deleted": None}
    kb = service.create_kb()
    job = service.run(
        kb,
        [
            {"id": "nulls", "content": "# Title\nbody", **nulls},
            {"id": "empty-string", "content": "x", "metadata": ""},
            {"id": "zero", "content": "x", "contentType": 0},
        ],
    )
    errors = results_of(service, job)
    assert errors == {"nulls": None, "empty-string": "metadata must be an object", "zero": "contentType must be one of text, markdown, code, qa_pair"}
    assert job["result"]["entriesCreated"] == 1
    (entry,) = service.entries(kb)
    assert (entry["sourceId"], entry["title"], entry["contentType"], entry["metadata"], entry["tags"]) == ("nulls", "Title", "markdown", {}, [])
