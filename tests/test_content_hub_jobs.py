"""Whole content-hub jobs through the API: paged exports, update, skip and delete, on both backends."""

import json

from adapters.content_hub import ContentHubAdapter

JOBS = "/api/v2/data-ingestion/jobs"


def doc(identifier, html, *, title=None, keywords=None, category=None, deleted=False, topics=None):
    attributes = []
    if title:
        attributes.append({"key": "Title", "value": {"type": "STRING", "stringValue": title}})
    if keywords:
        attributes.append({"key": "keywords", "value": {"type": "STRING", "stringValue": keywords}})
    if category:
        attributes.append({"key": "_category", "value": {"type": "STRING_LIST", "stringListValue": category}})
    if topics:
        attributes.append({"key": "topics", "value": {"type": "STRING_LIST", "stringListValue": topics}})
    attributes.append({"key": "views", "value": {"type": "LONG", "longValue": 42}})
    return {
        "content": {
            "documentIdentifier": identifier,
            "parseImage": False,
            "deleted": deleted,
            "inlineContent": {"type": "TEXT", "textContent": {"data": html}},
        },
        "metadata": {"inlineAttributes": attributes},
    }


ARTICLE = "&lt;h1&gt;Reset your password&lt;/h1&gt;&lt;p&gt;Open &lt;b&gt;Settings&lt;/b&gt;.&lt;/p&gt;&lt;ul&gt;&lt;li&gt;one&lt;/li&gt;&lt;li&gt;two&lt;/li&gt;&lt;/ul&gt;"
FAQ = "<h2>Can I export?</h2><p>Yes.</p><script>track()</script>"
CODE = '<pre><code class="language-python">print("hi")</code></pre>'


def paged_export():
    """Two pages concatenated flat, as exports often come: [docs, meta, docs, meta]."""
    return [
        [doc("Page://kb/a", ARTICLE, keywords="login; password, login"), doc("Page://kb/b", FAQ, category=["Support", "FAQ"])],
        {"timeTaken": "250ms"},
        [doc("Page://kb/c", CODE, title="Hello code", category=["Code samples"]), doc("Page://kb/empty", "<p>  </p>")],
        {"timeTaken": "120ms"},
    ]


def run(service, kb, data, **extra):
    return service.run(kb, data, adapter="content-hub", **extra)


def test_a_paged_export_lands_as_clean_markdown_entries(service):
    kb = service.create_kb()
    job = run(service, kb, paged_export())
    assert job["status"] == "completed"
    assert job["data"]["progress"] == {"processed": 4, "total": 4, "successful": 3, "failed": 1, "skipped": 0}
    failure = job["data"]["results"][0]
    assert failure["sourceId"] == "Page://kb/empty" and failure["status"] == "failed" and failure["error"]
    entries = {e["sourceId"]: e for e in service.entries(kb)}
    a, b, c = entries["Page://kb/a"], entries["Page://kb/b"], entries["Page://kb/c"]
    assert a["title"] == "Reset your password"
    assert a["content"].startswith("# Reset your password\n\nOpen **Settings**.")
    assert a["tags"] == ["login", "password"]
    assert a["metadata"]["views"] == 42
    assert b["contentType"] == "qa_pair" and "track()" not in b["content"]
    assert c["title"] == "Hello code" and c["contentType"] == "code"
    assert '```python\nprint("hi")\n```' in c["content"]


def test_rerun_skips_unchanged_updates_changed_and_deletes(service):
    kb = service.create_kb()
    run(service, kb, paged_export())
    export = paged_export()
    export[0][1] = doc("Page://kb/b", FAQ.replace("Yes.", "Yes, as CSV."), category=["Support", "FAQ"])
    export[2][0] = doc("Page://kb/c", CODE, deleted=True)
    job = run(service, kb, export)
    result = job["result"]
    assert (result["entriesCreated"], result["entriesUpdated"], result["entriesDeleted"], result["entriesSkipped"]) == (0, 1, 1, 1)
    entries = {e["sourceId"]: e for e in service.entries(kb)}
    assert set(entries) == {"Page://kb/a", "Page://kb/b"}
    assert entries["Page://kb/b"]["version"] == 2 and "as CSV" in entries["Page://kb/b"]["content"]
    assert entries["Page://kb/a"]["version"] == 1


def test_a_document_whose_html_changed_but_converts_alike_is_skipped_not_updated(service, monkeypatch):
    """The raw HTML is the content hash, so any change to it is a change; but a change
    that converts to the same entry (a script, whitespace between tags) used to take
    version + 1 and be reported updated. It is skipped, and the same export sent once
    more is skipped without converting that document again."""
    kb = service.create_kb()
    run(service, kb, paged_export())
    before = {e["sourceId"]: e for e in service.entries(kb)}
    export = paged_export()
    export[0][1] = doc("Page://kb/b", FAQ.replace("<script>track()</script>", "\n<script>track('v2')</script>\n"), category=["Support", "FAQ"])
    converted = []
    real = ContentHubAdapter.normalize

    def counting(self, item, options):
        converted.append(item["content"]["documentIdentifier"])
        return real(self, item, options)

    monkeypatch.setattr(ContentHubAdapter, "normalize", counting)

    job = run(service, kb, export)
    result = job["result"]
    assert (result["entriesCreated"], result["entriesUpdated"], result["entriesSkipped"]) == (0, 0, 3)
    assert job["data"]["progress"]["failed"] == 1
    (b,) = [r for r in job["data"]["results"] if r["sourceId"] == "Page://kb/b"]
    assert (b["status"], b["action"], b["detail"], b["entryId"]) == ("skipped", "unchanged", "content unchanged", before["Page://kb/b"]["id"])
    assert {e["sourceId"]: e for e in service.entries(kb)} == before
    assert "Page://kb/b" in converted

    converted.clear()
    again = run(service, kb, export)["result"]
    assert (again["entriesUpdated"], again["entriesSkipped"]) == (0, 3)
    assert "Page://kb/b" not in converted

    export[0][1] = doc("Page://kb/b", FAQ.replace("Yes.", "Yes, as CSV."), category=["Support", "FAQ"])
    changed = run(service, kb, export)["result"]
    assert (changed["entriesUpdated"], changed["entriesSkipped"]) == (1, 2)
    assert {e["sourceId"]: e for e in service.entries(kb)}["Page://kb/b"]["version"] == 2


def test_tag_attributes_option_adds_tags_from_listed_attributes(service):
    kb = service.create_kb()
    data = [[doc("d1", "<p>x</p>", keywords="a,b", topics=["t1", "a"])], {"timeTaken": "1ms"}]
    run(service, kb, data, options={"tagAttributes": ["keywords", "topics"]})
    assert service.entries(kb)[0]["tags"] == ["a", "b", "t1"]


def test_multipart_upload_of_a_bare_document_list(service):
    kb = service.create_kb()
    files = {"data": ("export.json", json.dumps([doc("d1", "<h1>T</h1><p>x</p>")]).encode(), "application/json")}
    response = service.client.post(JOBS, data={"adapterType": "content-hub", "knowledgeBaseId": kb}, files=files)
    assert response.status_code == 202, response.text
    assert service.wait(response.json()["jobId"])["result"]["entriesCreated"] == 1


def test_a_malformed_export_is_a_400_with_the_path_to_the_problem(service):
    kb = service.create_kb()
    bad = [[doc("ok", "<p>x</p>"), {"content": {"inlineContent": {}}}], {"timeTaken": "1ms"}]
    response = service.client.post(JOBS, json={"adapterType": "content-hub", "knowledgeBaseId": kb, "data": bad})
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Payload validation failed"
    assert body["errors"][0]["path"] == "data[0][1].content.documentIdentifier"
    bad_option = service.client.post(
        JOBS, json={"adapterType": "content-hub", "knowledgeBaseId": kb, "data": [doc("ok", "<p>x</p>")], "options": {"nope": 1}}
    )
    assert bad_option.status_code == 400 and bad_option.json()["errors"][0]["path"] == "options.nope"
