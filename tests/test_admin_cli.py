"""`kb-ingest workspaces|clients ...`, as an operator runs it.

The first test runs the installed console script in a subprocess, as an operator would;
the rest call the same entry point (`app.cli.main`) in this process, with the same
environment, which costs a fraction of a second where a process start cost one or two.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from app import cli

TOKEN = "/api/v2/auth/token"
KBS = "/api/v2/knowledge-bases"
# What the service's settings come from; an operator's shell may hold any of them.
SERVICE_ENV = ("DATABASE_URL", "REDIS_URL", "DATA_DIR", "SECRET_KEY")
Run = Callable[..., subprocess.CompletedProcess[str]]


def operator_env(service) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The environment that points `kb-ingest` at the service's own database."""
    settings = service.runtime.settings
    env = {"DATA_DIR": str(settings.data_dir), "SECRET_HASH_COST": str(settings.secret_hash_cost)}
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    return env


def console_script(service, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_ENV} | operator_env(service)
    script = shutil.which("kb-ingest", path=str(Path(sys.executable).parent))
    assert script, "the kb-ingest console script is installed with the package"
    result = subprocess.run([script, *args], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def kb_ingest(service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:  # type: ignore[no-untyped-def]
    """`kb-ingest ARGS` in this process: its exit code, standard output and standard error."""
    for name in SERVICE_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in operator_env(service).items():
        monkeypatch.setenv(name, value)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        result = subprocess.CompletedProcess(["kb-ingest", *args], code, out, err)
        if check:
            assert code == 0, err
        return result

    return run


def _token(service, client_id, secret):  # type: ignore[no-untyped-def]
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return service.client.post(TOKEN, data=form, headers={"Authorization": ""})


def test_operator_creates_a_workspace_and_a_client_whose_secret_gets_a_token(service):
    workspace = json.loads(console_script(service, "workspaces", "create", "acme", "--json").stdout)
    created = json.loads(
        console_script(service, "clients", "create", "--workspace", workspace["workspace_id"], "--scope", "knowledge-bases:write", "--name", "etl", "--json").stdout
    )
    assert created["workspace_id"] == workspace["workspace_id"] and created["scope"] == "knowledge-bases:write"
    response = _token(service, created["client_id"], created["client_secret"])
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert service.client.post(KBS, json={"name": "acme-docs"}, headers=headers).status_code == 201
    assert [kb["name"] for kb in service.client.get(KBS, headers=headers).json()["knowledgeBases"]] == ["acme-docs"]
    assert service.client.get(KBS).json()["total"] == 0, "the default workspace sees nothing of acme's"


def test_client_list_shows_clients_but_never_secrets(service, kb_ingest):
    workspace = json.loads(kb_ingest("workspaces", "create", "acme", "--json").stdout)
    created = json.loads(kb_ingest("clients", "create", "--workspace", workspace["workspace_id"], "--scope", "*", "--json").stdout)
    listed = json.loads(kb_ingest("clients", "list", "--workspace", workspace["workspace_id"], "--json").stdout)
    assert [c["client_id"] for c in listed] == [created["client_id"]]
    text = kb_ingest("clients", "list").stdout
    assert created["client_id"] in text
    assert created["client_secret"] not in text and "client_secret" not in text


def test_human_output_of_create_shows_the_secret_once_with_a_warning(service, kb_ingest):
    workspace = json.loads(kb_ingest("workspaces", "create", "acme", "--json").stdout)
    out = kb_ingest("clients", "create", "--workspace", workspace["workspace_id"], "--scope", "data-ingestion:read").stdout
    assert "client_secret:" in out and "shown only this once" in out


def test_revoking_a_client_ends_its_live_token_at_once(service, kb_ingest):
    credentials = service.new_client(["*"])
    assert service.client.get(KBS, headers=credentials.headers).status_code == 200
    revoked = json.loads(kb_ingest("clients", "revoke", credentials.client_id, "--json").stdout)
    assert revoked["revoked_at"] is not None
    response = service.client.get(KBS, headers=credentials.headers)
    assert response.status_code == 401 and response.json()["message"] == "Access token belongs to a revoked client"
    assert _token(service, credentials.client_id, credentials.client_secret).json()["error"] == "invalid_client"


def test_rotating_a_secret_retires_the_old_secret_and_its_tokens(service, kb_ingest):
    credentials = service.new_client(["*"])
    rotated = json.loads(kb_ingest("clients", "rotate-secret", credentials.client_id, "--json").stdout)
    assert rotated["client_secret"] != credentials.client_secret and rotated["secret_rotated_at"]
    assert service.client.get(KBS, headers=credentials.headers).status_code == 401
    assert _token(service, credentials.client_id, credentials.client_secret).json()["error"] == "invalid_client"
    fresh = _token(service, credentials.client_id, rotated["client_secret"]).json()["access_token"]
    assert service.client.get(KBS, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_mistakes_get_a_clear_message_and_a_failing_exit_code(service, kb_ingest):
    unknown = "00000000-0000-0000-0000-00000000abcd"
    for args, message in [
        (("clients", "create", "--workspace", unknown, "--scope", "*"), f"error: Workspace {unknown} not found"),
        (("clients", "create", "--workspace", unknown, "--scope", "admin"), "error: Unknown scope: admin"),
        (("clients", "revoke", unknown), f"error: Client {unknown} not found"),
        (("workspaces", "create", " "), "error: A workspace name must be 1-200 characters"),
    ]:
        result = kb_ingest(*args, check=False)
        assert result.returncode == 1, args
        assert result.stderr.startswith(message), result.stderr
        assert "Traceback" not in result.stderr
