"""What a job does to a knowledge base: create, update (version bump), skip, delete, and its counters."""


def counters(job):
    return job["data"]["progress"], {k: v for k, v in job["result"].items() if k.startswith("entries")}


def test_new_records_create_entries_with_generated_titles(service):
    kb = service.create_kb()
    job = service.run(
        kb,
        [
            {"id": "a", "content": "Intro line\n\n## First heading\nbody", "tags": [" x ", "y", "x"], "metadata": {"k": 1}},
            {"id": "b", "content": "  first line  \nsecond", "title": "Given", "contentType": "text", "url": "https://e.x/b"},
            {"id": "c", "content": "plain first line\nmore"},
        ],
    )
    assert job["status"] == "completed"
    assert job["started_at"] and job["completed_at"]
    progress, result = counters(job)
    assert progress == {"processed": 3, "total": 3, "successful": 3, "failed": 0, "skipped": 0}
    assert result == {"entriesCreated": 3, "entriesUpdated": 0, "entriesSkipped": 0, "entriesDeleted": 0}
    entries = {e["sourceId"]: e for e in service.entries(kb)}
    assert entries["a"]["title"] == "First heading"
    assert entries["a"]["tags"] == ["x", "y"]
    assert entries["a"]["metadata"] == {"k": 1}
    assert entries["a"]["contentType"] == "markdown"
    assert entries["b"]["title"] == "Given"
    assert entries["b"]["url"] == "https://e.x/b"
    assert entries["c"]["title"] == "plain first line"
    assert all(e["version"] == 1 and len(e["contentHash"]) == 64 for e in entries.values())


def test_rerun_skips_unchanged_and_updates_changed_in_place_with_version_bump(service):
    kb = service.create_kb()
    service.run(kb, [{"id": "a", "content": "one"}, {"id": "b", "content": "two"}])
    before = {e["sourceId"]: e for e in service.entries(kb)}
    job = service.run(kb, [{"id": "a", "content": "one"}, {"id": "b", "content": "two, edited"}])
    progress, result = counters(job)
    assert progress == {"processed": 2, "total": 2, "successful": 1, "failed": 0, "skipped": 1}
    assert result == {"entriesCreated": 0, "entriesUpdated": 1, "entriesSkipped": 1, "entriesDeleted": 0}
    after = {e["sourceId"]: e for e in service.entries(kb)}
    assert after["a"] == before["a"]
    assert after["b"]["id"] == before["b"]["id"]
    assert after["b"]["version"] == 2
    assert after["b"]["content"] == "two, edited"
    assert after["b"]["contentHash"] != before["b"]["contentHash"]
    results = {r["sourceId"]: r for r in job["data"]["results"]}
    assert results["a"] == {**results["a"], "status": "skipped", "action": "unchanged", "entryId": before["a"]["id"]}
    assert results["b"] == {**results["b"], "status": "success", "action": "updated", "entryId": before["b"]["id"]}


def test_deleted_true_removes_the_entry_and_an_unknown_id_is_a_skip(service):
    kb = service.create_kb()
    service.run(kb, [{"id": "a", "content": "one"}, {"id": "b", "content": "two"}])
    job = service.run(kb, [{"id": "a", "deleted": True}, {"id": "ghost", "deleted": True}])
    progress, result = counters(job)
    assert progress == {"processed": 2, "total": 2, "successful": 1, "failed": 0, "skipped": 1}
    assert result["entriesDeleted"] == 1 and result["entriesSkipped"] == 1
    assert [e["sourceId"] for e in service.entries(kb)] == ["b"]
    ghost = next(r for r in job["data"]["results"] if r["sourceId"] == "ghost")
    assert ghost["status"] == "skipped" and ghost["detail"] == "no entry with this id to delete"


def test_same_id_twice_in_one_job_the_later_one_wins(service):
    kb = service.create_kb()
    job = service.run(kb, [{"id": "a", "content": "first"}, {"id": "b", "content": "b"}, {"id": "a", "content": "second"}])
    progress, result = counters(job)
    assert progress == {"processed": 3, "total": 3, "successful": 2, "failed": 0, "skipped": 1}
    assert result["entriesCreated"] == 2
    entries = service.entries(kb)
    assert len(entries) == 2
    assert next(e for e in entries if e["sourceId"] == "a")["content"] == "second"


def test_later_delete_of_an_id_in_the_same_job_wins(service):
    kb = service.create_kb()
    service.run(kb, [{"id": "a", "content": "old"}])
    service.run(kb, [{"id": "a", "content": "new"}, {"id": "a", "deleted": True}])
    assert service.entries(kb) == []


def test_bad_records_fail_on_their_own_and_the_job_completes(service):
    kb = service.create_kb()
    job = service.run(
        kb,
        [
            {"id": "ok", "content": "fine"},
            {"content": "no id"},
            {"id": "no-content"},
            {"id": "bad-type", "content": "x", "contentType": "video"},
            "not an object",
            {"id": "bad-tags", "content": "x", "tags": "a,b"},
        ],
    )
    assert job["status"] == "completed"
    progress, result = counters(job)
    assert progress == {"processed": 6, "total": 6, "successful": 1, "failed": 5, "skipped": 0}
    failures = job["data"]["results"][:5]
    assert [r["status"] for r in failures] == ["failed"] * 5
    errors = {r["sourceId"]: r["error"] for r in failures}
    assert errors[None] in {"id is required and must be a string or an integer", "record must be an object"}
    assert errors["no-content"] == "content is required and must be a string"
    assert errors["bad-type"] == "contentType must be one of text, markdown, code, qa_pair"
    assert errors["bad-tags"] == "tags must be an array of strings"
    assert [e["sourceId"] for e in service.entries(kb)] == ["ok"]


def test_counters_add_up_at_every_poll_of_a_multi_batch_job(service):
    kb = service.create_kb()
    records = [{"id": f"r{i}", "content": f"record {i}"} if i % 7 else {"id": f"r{i}"} for i in range(3000)]
    job_id = service.submit(kb, records)
    seen = []
    while True:
        job = service.client.get(f"/api/v2/data-ingestion/jobs/{job_id}").json()
        p = job["data"]["progress"]
        assert p["processed"] == p["successful"] + p["failed"] + p["skipped"]
        assert p["total"] == 3000
        seen.append(p["processed"])
        if job["status"] == "completed":
            break
    assert seen == sorted(seen)
    assert p == {"processed": 3000, "total": 3000, "successful": 2571, "failed": 429, "skipped": 0}


def test_entries_of_one_knowledge_base_do_not_touch_another(service):
    kb1, kb2 = service.create_kb("one"), service.create_kb("two")
    service.run(kb1, [{"id": "a", "content": "in one"}])
    job = service.run(kb2, [{"id": "a", "content": "in two"}])
    assert job["result"]["entriesCreated"] == 1
    assert service.entries(kb1)[0]["content"] == "in one"
    assert service.entries(kb2)[0]["content"] == "in two"
