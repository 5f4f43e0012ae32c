"""A request body that stops arriving is answered 408, whichever endpoint reads it.

uvicorn has no timeout for a body once its headers came, so a client that stalls half
way holds its connection (and, for an upload, a spooled file) for as long as it stays
connected. The token endpoint needs no token, so anyone could hold connections that way.
Each wait for the body's next part is bounded; once the body is whole, later waits (a
streamed response watching for the client to leave) are not.
"""

from __future__ import annotations

import asyncio
import logging

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import RequestTimeout

log = logging.getLogger(__name__)


class StalledBodyMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, idle_seconds: float | None) -> None:
        """`idle_seconds`: the longest wait for the body's next part; None waits for ever."""
        self.idle_seconds = idle_seconds

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if self.idle_seconds is None:
            await next_app(scope, receive, send)
            return
        idle_seconds = self.idle_seconds
        size, whole = 0, False

        async def receive_in_time() -> Message:
            nonlocal size, whole
            if whole:
                return await receive()
            try:
                async with asyncio.timeout(idle_seconds):
                    message = await receive()
            except TimeoutError:
                log.info("the body stopped arriving after %d bytes; answered 408", size)
                raise RequestTimeout(f"The request body stopped arriving for {idle_seconds:g} s after {size} bytes; send it again") from None
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                whole = not message.get("more_body", False)
            else:
                whole = True  # the client left: nothing more will come
            return message

        await next_app(scope, receive_in_time, send)
