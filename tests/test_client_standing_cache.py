"""On PostgreSQL the API caches clients' standing; revocation and rotation still end tokens at once.

The changes here are made by other processes and connections than the API's own (the
admin CLI, a separate engine), so only PostgreSQL's notification can tell the API.
"""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from app.auth.standings import StandingCache
from app.db import make_engine, transaction
from app.services import access_clients
from app.services.access_clients import PendingSecret
from app.settings import Settings
from tests.test_admin_cli import console_script

KBS = "/api/v2/knowledge-bases"
DEADLINE = 1.0

on_postgres = pytest.mark.parametrize("backend", ["postgres"])


def standings(service) -> StandingCache:  # type: ignore[no-untyped-def]
    return service.client.app.state["standings"]


def wait_until_trusted(cache: StandingCache, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cache.trusted:
        assert time.monotonic() < deadline, "the listener never connected"
        time.sleep(0.02)


def seconds_until_refused(service, headers: dict[str, str]) -> tuple[float, dict]:  # type: ignore[no-untyped-def,type-arg]
    started = time.monotonic()
    while True:
        response = service.client.get(KBS, headers=headers)
        if response.status_code == 401:
            return time.monotonic() - started, response.json()
        assert response.status_code == 200
        assert time.monotonic() - started < 5, "the change never took effect"
        time.sleep(0.005)


def other_process_sessions(service):  # type: ignore[no-untyped-def]
    """A session factory with its own engine: the change is made on a connection the API does not own."""
    engine = make_engine(service.runtime.settings)
    return engine, sessionmaker(engine, expire_on_commit=False)


def cached_client(service):  # type: ignore[no-untyped-def]
    """A new client whose standing the API process has cached by serving it once."""
    credentials = service.new_client(["*"])
    wait_until_trusted(standings(service))
    assert service.client.get(KBS, headers=credentials.headers).status_code == 200
    assert standings(service).get(uuid.UUID(credentials.client_id)) is not None
    return credentials


def revoke_in_sql_elsewhere(service, client_id: str) -> None:  # type: ignore[no-untyped-def]
    """A hand-made UPDATE on a connection the API does not own."""
    engine, sessions = other_process_sessions(service)
    try:
        with sessions.begin() as session:
            session.execute(text("UPDATE access_token_clients SET revoked_at = now() WHERE id = :id"), {"id": uuid.UUID(client_id)})
    finally:
        engine.dispose()


@on_postgres
def test_a_known_client_is_served_from_the_cache(service):
    credentials = cached_client(service)


@on_postgres
def test_revocation_by_the_admin_cli_ends_cached_tokens_within_the_deadline(service):
    credentials = cached_client(service)
    console_script(service, "clients", "revoke", credentials.client_id, "--json")
    elapsed, body = seconds_until_refused(service, credentials.headers)
    assert body["message"] == "Access token belongs to a revoked client"
    assert elapsed < DEADLINE
    assert service.client.get(KBS).status_code == 200, "other clients keep working"


@on_postgres
def test_rotation_by_the_admin_cli_ends_cached_tokens_within_the_deadline(service):
    credentials = cached_client(service)
    console_script(service, "clients", "rotate-secret", credentials.client_id, "--json")
    elapsed, body = seconds_until_refused(service, credentials.headers)
    assert body["message"] == "Access token was issued before the client's secret was rotated; request a new one"
    assert elapsed < DEADLINE


@on_postgres
def test_a_revocation_made_by_hand_in_sql_ends_cached_tokens_within_the_deadline(service):
    """The migration's trigger notifies for changes the admin commands did not make."""
    credentials = cached_client(service)
    revoke_in_sql_elsewhere(service, credentials.client_id)
    elapsed, body = seconds_until_refused(service, credentials.headers)
    assert body["message"] == "Access token belongs to a revoked client"
    assert elapsed < DEADLINE


@on_postgres
def test_a_change_made_in_this_process_holds_for_the_very_next_request(service):
    credentials = cached_client(service)
    with transaction(service.runtime.sessions) as session:
        access_clients.rotate_secret(session, client_id=uuid.UUID(credentials.client_id), pending=PendingSecret.make(cost=4))
    assert service.client.get(KBS, headers=credentials.headers).status_code == 401


@on_postgres
def test_while_the_listener_is_disconnected_every_request_reads_the_database(service):
    credentials = service.new_client(["*"])
    cache = standings(service)
    wait_until_trusted(cache)
    assert service.client.get(KBS, headers=credentials.headers).status_code == 200
    engine, sessions = other_process_sessions(service)
    try:
        with sessions.begin() as session:
            session.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'kb-ingest access-client listener' AND datname = current_database()"))
    finally:
        engine.dispose()
    # Revoked without any notification reaching this process: its listener is gone.
    revoke_in_sql_elsewhere(service, credentials.client_id)
    elapsed, body = seconds_until_refused(service, credentials.headers)
    assert body["message"] == "Access token belongs to a revoked client"
    assert elapsed < DEADLINE
    wait_until_trusted(cache)
    assert cache.get(uuid.UUID(credentials.client_id)) is None, "reconnecting starts from an empty cache"


@on_postgres
def test_a_stopped_cache_is_not_trusted_and_a_restarted_one_is_again(service):
    cache = StandingCache.for_engine(service.runtime.engine)
    for _ in range(2):  # each start has its own listener, stop signal and wake-up
        cache.start()
        wait_until_trusted(cache)
        cache.stop()
        assert not cache.trusted and cache.ticket() is None
    cache.stop()  # a second stop does nothing


def test_the_embedded_mode_caches_nothing(tmp_path):
    cache = StandingCache.for_engine(make_engine(Settings(data_dir=tmp_path)))
    cache.start()
    assert not cache.trusted and cache.ticket() is None
    cache.stop()
