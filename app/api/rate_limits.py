"""Requests per minute per caller, with Litestar's RateLimitMiddleware counting in a fixed window.

The middleware sits on the routers, after the bearer-token middleware, so the caller is
the authenticated client (its principal is in `scope["user"]`); on the token endpoint,
where nobody is authenticated yet, it is the client's IP address (each token request
costs a slow scrypt hash, so it must be limited too). Counts
live in Redis when the service has one, so every API process shares them; in the
embedded mode they live in memory. Health probes and the API docs are never limited.
A limiter whose counter is unreachable lets requests through: accepting jobs while
Redis is down matters more than counting requests. Over the limit the middleware raises
TooManyRequestsException with the RateLimit-* headers; app/api/errors.py renders it as a
429 with `Retry-After`.

Litestar's own middleware keeps a list of every request's timestamp in the window and
reads, decodes, re-encodes and writes it back under a process-wide lock: at 200 requests
a second that is 12,000 integers per request, and the read-then-write lets several API
processes overshoot the limit. `FixedWindowRateLimitMiddleware` keeps Litestar's
configuration, exclusions, keys and headers but counts with one atomic Redis round trip
(INCR, EXPIRE on the window's first request, TTL, in one Lua script). The window is the
same as Litestar's: it starts at a caller's first request and lasts a minute.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import DURATION_VALUES, RateLimitConfig, RateLimitMiddleware, get_remote_address
from litestar.types import Message, Receive, Scope, Send
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from app.settings import Settings

log = logging.getLogger(__name__)
UNLIMITED_PATHS = ["^/health$", "^/ready$", "^/schema", "^/swagger"]
# Seconds a Redis call may take before the limiter gives up and lets the request through.
REDIS_TIMEOUT = 1.0


@dataclass(frozen=True)
class Window:
    """A caller's requests so far in the current window, this one included."""

    count: int
    reset_in: int


class WindowCounter(Protocol):
    async def hit(self, key: str, window: int) -> Window | None: ...


def middleware(settings: Settings, shared: WindowCounter | None) -> list[DefineMiddleware]:
    """`shared` (from `counter`) counts for every router; None, limiting switched off, adds nothing."""
    if shared is None:
        return []
    config = FixedWindowRateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        exclude=UNLIMITED_PATHS,
        identifier_for_request=caller,
        counter=lambda: shared,
    )
    return [config.middleware]


def counter(settings: Settings) -> WindowCounter | None:
    """None when limiting is switched off."""
    if settings.rate_limit_per_minute <= 0:
        return None
    if settings.redis_url:
        # No retries: redis-py's default (10, with backoff) would hold a request for many
        # seconds against a Redis that does not answer, and FailOpen decides what a failure means.
        client = Redis.from_url(
            settings.redis_url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT, retry=Retry(NoBackoff(), 0)
        )
        return FailOpen(RedisWindowCounter(client, prefix=f"{settings.redis_namespace}:rate-limit:"))
    return MemoryWindowCounter()


def caller(request: Request[Any, Any, Any]) -> str:
    client_id = getattr(request.scope.get("user"), "client_id", None)
    if client_id is not None:
        return f"client:{client_id}"
    return f"ip:{get_remote_address(request)}"


@dataclass
class FixedWindowRateLimitConfig(RateLimitConfig):
    # A getter rather than the counter: Litestar deep-copies middleware arguments, and a
    # Redis client must stay one (its connection pool), which a closure does.
    counter: Callable[[], WindowCounter | None] = field(default=lambda: None)
    middleware_class: type[RateLimitMiddleware] = field(default_factory=lambda: FixedWindowRateLimitMiddleware)


class FixedWindowRateLimitMiddleware(RateLimitMiddleware):
    config: FixedWindowRateLimitConfig

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request: Request[Any, Any, Any] = scope["litestar_app"].request_class(scope)
        counter = self.config.counter()
        if counter is not None and await self.should_check_request(request=request):
            window = await counter.hit(self.cache_key_from_request(request), DURATION_VALUES[self.unit])
            if window is not None:
                if window.count > self.max_requests:
                    raise TooManyRequestsException(headers=self.headers(window) if self.config.set_rate_limit_headers else None)
                if self.config.set_rate_limit_headers:
                    send = self.stamping(send, self.headers(window))
        await self.app(scope, receive, send)

    def headers(self, window: Window) -> dict[str, str]:
        """The IETF RateLimit draft headers, as Litestar's middleware writes them."""
        return {
            self.config.rate_limit_policy_header_key: f"{self.max_requests}; w={DURATION_VALUES[self.unit]}",
            self.config.rate_limit_limit_header_key: str(self.max_requests),
            self.config.rate_limit_remaining_header_key: str(max(0, self.max_requests - window.count)),
            self.config.rate_limit_reset_header_key: str(window.reset_in),
        }

    @staticmethod
    def stamping(send: Send, headers: dict[str, str]) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                mutable = MutableScopeHeaders(message)
                for key, value in headers.items():
                    mutable[key] = value
            await send(message)

        return send_with_headers


# The TTL fallback repairs a key left without one (it would otherwise never reset). The
# seconds left are rounded up from PTTL (TTL rounds to the nearest): a client that waits
# exactly Retry-After must find the window over, not be refused again.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local pttl = redis.call('PTTL', KEYS[1])
local ttl = math.ceil(pttl / 1000)
if pttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class RedisWindowCounter:
    """Atomic in Redis, so several API processes never count past the limit together."""

    def __init__(self, client: Redis, *, prefix: str) -> None:
        self.prefix = prefix
        self._hit = client.register_script(_HIT)

    async def hit(self, key: str, window: int) -> Window:
        count, ttl = await self._hit(keys=[self.prefix + key], args=[window])
        return Window(count=int(count), reset_in=int(ttl))


class MemoryWindowCounter:
    """The embedded mode's counter: one process, and no await between reading and counting."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}
        self._next_sweep = 0.0

    async def hit(self, key: str, window: int) -> Window:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
            self._next_sweep = now + window
        count, ends = self._windows.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window
        self._windows[key] = (count + 1, ends)
        # Rounded up, as in Redis; capped, as (now + window) - now can come out a hair above window.
        return Window(count=count + 1, reset_in=max(0, min(window, math.ceil(ends - now))))


class FailOpen:
    """A counter that answers "not counted" (no limit, no headers) while its backend is down.

    A Redis that does not answer (a partition, a full server) would make every request wait
    out REDIS_TIMEOUT; after a failure the backend is left alone for `pause` seconds, during
    which requests pass at once, and then the next request tries it again. The outage is
    logged when it starts and when it ends, not once per request.
    """

    def __init__(self, inner: WindowCounter, *, pause: float = 5.0) -> None:
        self.inner = inner
        self.pause = pause
        self._down = False
        self._retry_at = 0.0

    async def hit(self, key: str, window: int) -> Window | None:
        if self._down:
            now = time.monotonic()
            if now < self._retry_at:
                return None
            # This request tries the counter again; the others keep passing meanwhile.
            self._retry_at = now + self.pause
        try:
            counted = await self.inner.hit(key, window)
        except Exception as error:  # noqa: BLE001 - any counter failure means "not limited"
            if not self._down:
                log.warning("rate-limit counter unavailable, not limiting for now: %s", type(error).__name__)
            self._down = True
            self._retry_at = time.monotonic() + self.pause
            return None
        if self._down:
            log.warning("rate-limit counter available again, limiting")
            self._down = False
        return counted
