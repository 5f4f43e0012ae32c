"""X-Request-Id on every response: a sane inbound one is echoed, otherwise one is made.

The id is fixed once per request in the ASGI scope. The middleware puts it in the log
context; the `before_send` hook stamps the header, because Litestar runs app-level
`before_send` for every response, including router-level 404/405s that no middleware sees.
The hook also puts the id back in the log context for the response's start, where the
server writes its access line: a 401 or 429 raised by a middleware is answered after the
middleware's `finally` took the id out, and a 404/405 never had it.
"""

from __future__ import annotations

import re
import uuid

from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app import logs

HEADER = "x-request-id"
_SANE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def request_id_of(scope: Scope) -> str:
    state = scope.setdefault("state", {})  # type: ignore[typeddict-item]
    if "request_id" not in state:
        inbound = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == HEADER.encode()), "")
        state["request_id"] = inbound if _SANE.match(inbound) else uuid.uuid4().hex
    return state["request_id"]


class RequestIdMiddleware(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        token = logs.request_id.set(request_id_of(scope))
        try:
            await next_app(scope, receive, send)
        finally:
            logs.request_id.reset(token)


async def stamp_request_id(message: Message, scope: Scope) -> None:
    if message["type"] == "http.response.start":
        request_id = request_id_of(scope)
        MutableScopeHeaders.from_message(message)[HEADER] = request_id
        # Never reset: the request's task, and with it this context, ends with the response.
        logs.request_id.set(request_id)
