"""`kb-ingest workspaces|clients ...`, run as an operator would: the installed console script in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

TOKEN = "/api/v2/auth/token"
KBS = "/api/v2/knowledge-bases"


def kb_ingest(service, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """The console script against the service's own database."""
    settings = service.runtime.settings
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DATA_DIR", "SECRET_KEY"}}
    env["DATA_DIR"] = str(settings.data_dir)
    env["SECRET_HASH_COST"] = str(settings.secret_hash_cost)
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    script = shutil.which("kb-ingest", path=str(Path(sys.executable).parent))
    assert script, "the kb-ingest console script is installed with the package"
    result = subprocess.run([script, *args], env=env, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _token(service, client_id, secret):  # type: ignore[no-untyped-def]
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return service.client.post(TOKEN, data=form, headers={"Authorization": ""})


def test_operator_creates_a_workspace_and_a_client_whose_secret_gets_a_token(service):
    workspace = json.loads(kb_ingest(service, "workspaces", "create", "acme", "--json").stdout)
    created = json.loads(
        kb_ingest(service, "clients", "create", "--workspace", workspace["workspace_id"], "--scope", "knowledge-bases:write", "--name", "etl", "--json").stdout
    )
    assert created["workspace_id"] == workspace["workspace_id"] and created["scope"] == "knowledge-bases:write"
    response = _token(service, created["client_id"], created["client_secret"])
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert service.client.post(KBS, json={"name": "acme-docs"}, headers=headers).status_code == 201
    assert [kb["name"] for kb in service.client.get(KBS, headers=headers).json()["knowledgeBases"]] == ["acme-docs"]
    assert service.client.get(KBS).json()["total"] == 0, "the default workspace sees nothing of acme's"


def test_client_list_shows_clients_but_never_secrets(service):
    workspace = json.loads(kb_ingest(service, "workspaces", "create", "acme", "--json").stdout)
    created = json.loads(kb_ingest(service, "clients", "create", "--workspace", workspace["workspace_id"], "--scope", "*", "--json").stdout)
    listed = json.loads(kb_ingest(service, "clients", "list", "--workspace", workspace["workspace_id"], "--json").stdout)
    assert [c["client_id"] for c in listed] == [created["client_id"]]
    text = kb_ingest(service, "clients", "list").stdout
    assert created["client_id"] in text
    assert created["client_secret"] not in text and "client_secret" not in text


def test_human_output_of_create_shows_the_secret_once_with_a_warning(service):
    workspace = json.loads(kb_ingest(service, "workspaces", "create", "acme", "--json").stdout)
    out = kb_ingest(service, "clients", "create", "--workspace", workspace["workspace_id"], "--scope", "data-ingestion:read").stdout
    assert "client_secret:" in out and "shown only this once" in out


def test_revoking_a_client_ends_its_live_token_at_once(service):
    credentials = service.new_client(["*"])
    assert service.client.get(KBS, headers=credentials.headers).status_code == 200
    revoked = json.loads(kb_ingest(service, "clients", "revoke", credentials.client_id, "--json").stdout)
    assert revoked["revoked_at"] is not None
    response = service.client.get(KBS, headers=credentials.headers)
    assert response.status_code == 401 and response.json()["message"] == "Access token belongs to a revoked client"
    assert _token(service, credentials.client_id, credentials.client_secret).json()["error"] == "invalid_client"


def test_rotating_a_secret_retires_the_old_secret_and_its_tokens(service):
    credentials = service.new_client(["*"])
    rotated = json.loads(kb_ingest(service, "clients", "rotate-secret", credentials.client_id, "--json").stdout)
    assert rotated["client_secret"] != credentials.client_secret and rotated["secret_rotated_at"]
    assert service.client.get(KBS, headers=credentials.headers).status_code == 401
    assert _token(service, credentials.client_id, credentials.client_secret).json()["error"] == "invalid_client"
    fresh = _token(service, credentials.client_id, rotated["client_secret"]).json()["access_token"]
    assert service.client.get(KBS, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_mistakes_get_a_clear_message_and_a_failing_exit_code(service):
    unknown = "00000000-0000-0000-0000-00000000abcd"
    for args, message in [
        (("clients", "create", "--workspace", unknown, "--scope", "*"), f"error: Workspace {unknown} not found"),
        (("clients", "create", "--workspace", unknown, "--scope", "admin"), "error: Unknown scope: admin"),
        (("clients", "revoke", unknown), f"error: Client {unknown} not found"),
        (("workspaces", "create", " "), "error: A workspace name must be 1-200 characters"),
    ]:
        result = kb_ingest(service, *args, check=False)
        assert result.returncode == 1, args
        assert result.stderr.startswith(message), result.stderr
        assert "Traceback" not in result.stderr
