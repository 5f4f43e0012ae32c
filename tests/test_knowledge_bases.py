"""/api/v2/knowledge-bases: create the target of a migration and verify what landed."""

import uuid

import pytest

KBS = "/api/v2/knowledge-bases"


def test_create_returns_201_with_the_knowledge_base(service):
    response = service.client.post(KBS, json={"name": "Product docs", "description": "All of them"})
    assert response.status_code == 201
    kb = response.json()
    assert kb["name"] == "Product docs" and kb["description"] == "All of them" and kb["entryCount"] == 0
    assert service.client.get(f"{KBS}/{kb['id']}").json() == kb


def test_a_second_knowledge_base_with_the_same_name_is_a_409(service):
    service.create_kb("docs")
    response = service.client.post(KBS, json={"name": "docs"})
    assert response.status_code == 409
    assert response.json()["message"] == "A knowledge base named 'docs' already exists"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 42}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "a", "description": "d" * 2001}, "description"),
        ({"name": "a\x00"}, "name"),
        ({"name": "a", "color": "red"}, "color"),
        ([1], "body"),
    ],
)
def test_invalid_knowledge_base_bodies_are_400s_naming_the_field(service, body, path):
    response = service.client.post(KBS, json=body)
    assert response.status_code == 400, response.text
    assert [e["path"] for e in response.json()["errors"]] == [path]


@pytest.mark.parametrize("content", [b"{nope", b'{"name":', b""])
def test_malformed_json_for_a_knowledge_base_is_a_400(service, content):
    response = service.client.post(KBS, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert body["path"] == KBS
    assert [e["path"] for e in body["errors"]] == ["body"]
    if content:
        assert body["message"].startswith("Invalid JSON: ")


def test_list_pages_knowledge_bases_with_entry_counts(service):
    first = service.create_kb("first")
    service.create_kb("second")
    service.run(first, [{"id": "a", "content": "x"}, {"id": "b", "content": "y"}])
    body = service.client.get(KBS, params={"limit": 1}).json()
    assert body["total"] == 2 and len(body["knowledgeBases"]) == 1
    everything = {kb["name"]: kb for kb in service.client.get(KBS).json()["knowledgeBases"]}
    assert everything["first"]["entryCount"] == 2 and everything["second"]["entryCount"] == 0


@pytest.mark.parametrize("kb_id", [str(uuid.uuid4()), "kb-1"])
def test_unknown_or_malformed_knowledge_base_is_a_404(service, kb_id):
    for path in (f"{KBS}/{kb_id}", f"{KBS}/{kb_id}/entries"):
        response = service.client.get(path)
        assert response.status_code == 404
        assert response.json()["message"] == f"Knowledge base {kb_id} not found"


def test_entries_page_and_filter_by_source_id(service):
    kb = service.create_kb()
    service.run(kb, [{"id": f"doc-{i}", "content": f"content {i}"} for i in range(25)])
    page = service.client.get(f"{KBS}/{kb}/entries", params={"limit": 10, "offset": 20}).json()
    assert page["total"] == 25 and len(page["entries"]) == 5
    one = service.client.get(f"{KBS}/{kb}/entries", params={"sourceId": "doc-7"}).json()
    assert one["total"] == 1
    entry = one["entries"][0]
    assert set(entry) == {
        "id", "sourceId", "title", "content", "contentType", "metadata", "tags", "url", "contentHash", "version",
        "created_at", "updated_at",
    }
    assert entry["content"] == "content 7"


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"content-type": "text/plain"}, "Content-Type 'text/plain'"),
        ({"content-type": "application/x-www-form-urlencoded"}, "Content-Type 'application/x-www-form-urlencoded'"),
        ({"content-type": "application/json", "content-encoding": "gzip"}, "Content-Encoding 'gzip'"),
        ({"content-type": "application/json; charset=latin-1"}, "charset 'latin-1'"),
    ],
)
def test_a_body_that_says_it_is_not_json_is_a_415_and_creates_nothing(service, headers, named):
    """As a job's body is: it used to be parsed as JSON whatever it said it was."""
    response = service.client.post(KBS, content=b'{"name": "docs"}', headers=headers)
    assert response.status_code == 415, response.text
    body = response.json()
    assert (body["statusCode"], body["path"]) == (415, KBS)
    assert body["message"].startswith(named)
    assert service.client.get(KBS).json()["total"] == 0


@pytest.mark.parametrize("content_type", [None, "application/json; charset=UTF-8", "application/vnd.example+json"])
def test_json_bodies_are_read_whatever_json_media_type_they_name(service, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = service.client.post(KBS, content=b'{"name": "docs"}', headers=headers)
    assert response.status_code == 201, response.text
