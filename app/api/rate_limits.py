"""Requests per minute per caller, with Litestar's RateLimitMiddleware.

The middleware sits on the routers, after the bearer-token middleware, so the caller is
the authenticated client (its principal is in `scope["user"]`); on the token endpoint,
where nobody is authenticated yet, it is the client's IP address (each token request
costs a slow scrypt hash, so it must be limited too). Counts
live in Redis when the service has one, so every API process shares them; in the
embedded mode they live in memory. Health probes and the API docs are never limited.
A limiter whose store is unreachable lets requests through (FailOpenStore): accepting
jobs while Redis is down matters more than counting requests. Over the limit the middleware raises TooManyRequestsException with the RateLimit-*
headers; app/api/errors.py renders it as a 429 with `Retry-After`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from app.settings import Settings

log = logging.getLogger(__name__)
STORE_NAME = "rate_limit"
UNLIMITED_PATHS = ["^/health$", "^/ready$", "^/schema", "^/swagger"]


def middleware(settings: Settings) -> list[DefineMiddleware]:
    """Nothing when limiting is switched off (`RATE_LIMIT_PER_MINUTE=0`)."""
    if settings.rate_limit_per_minute <= 0:
        return []
    config = RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        exclude=UNLIMITED_PATHS,
        identifier_for_request=caller,
        store=STORE_NAME,
    )
    return [config.middleware]


def store(settings: Settings) -> Store:
    if settings.redis_url:
        return FailOpenStore(RedisStore.with_client(url=settings.redis_url, namespace=f"{settings.redis_namespace}:rate-limit"))
    return MemoryStore()


class FailOpenStore(Store):
    """A store that answers "nothing counted yet" instead of failing while its backend is down."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        try:
            return await self.inner.get(key, renew_for)
        except Exception as error:  # noqa: BLE001 - any store failure means "not limited"
            log.warning("rate-limit store unavailable, not limiting: %s", type(error).__name__)
            return None

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        try:
            await self.inner.set(key, value, expires_in)
        except Exception:  # noqa: BLE001
            return

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def delete_all(self) -> None:
        await self.inner.delete_all()

    async def exists(self, key: str) -> bool:
        return await self.inner.exists(key)

    async def expires_in(self, key: str) -> int | None:
        return await self.inner.expires_in(key)


def caller(request: Request[Any, Any, Any]) -> str:
    client_id = getattr(request.scope.get("user"), "client_id", None)
    if client_id is not None:
        return f"client:{client_id}"
    return f"ip:{get_remote_address(request)}"
