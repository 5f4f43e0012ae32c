"""The pure rules under every retry and poll: backoff, Retry-After, what may be resent, token renewal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from kb_client import Backoff, RetryPolicy
from kb_client.auth import Credentials, TokenCache
from kb_client.backoff import POLLING, retry_after
from kb_client.protocol import Call

GET = Call(method="GET", path="/api/v2/data-ingestion/jobs")
CREATE = Call(method="POST", path="/api/v2/knowledge-bases", replayable=False)


def answer(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", "http://kb.test/"))


def test_polling_starts_at_one_second_and_grows_to_thirty() -> None:
    steady = Backoff(initial=POLLING.initial, maximum=POLLING.maximum, factor=POLLING.factor, jitter=0)
    delays = [steady.delay(n) for n in range(12)]
    assert delays[0] == 1.0
    assert delays == sorted(delays)
    assert delays[-1] == 30.0


def test_jitter_only_ever_shortens_a_delay() -> None:
    jittery = Backoff(initial=1, maximum=8, factor=2, jitter=0.5)
    for attempt in range(6):
        base = min(8, 2**attempt)
        assert all(base * 0.5 <= jittery.delay(attempt) <= base for _ in range(50))


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    assert retry_after(answer(429, **{"retry-after": "7"})) == 7.0
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= retry_after(answer(503, **{"retry-after": in_a_minute})) <= 60
    assert retry_after(answer(429, **{"retry-after": "soon"})) is None
    assert retry_after(answer(429)) is None


def test_the_servers_retry_after_wins_over_the_backoff_up_to_a_cap() -> None:
    policy = RetryPolicy(backoff=Backoff(initial=1, maximum=1, jitter=0), max_retry_after=60)
    assert policy.after_response(GET, answer(429, **{"retry-after": "12"}), 0) == 12
    assert policy.after_response(GET, answer(429, **{"retry-after": "3600"}), 0) == 60
    assert policy.after_response(GET, answer(502), 0) == 1


def test_a_server_error_is_retried_only_when_resending_cannot_do_the_work_twice() -> None:
    policy = RetryPolicy()
    assert policy.after_response(CREATE, answer(500), 0) is None
    assert policy.after_response(CREATE, answer(503), 0) is not None
    assert policy.after_response(CREATE, answer(429), 0) is not None
    assert policy.after_response(CREATE, answer(408), 0) is not None
    assert policy.after_error(CREATE, httpx.ConnectError("refused"), 0) is not None
    assert policy.after_error(CREATE, httpx.ReadError("reset"), 0) is None
    assert policy.after_error(GET, httpx.ReadError("reset"), 0) is not None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413])
def test_client_errors_are_never_retried(status: int) -> None:
    assert RetryPolicy().after_response(GET, answer(status), 0) is None


def test_retries_stop_after_the_last_attempt() -> None:
    policy = RetryPolicy(attempts=3)
    assert policy.after_response(GET, answer(503), 1) is not None
    assert policy.after_response(GET, answer(503), 2) is None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def token_answer(expires_in: int, token: str = "t1") -> httpx.Response:
    return httpx.Response(200, json={"access_token": token, "token_type": "Bearer", "expires_in": expires_in},
                          request=httpx.Request("POST", "http://kb.test/api/v2/auth/token"))


def test_a_token_is_renewed_before_it_expires() -> None:
    clock = Clock()
    cache = TokenCache(Credentials(client_id="bot", client_secret="s"), clock=clock)
    assert cache.current() is None
    cache.store(token_answer(3600))
    clock.now = 3539
    assert cache.current() == "Bearer t1"
    clock.now = 3540
    assert cache.current() is None


def test_a_short_lived_token_is_renewed_when_a_fifth_of_its_life_is_left() -> None:
    clock = Clock()
    cache = TokenCache(Credentials(client_id="bot", client_secret="s"), clock=clock)
    cache.store(token_answer(10))
    clock.now = 7.9
    assert cache.current() == "Bearer t1"
    clock.now = 8.0
    assert cache.current() is None


def test_a_refused_token_is_dropped_unless_another_request_already_renewed_it() -> None:
    cache = TokenCache(Credentials(client_id="bot", client_secret="s"))
    cache.store(token_answer(3600, "new"))
    assert cache.discard("Bearer old") is True
    assert cache.current() == "Bearer new"
    assert cache.discard("Bearer new") is True
    assert cache.current() is None


def test_a_fixed_token_cannot_be_renewed() -> None:
    cache = TokenCache(static_token="abc")
    assert cache.current() == "Bearer abc"
    assert cache.discard("Bearer abc") is False
