"""The embedded first start: a `*` client made once, its secret printed once and kept in a 0600 file.

These tests start the app themselves (not the `service` fixture) because what they test
is what happens on the first and the second start of a data folder.
"""

from __future__ import annotations

import json
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from app.auth.bootstrap import CREDENTIALS_FILE
from app.auth.keys import KEY_FILE
from app.db import transaction
from app.main import create_app
from app.models import DEFAULT_WORKSPACE_ID, AccessClient
from app.services import knowledge_bases, workspaces
from app.settings import Settings
from tests import services

TOKEN = "/api/v2/auth/token"
KBS = "/api/v2/knowledge-bases"


@contextmanager
def started(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def _token(client, credentials):  # type: ignore[no-untyped-def]
    form = {"grant_type": "client_credentials", "client_id": credentials["client_id"], "client_secret": credentials["client_secret"]}
    response = client.post(TOKEN, data=form)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _client_count(client) -> int:  # type: ignore[no-untyped-def]
    with transaction(client.app.state["runtime"].sessions) as session:
        return session.scalar(select(func.count()).select_from(AccessClient))


def _private(path) -> bool:  # type: ignore[no-untyped-def]
    return stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.fixture
def embedded(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(data_dir=tmp_path / "data", log_json=False, secret_hash_cost=4)


def test_first_start_prints_a_star_client_once_and_keeps_it_in_a_private_file(embedded, capfd):
    with started(embedded) as client:
        printed = capfd.readouterr().err
        path = embedded.data_dir / CREDENTIALS_FILE
        credentials = json.loads(path.read_text())
        assert _private(path)
        assert credentials["scope"] == "*" and credentials["workspace_id"] == str(DEFAULT_WORKSPACE_ID)
        assert credentials["token_endpoint"] == TOKEN
        assert credentials["client_secret"] in printed and credentials["client_id"] in printed
        assert client.post(KBS, json={"name": "docs"}, headers=_token(client, credentials)).status_code == 201


def test_a_second_start_prints_nothing_makes_no_client_and_keeps_tokens_valid(embedded, capfd):
    with started(embedded) as client:
        credentials = json.loads((embedded.data_dir / CREDENTIALS_FILE).read_text())
        headers = _token(client, credentials)
    capfd.readouterr()
    with started(embedded) as client:
        assert credentials["client_secret"] not in capfd.readouterr().err
        assert _client_count(client) == 1
        assert client.get(KBS, headers=headers).status_code == 200, "the signing key was kept in the data folder"
    assert _private(embedded.data_dir / KEY_FILE)


def test_a_database_from_before_authentication_gets_a_client_for_its_existing_data(embedded):
    with started(replace(embedded, bootstrap_client=False)) as client:
        with transaction(client.app.state["runtime"].sessions) as session:
            knowledge_bases.create(session, workspace_id=workspaces.ensure_default(session), name="old", description=None)
        assert _client_count(client) == 0
    with started(embedded) as client:
        credentials = json.loads((embedded.data_dir / CREDENTIALS_FILE).read_text())
        names = [kb["name"] for kb in client.get(KBS, headers=_token(client, credentials)).json()["knowledgeBases"]]
        assert names == ["old"]


def test_bootstrap_client_false_never_creates_one(embedded):
    with started(replace(embedded, bootstrap_client=False)) as client:
        assert _client_count(client) == 0
        assert not (embedded.data_dir / CREDENTIALS_FILE).exists()


@pytest.fixture
def postgres_url(postgres, redis_server) -> Iterator[str]:  # type: ignore[no-untyped-def]
    url = postgres.create()
    yield url
    postgres.drop(url)


def test_with_database_url_no_client_is_made_unless_asked(postgres_url, tmp_path):
    settings = services.postgres_settings(postgres_url, data_dir=tmp_path, secret_hash_cost=4)
    with started(settings) as client:
        assert _client_count(client) == 0
        assert not (tmp_path / CREDENTIALS_FILE).exists()
    asked = services.postgres_settings(postgres_url, data_dir=tmp_path, secret_hash_cost=4, bootstrap_client=True)
    with started(asked) as client:
        credentials = json.loads((tmp_path / CREDENTIALS_FILE).read_text())
        assert uuid.UUID(credentials["client_id"]) and _client_count(client) == 1
        assert client.get(KBS, headers=_token(client, credentials)).status_code == 200


def test_bootstrap_setting_is_read_from_the_environment():
    assert Settings.from_env({"BOOTSTRAP_CLIENT": "false"}).bootstrap_client is False
    assert Settings.from_env({"BOOTSTRAP_CLIENT": "yes"}).bootstrap_client is True
    assert Settings.from_env({}).bootstrap_client is None
