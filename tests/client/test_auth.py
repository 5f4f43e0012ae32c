"""Client credentials against a live service: the token is fetched once, renewed before it
expires, renewed once more when the service refuses it, and bad credentials are an error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest

pytest.importorskip("app.auth", reason="authentication (issue #4) is not in this tree yet")

from app.main import create_app  # noqa: E402
from kb_client import Client, errors  # noqa: E402
from tests.client.conftest import LiveServer, listening_socket, serve  # noqa: E402
from tests.client.proxy import DroppingProxy  # noqa: E402

TOKEN_REQUEST = b"POST /api/v2/auth/token HTTP/1.1"
ADAPTERS_REQUEST = b"GET /api/v2/data-ingestion/adapters HTTP/1.1"


@pytest.fixture
def front(live_server: LiveServer) -> Iterator[DroppingProxy]:
    """A stable address in front of the live server, counting the requests that pass."""
    proxy = DroppingProxy(live_server.port)
    yield proxy
    proxy.close()


def test_a_token_is_fetched_once_and_reused(front: DroppingProxy, live_server: LiveServer) -> None:
    with Client(front.url, **live_server.credentials) as client:
        for _ in range(3):
            assert client.list_adapters()
    assert front.requests_seen.count(TOKEN_REQUEST) == 1
    assert front.requests_seen.count(ADAPTERS_REQUEST) == 3


class TestShortLivedTokens:
    @pytest.fixture
    def server_settings(self) -> dict[str, Any]:
        return {"access_token_lifetime": 2}

    def test_a_token_is_renewed_before_it_expires_so_no_request_is_refused(self, front: DroppingProxy, live_server: LiveServer) -> None:
        with Client(front.url, **live_server.credentials) as client:
            assert client.list_adapters()
            time.sleep(1.7)
            assert client.list_adapters()
        assert front.requests_seen.count(TOKEN_REQUEST) == 2
        assert front.requests_seen.count(ADAPTERS_REQUEST) == 2


def test_a_refused_token_is_renewed_once_and_the_request_sent_again(front: DroppingProxy, live_server: LiveServer) -> None:
    with Client(front.url, **live_server.credentials) as client:
        assert client.list_adapters()
        with restarted_with_a_new_signing_key(live_server, front):
            assert client.list_adapters()
    assert front.requests_seen == [TOKEN_REQUEST, ADAPTERS_REQUEST, ADAPTERS_REQUEST, TOKEN_REQUEST, ADAPTERS_REQUEST]


def test_wrong_credentials_are_an_authentication_error_with_the_servers_reason(front: DroppingProxy, live_server: LiveServer) -> None:
    credentials = {**live_server.credentials, "client_secret": "not-the-secret"}
    with Client(front.url, **credentials) as client, pytest.raises(errors.AuthenticationError) as refused:
        client.list_adapters()
    assert refused.value.status == 401
    assert refused.value.message.startswith("invalid_client: ")
    assert front.requests_seen == [TOKEN_REQUEST]


def test_without_credentials_the_services_message_says_a_token_is_required(live_server: LiveServer) -> None:
    with Client(live_server.url) as client, pytest.raises(errors.AuthenticationError) as refused:
        client.list_adapters()
    assert refused.value.message == "Access token is required"


@contextmanager
def restarted_with_a_new_signing_key(live_server: LiveServer, front: DroppingProxy) -> Iterator[None]:
    """Start the service again on the same data with another SECRET_KEY, behind the same address:
    every token issued before is refused now, while the client's credentials stay good."""
    live_server.stop()
    sock = listening_socket()
    server, thread = serve(create_app(replace(live_server.settings, secret_key="rotated-" + "k" * 40)), sock)
    front.upstream = ("127.0.0.1", sock.getsockname()[1])
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
