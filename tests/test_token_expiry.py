"""Tokens live for ACCESS_TOKEN_LIFETIME seconds: here one second, so the test waits seconds, not an hour."""

from __future__ import annotations

import time

import pytest

KBS = "/api/v2/knowledge-bases"


@pytest.fixture
def settings_overrides():  # type: ignore[no-untyped-def]
    return {"access_token_lifetime": 1}


def test_token_endpoint_reports_the_configured_lifetime(service):
    credentials = service.new_client(["*"])
    response = service.client.post(
        "/api/v2/auth/token",
        data={"grant_type": "client_credentials", "client_id": credentials.client_id, "client_secret": credentials.client_secret},
    )
    assert response.json()["expires_in"] == 1


def test_token_stops_working_when_its_short_lifetime_ends(service):
    credentials = service.new_client(["*"])
    assert service.client.get(KBS, headers=credentials.headers).status_code == 200
    deadline = time.monotonic() + 15
    while (response := service.client.get(KBS, headers=credentials.headers)).status_code == 200:
        assert time.monotonic() < deadline, "a 1-second token still worked after 15 s"
        time.sleep(0.2)
    assert response.status_code == 401
    assert response.json()["message"] == "Access token has expired"
