"""Two workspaces never see each other: another workspace's job, knowledge base or entry is a 404, never a 403."""

from __future__ import annotations

import pytest

JOBS = "/api/v2/data-ingestion/jobs"
KBS = "/api/v2/knowledge-bases"
RECORDS = [{"id": "a", "content": "alpha"}, {"id": "b", "content": "beta"}]


@pytest.fixture
def stranger(service):  # type: ignore[no-untyped-def]
    """Headers of a `*` client in a second workspace."""
    return service.new_client(["*"], service.new_workspace("stranger")).headers


def _not_found(response, message):  # type: ignore[no-untyped-def]
    assert response.status_code == 404, response.text
    assert response.json()["message"] == message
    assert "alpha" not in response.text


def test_a_job_of_another_workspace_is_not_found_by_id(service, stranger):
    job_id = service.run(service.create_kb(), RECORDS)["id"]
    message = f"Job {job_id} not found"
    _not_found(service.client.get(f"{JOBS}/{job_id}", headers=stranger), message)
    _not_found(service.client.get(f"{JOBS}/{job_id}", params={"includePayload": "true"}, headers=stranger), message)
    _not_found(service.client.get(f"{JOBS}/{job_id}/results", headers=stranger), message)


def test_listing_jobs_shows_only_the_callers_workspace(service, stranger):
    mine = service.run(service.create_kb(), RECORDS)["id"]
    theirs_kb = service.client.post(KBS, json={"name": "theirs"}, headers=stranger).json()["id"]
    theirs = service.client.post(
        JOBS, json={"adapterType": "generic-json", "knowledgeBaseId": theirs_kb, "data": {"records": RECORDS}}, headers=stranger
    ).json()["jobId"]
    assert [j["id"] for j in service.client.get(JOBS).json()["jobs"]] == [mine]
    listed = service.client.get(JOBS, headers=stranger).json()
    assert listed["total"] == 1 and [j["id"] for j in listed["jobs"]] == [theirs]


def test_cancelling_a_job_of_another_workspace_is_not_found_and_changes_nothing(service, stranger):
    job_id = service.submit(service.create_kb(), RECORDS)
    _not_found(service.client.delete(f"{JOBS}/{job_id}", headers=stranger), f"Job {job_id} not found")
    assert service.wait(job_id)["status"] == "completed"


def test_a_knowledge_base_of_another_workspace_is_not_found(service, stranger):
    kb = service.create_kb()
    service.run(kb, RECORDS)
    message = f"Knowledge base {kb} not found"
    _not_found(service.client.get(f"{KBS}/{kb}", headers=stranger), message)
    _not_found(service.client.get(f"{KBS}/{kb}/entries", headers=stranger), message)
    _not_found(service.client.get(f"{KBS}/{kb}/entries", params={"sourceId": "a"}, headers=stranger), message)


def test_listing_knowledge_bases_shows_only_the_callers_workspace(service, stranger):
    mine = service.create_kb("docs")
    theirs = service.client.post(KBS, json={"name": "docs"}, headers=stranger)
    assert theirs.status_code == 201, "names are unique per workspace, not across them"
    assert [kb["id"] for kb in service.client.get(KBS).json()["knowledgeBases"]] == [mine]
    assert [kb["id"] for kb in service.client.get(KBS, headers=stranger).json()["knowledgeBases"]] == [theirs.json()["id"]]


def test_submitting_a_job_into_another_workspaces_knowledge_base_is_not_found(service, stranger):
    kb = service.create_kb()
    body = {"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": RECORDS}}
    _not_found(service.client.post(JOBS, json=body, headers=stranger), f"Knowledge base {kb} not found")
    assert service.client.get(JOBS, headers=stranger).json()["total"] == 0
    assert service.entries(kb) == []


def test_the_same_source_ids_in_two_workspaces_stay_apart(service, stranger):
    mine = service.create_kb()
    service.run(mine, RECORDS)
    theirs = service.client.post(KBS, json={"name": "docs"}, headers=stranger).json()["id"]
    body = {"adapterType": "generic-json", "knowledgeBaseId": theirs, "data": {"records": [{"id": "a", "content": "changed"}]}}
    job_id = service.client.post(JOBS, json=body, headers=stranger).json()["jobId"]
    me = {"Authorization": service.client.headers["Authorization"]}
    service.client.headers.update(stranger)
    assert service.wait(job_id)["status"] == "completed"
    assert [(e["sourceId"], e["content"]) for e in service.entries(theirs)] == [("a", "changed")]
    service.client.headers.update(me)
    assert [(e["sourceId"], e["content"]) for e in service.entries(mine)] == [("a", "alpha"), ("b", "beta")]
