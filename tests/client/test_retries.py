"""Retries over a real network: a restarting service, a connection dropped before the answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from app.api.rate_limits import FixedWindowRateLimitMiddleware
from app.main import create_app
from kb_client import Backoff, Client, RetryPolicy, errors
from tests.client.conftest import listening_socket, serve
from tests.client.proxy import DroppingProxy
from tests.client.records import articles

QUICK_RETRIES = RetryPolicy(attempts=20, backoff=Backoff(initial=0.1, maximum=0.3, jitter=0))


@pytest.fixture
def proxied(live_server, request: pytest.FixtureRequest) -> Iterator[DroppingProxy]:
    proxy = DroppingProxy(live_server.port, target=request.param)
    yield proxy
    proxy.close()


def test_requests_are_retried_while_the_service_restarts(live_server) -> None:
    with Client(live_server.url, **live_server.credentials, retry=QUICK_RETRIES) as client:
        assert client.list_adapters()
        live_server.stop()
        sock = listening_socket(port=live_server.port)
        started: list[Any] = []
        timer = threading.Timer(1.0, lambda: started.append(serve(create_app(live_server.settings), sock)))
        timer.start()
        try:
            assert client.list_adapters()
        finally:
            timer.cancel()
            timer.join()
            for server, thread in started:
                server.should_exit = True
                thread.join(timeout=30)
            sock.close()


def test_an_unreachable_service_is_a_connection_error_after_the_last_attempt() -> None:
    sock = listening_socket()
    policy = RetryPolicy(attempts=3, backoff=Backoff(initial=0.05, maximum=0.05))
    with Client(f"http://127.0.0.1:{sock.getsockname()[1]}", retry=policy) as client, \
            pytest.raises(errors.ConnectionFailed, match="GET /api/v2/data-ingestion/adapters: ConnectError"):
        client.list_adapters()
    sock.close()


@pytest.mark.parametrize("proxied", [b"POST /api/v2/data-ingestion/jobs"], indirect=True)
def test_a_submission_whose_answer_is_lost_is_resent_with_the_same_idempotency_key(proxied: DroppingProxy, live_server, kb_id: str) -> None:
    proxied.drop_next_answers(1)
    with Client(proxied.url, **live_server.credentials, retry=QUICK_RETRIES) as client:
        accepted = client.submit_job(kb_id, {"records": articles(2)})
    assert len(proxied.keys_seen) == 2
    assert proxied.keys_seen == [accepted.idempotency_key] * 2


@pytest.mark.parametrize("proxied", [b"POST /api/v2/knowledge-bases"], indirect=True)
def test_a_create_whose_answer_is_lost_is_not_resent_so_nothing_is_created_twice(proxied: DroppingProxy, live_server, client: Client) -> None:
    proxied.drop_next_answers(1)
    with Client(proxied.url, **live_server.credentials, retry=QUICK_RETRIES) as through_proxy, \
            pytest.raises(errors.ConnectionFailed, match="POST /api/v2/knowledge-bases"):
        through_proxy.create_knowledge_base("docs")
    assert len(proxied.targets_seen) == 1
    assert [kb.name for kb in client.iter_knowledge_bases()] == ["docs"]


@pytest.mark.parametrize("proxied", [b"POST /api/v2/data-ingestion/jobs"], indirect=True)
def test_a_submission_resent_after_a_dropped_connection_makes_exactly_one_job(proxied: DroppingProxy, live_server, client: Client, kb_id: str) -> None:
    proxied.drop_next_answers(1)
    with Client(proxied.url, **live_server.credentials, retry=QUICK_RETRIES) as through_proxy:
        accepted = through_proxy.submit_job(kb_id, {"records": articles(2)})
    assert len(proxied.keys_seen) == 2
    assert accepted.replayed
    assert [j.id for j in client.iter_jobs()] == [accepted.job_id]


class TestRateLimits:
    @pytest.fixture
    def server_settings(self) -> dict[str, Any]:
        return {"rate_limit_per_minute": 3}

    def test_a_request_still_limited_after_the_last_attempt_raises_with_the_servers_hint(self, live_server) -> None:
        with Client(live_server.url, **live_server.credentials, retry=RetryPolicy(attempts=1)) as client, \
                pytest.raises(errors.RateLimited) as limited:
            for _ in range(4):
                client.list_adapters()
        assert limited.value.status == 429
        assert 0 < limited.value.retry_after <= 60
        assert limited.value.message.startswith("Too many requests")

    def test_a_limited_client_waits_as_long_as_retry_after_says_and_then_succeeds(self, live_server) -> None:
        # The caller's window started 56 s ago, as far as the server can tell: one request
        # counted and 4 s left. The client is then limited on its third request and told
        # to wait the 4 s left, not a whole minute (4, under uvicorn's 5 s keep-alive, so
        # the connection is still open for the retry). Should the seeding miss the
        # caller's key, the server's hint is ~60 s: the client waits at most 5 and gives up.
        window = anyio.run(live_server.app.state["rate_limit_counter"].hit, caller_key(live_server), 4)
        assert window is not None and window.count == 1
        proxy = DroppingProxy(live_server.port)
        try:
            with Client(proxy.url, **live_server.credentials, retry=RetryPolicy(attempts=2, max_retry_after=5)) as client:
                started = time.monotonic()
                for _ in range(4):
                    assert client.list_adapters()
                waited = time.monotonic() - started
        finally:
            proxy.close()
        # The token, two requests, the third limited and then repeated, the fourth.
        assert [status for status, _ in proxy.answers_seen] == [200, 200, 200, 429, 200, 200]
        (hint,) = [retry_after for status, retry_after in proxy.answers_seen if status == 429]
        assert 1 <= hint <= 4
        assert waited >= hint - 1  # Retry-After is in whole seconds
        assert proxy.requests_seen.count(b"GET /api/v2/data-ingestion/adapters HTTP/1.1") == 5


def caller_key(live_server) -> str:
    """The key the rate limiter counts this client's requests under (app/api/rate_limits.py)."""
    return f"{FixedWindowRateLimitMiddleware.__name__}::client:{live_server.credentials['client_id']}"
