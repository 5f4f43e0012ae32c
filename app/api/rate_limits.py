"""Requests per minute per caller, with Litestar's RateLimitMiddleware.

The caller is the authenticated client when an authentication middleware ran before this
one (it leaves its principal in `scope["user"]`), else the client's IP address. Counts
live in Redis when the service has one, so every API process shares them; in the
embedded mode they live in memory. Health probes and the API docs are never limited.
Over the limit the middleware raises TooManyRequestsException with the RateLimit-*
headers; app/api/errors.py renders it as a 429 with `Retry-After`.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from app.settings import Settings

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
        return RedisStore.with_client(url=settings.redis_url, namespace=f"{settings.redis_namespace}:rate-limit")
    return MemoryStore()


def caller(request: Request[Any, Any, Any]) -> str:
    client_id = getattr(request.scope.get("user"), "client_id", None)
    if client_id is not None:
        return f"client:{client_id}"
    return f"ip:{get_remote_address(request)}"
