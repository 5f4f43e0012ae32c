"""Requests per minute per caller: 429 in our error shape with Retry-After, counted in Redis when there is one."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from uuid import uuid4

import anyio
import httpx
import pytest
from redis.asyncio import Redis
from litestar import Request
from litestar.testing import TestClient

from app.api import rate_limits
from app.api.rate_limits import FailOpen, MemoryWindowCounter, RedisWindowCounter, Window, caller
from app.settings import Settings
from app.main import create_app
from tests.services import REDIS_URL

KBS = "/api/v2/knowledge-bases"


@pytest.fixture
def settings_overrides():
    return {"rate_limit_per_minute": 3}


def token_request_from(service, ip: str) -> httpx.Response:
    """A token request from a given client address, through the running app on its own event loop."""

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=service.client.app, client=(ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            form = {"grant_type": "client_credentials", "client_id": str(uuid4()), "client_secret": "wrong"}
            return await client.post("/api/v2/auth/token", data=form)

    return service.client.blocking_portal.call(call)


def test_requests_over_the_limit_are_429_with_retry_after(service):
    remaining = [service.client.get(KBS).headers["ratelimit-remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    response = service.client.get(KBS)
    assert response.status_code == 429
    body = response.json()
    assert body["statusCode"] == 429
    assert body["error"] == "Too Many Requests"
    assert body["path"] == KBS
    assert body["message"].startswith("Too many requests: the limit is 3 per minute; retry after ")
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["ratelimit-limit"] == "3"
    assert response.headers["ratelimit-policy"] == "3; w=60"
    assert response.headers["x-request-id"]


def test_submissions_are_limited_like_every_api_request(service):
    kb = service.create_kb()
    responses = [
        service.client.post(
            "/api/v2/data-ingestion/jobs",
            json={"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": [{"id": "a", "content": "x"}]}},
        )
        for _ in range(3)
    ]
    assert [r.status_code for r in responses] == [202, 202, 429]
    assert service.client.get("/api/v2/data-ingestion/jobs").status_code == 429


def test_health_probes_and_docs_are_never_limited(service):
    for path in ["/health", "/ready", "/schema/openapi.json"] * 4:
        response = service.client.get(path)
        assert response.status_code == 200, path
        assert "ratelimit-limit" not in response.headers
    assert service.client.get(KBS).headers["ratelimit-remaining"] == "2"


def test_each_authenticated_client_has_its_own_count(service):
    other = service.new_client(scopes=["*"])
    assert [service.client.get(KBS).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert service.client.get(KBS, headers=other.headers).status_code == 200


def test_token_requests_are_limited_per_client_address(service):
    assert [token_request_from(service, "10.0.0.1").status_code for _ in range(4)] == [401, 401, 401, 429]
    assert token_request_from(service, "10.0.0.2").status_code == 401


@pytest.mark.parametrize("backend", ["postgres"])
def test_counts_are_shared_by_every_api_process_through_redis(service, redis_server):
    second = create_app(service.runtime.settings)
    with TestClient(second) as other_process:
        assert service.client.get(KBS).status_code == 200
        other_process.headers.update(service.client.headers)
        assert other_process.get(KBS).status_code == 200
        assert service.client.get(KBS).status_code == 200
        assert other_process.get(KBS).status_code == 429
    assert redis_server.keys(f"{service.runtime.settings.redis_namespace}:rate-limit:*")


def test_concurrent_hits_from_several_clients_are_each_counted_once(redis_server):
    """The count is one atomic Redis step: no read-then-write for concurrent requests to race on."""
    prefix = f"test-{uuid4().hex}:rate-limit:"

    async def hits() -> list[int]:
        clients = [Redis.from_url(REDIS_URL) for _ in range(4)]
        counters = [RedisWindowCounter(c, prefix=prefix) for c in clients]
        counts: list[int] = []

        async def hit(i: int) -> None:
            counts.append((await counters[i % 4].hit("client:x", 60)).count)

        async with anyio.create_task_group() as group:
            for i in range(200):
                group.start_soon(hit, i)
        for c in clients:
            await c.aclose()
        return counts

    try:
        counts = anyio.run(hits)
        assert sorted(counts) == list(range(1, 201))
        assert 0 < redis_server.ttl(f"{prefix}client:x") <= 60
    finally:
        redis_server.delete(f"{prefix}client:x")


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_the_seconds_left_are_rounded_up_so_waiting_them_out_is_enough(kind, redis_server):
    """4.4 s left is a Retry-After of 5, not 4: a client that waits exactly that long is not refused again."""
    key = f"test-{uuid4().hex}:client:x"
    client = Redis.from_url(REDIS_URL)
    counter = MemoryWindowCounter() if kind == "memory" else RedisWindowCounter(client, prefix="")

    async def two_hits() -> list[Window]:
        first = await counter.hit(key, 5)
        await anyio.sleep(0.6)
        second = await counter.hit(key, 5)
        await client.aclose()
        return [first, second]

    try:
        first, second = anyio.run(two_hits)
        assert (first.count, first.reset_in) == (1, 5)
        assert (second.count, second.reset_in) == (2, 5)
    finally:
        redis_server.delete(key)


def test_an_unreachable_redis_lets_requests_through_with_a_warning(caplog):
    unreachable = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    counter = FailOpen(RedisWindowCounter(unreachable, prefix="x:"))
    assert anyio.run(counter.hit, "client:x", 60) is None
    assert "rate-limit counter unavailable, not limiting" in caplog.text


def test_a_redis_that_never_answers_is_left_alone_for_a_pause_then_tried_again(caplog):
    """A black hole (connections accepted, nothing answered) costs one timeout per pause, not one per request."""
    with BlackHole() as hole:
        settings = Settings(redis_url=f"redis://127.0.0.1:{hole.port}/0", rate_limit_per_minute=3)
        counter = rate_limits.counter(settings)  # as the service builds it: 1 s timeouts, no retries
        counter.pause = 1.5

        async def hits(n: int) -> list[Window | None]:
            return [await counter.hit("client:x", 60) for _ in range(n)]

        assert anyio.run(hits, 20) == [None] * 20
        assert hole.connections == 1, "only the first request waited for Redis"
        assert caplog.text.count("rate-limit counter unavailable") == 1
        time.sleep(1.6)

        async def at_once(n: int) -> list[Window | None]:
            answers: list[Window | None] = []

            async def one() -> None:
                answers.append(await counter.hit("client:x", 60))

            async with anyio.create_task_group() as group:
                for _ in range(n):
                    group.start_soon(one)
            return answers

        assert anyio.run(at_once, 10) == [None] * 10
        assert hole.connections == 2, "after the pause one request, not all, tries Redis again"


def test_the_limiter_counts_again_once_a_stalled_redis_answers(redis_server, caplog):
    prefix = f"test-{uuid4().hex}:"
    client = Redis.from_url(REDIS_URL, socket_timeout=0.2)
    counter = FailOpen(RedisWindowCounter(client, prefix=prefix), pause=0.3)
    try:
        redis_server.execute_command("CLIENT", "PAUSE", 600, "ALL")  # Redis stalls for 0.6 s
        assert anyio.run(counter.hit, "client:x", 60) is None
        time.sleep(0.8)
        window = anyio.run(counter.hit, "client:x", 60)
        assert window is not None and window.count == 1
        assert "rate-limit counter available again" in caplog.text
    finally:
        redis_server.delete(f"{prefix}client:x")


class BlackHole:
    """A TCP server that accepts connections, counts them and never answers."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> BlackHole:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()
        for held in self._held:
            held.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self._held.append(connection)
            self.connections += 1


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("settings_overrides", [{"rate_limit_per_minute": 3, "redis_url": "redis://127.0.0.1:1/0", "broker_url": REDIS_URL}])
def test_requests_pass_unlimited_while_redis_is_unreachable(service):
    responses = [service.client.get(KBS) for _ in range(5)]
    assert [r.status_code for r in responses] == [200] * 5
    assert "ratelimit-remaining" not in responses[0].headers


@pytest.mark.parametrize("settings_overrides", [{"rate_limit_per_minute": 0}])
def test_zero_switches_limiting_off(service):
    assert all(service.client.get(KBS).status_code == 200 for _ in range(10))


@dataclass(frozen=True)
class Principal:
    """What an authentication middleware leaves in `scope["user"]`."""

    client_id: object


def test_caller_is_the_authenticated_client_else_the_client_address():
    scope = {"type": "http", "client": ("192.0.2.7", 5555), "headers": [], "path": "/", "query_string": b""}
    assert caller(Request(scope)) == "ip:192.0.2.7"
    client_id = uuid4()
    assert caller(Request({**scope, "user": Principal(client_id)})) == f"client:{client_id}"


def test_limit_is_read_from_the_environment():
    assert Settings().rate_limit_per_minute == 600
    assert Settings.from_env({"RATE_LIMIT_PER_MINUTE": "5"}).rate_limit_per_minute == 5
