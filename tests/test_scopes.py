"""403: a token without the endpoint's scope is refused with `Insufficient scope: <scope> required`."""

from __future__ import annotations

from app.auth import scopes
from tests.auth_routes import body_for, protected_endpoints

JOBS = "/api/v2/data-ingestion/jobs"
KBS = "/api/v2/knowledge-bases"


def _lacking(needed: str) -> list[str]:
    """Every scope that does not grant `needed`: the widest token that must still be refused."""
    return [s for s in scopes.SCOPES if not scopes.grants(frozenset({s}), needed)]


def test_every_api_endpoint_refuses_a_token_without_its_scope(service):
    headers = {}
    for endpoint in protected_endpoints(service.client.app):
        if endpoint.scope not in headers:
            headers[endpoint.scope] = service.new_client(_lacking(endpoint.scope)).headers
        response = service.client.request(endpoint.method, endpoint.path, headers=headers[endpoint.scope], **body_for(endpoint))
        assert response.status_code == 403, f"{endpoint}: {response.status_code} {response.text}"
        body = response.json()
        assert body["message"] == f"Insufficient scope: {endpoint.scope} required", str(endpoint)
        assert body["error"] == "Forbidden" and body["statusCode"] == 403 and body["path"] == endpoint.path
        assert f'error="insufficient_scope", scope="{endpoint.scope}"' in response.headers["www-authenticate"]


def test_read_only_token_cannot_submit_a_job(service):
    kb = service.create_kb()
    reader = service.new_client(["data-ingestion:read"])
    body = {"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": [{"id": "a", "content": "x"}]}}
    response = service.client.post(JOBS, json=body, headers=reader.headers)
    assert response.status_code == 403
    assert response.json()["message"] == "Insufficient scope: data-ingestion:write required"
    assert service.client.get(JOBS).json()["total"] == 0, "nothing was stored"


def test_read_only_token_cannot_cancel_a_job(service):
    kb = service.create_kb()
    job_id = service.submit(kb, [{"id": "a", "content": "x"}])
    reader = service.new_client(["data-ingestion:read"])
    response = service.client.delete(f"{JOBS}/{job_id}", headers=reader.headers)
    assert response.json()["message"] == "Insufficient scope: data-ingestion:write required"


def test_write_scopes_imply_read_and_run_the_whole_workflow(service):
    writer = service.new_client(["data-ingestion:write", "knowledge-bases:write"])
    service.client.headers.update(writer.headers)
    kb = service.create_kb()
    job = service.run(kb, [{"id": "a", "content": "hello"}])
    assert job["status"] == "completed"
    assert [e["sourceId"] for e in service.entries(kb)] == ["a"]
    assert service.client.get("/api/v2/data-ingestion/adapters").status_code == 200
    assert service.client.get(JOBS).json()["total"] == 1


def test_adapters_need_data_ingestion_read(service):
    kb_reader = service.new_client(["knowledge-bases:read"])
    response = service.client.get("/api/v2/data-ingestion/adapters", headers=kb_reader.headers)
    assert response.json()["message"] == "Insufficient scope: data-ingestion:read required"
    ingest_reader = service.new_client(["data-ingestion:read"])
    assert service.client.get("/api/v2/data-ingestion/adapters", headers=ingest_reader.headers).status_code == 200


def test_knowledge_base_scopes_do_not_open_jobs(service):
    kb_writer = service.new_client(["knowledge-bases:write"])
    assert service.client.post(KBS, json={"name": "kb"}, headers=kb_writer.headers).status_code == 201
    response = service.client.get(JOBS, headers=kb_writer.headers)
    assert response.json()["message"] == "Insufficient scope: data-ingestion:read required"


def test_narrower_token_of_a_star_client_only_reads(service):
    star = service.new_client(["*"])
    form = {"grant_type": "client_credentials", "client_id": star.client_id, "client_secret": star.client_secret, "scope": "knowledge-bases:read"}
    token = service.client.post("/api/v2/auth/token", data=form).json()["access_token"]
    narrow = {"Authorization": f"Bearer {token}"}
    assert service.client.get(KBS, headers=narrow).status_code == 200
    assert service.client.post(KBS, json={"name": "kb"}, headers=narrow).json()["message"] == (
        "Insufficient scope: knowledge-bases:write required"
    )
