"""X-Request-Id on every response: a sane inbound one is echoed, otherwise one is made.

The id is fixed once per request and kept in the scope's state, so the middleware (which
puts it in the log context) and the before-send hook (which puts it on the response)
agree. The header is set by the hook, not the middleware, because Litestar runs route
middleware only for matched routes: a 404 for an unknown path, or an error raised by
another middleware (a 429), never passes through it.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app import logs

HEADER = "x-request-id"
_STATE_KEY = "request_id"
_SANE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def request_id_of(scope: Scope | dict[str, Any]) -> str:
    state = scope.setdefault("state", {})  # type: ignore[union-attr]
    request_id = state.get(_STATE_KEY)
    if request_id is None:
        inbound = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == HEADER.encode()), "")
        request_id = inbound if _SANE.fullmatch(inbound) else uuid.uuid4().hex
        state[_STATE_KEY] = request_id
    return request_id


class RequestIdMiddleware(ASGIMiddleware):
    """Puts the request id in the log context for everything the request does."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        token = logs.request_id.set(request_id_of(scope))
        try:
            await next_app(scope, receive, send)
        finally:
            logs.request_id.reset(token)


async def add_request_id_header(message: Message, scope: Scope) -> None:
    """Litestar before-send hook: runs for every response of the app, whatever produced it."""
    if message["type"] == "http.response.start":
        MutableScopeHeaders.from_message(message)[HEADER] = request_id_of(scope)
