"""Retries over a real network: a restarting service, a connection dropped before the answer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from app.main import create_app
from app.settings import Settings
from kb_client import Backoff, Client, RetryPolicy, errors
from tests.client.conftest import listening_socket, serve
from tests.client.proxy import DroppingProxy
from tests.client.records import articles

QUICK_RETRIES = RetryPolicy(attempts=20, backoff=Backoff(initial=0.1, maximum=0.3, jitter=0))


@pytest.fixture
def proxied(live_server, request: pytest.FixtureRequest) -> Iterator[DroppingProxy]:
    proxy = DroppingProxy(int(live_server.url.rsplit(":", 1)[1]), target=request.param)
    yield proxy
    proxy.close()


def test_requests_are_retried_until_a_starting_service_answers(tmp_path) -> None:
    sock = listening_socket()
    app = create_app(Settings(data_dir=tmp_path / "data", log_json=False, log_level="WARNING"))
    started: list[Any] = []
    timer = threading.Timer(1.0, lambda: started.append(serve(app, sock)))
    timer.start()
    try:
        with Client(f"http://127.0.0.1:{sock.getsockname()[1]}", retry=QUICK_RETRIES) as client:
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
def test_a_submission_whose_answer_is_lost_is_resent_with_the_same_idempotency_key(proxied: DroppingProxy, kb_id: str) -> None:
    proxied.drop_next_answers(1)
    with Client(proxied.url, retry=QUICK_RETRIES) as client:
        accepted = client.submit_job(kb_id, {"records": articles(2)})
    assert len(proxied.keys_seen) == 2
    assert proxied.keys_seen == [accepted.idempotency_key] * 2


@pytest.mark.parametrize("proxied", [b"POST /api/v2/knowledge-bases"], indirect=True)
def test_a_create_whose_answer_is_lost_is_not_resent_so_nothing_is_created_twice(proxied: DroppingProxy, client: Client) -> None:
    proxied.drop_next_answers(1)
    with Client(proxied.url, retry=QUICK_RETRIES) as through_proxy, \
            pytest.raises(errors.ConnectionFailed, match="POST /api/v2/knowledge-bases"):
        through_proxy.create_knowledge_base("docs")
    assert len(proxied.targets_seen) == 1
    assert [kb.name for kb in client.iter_knowledge_bases()] == ["docs"]
