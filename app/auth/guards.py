"""Authorization on /api/v2: the scope check, and the caller's workspace for the handlers."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.types import Guard

from app.auth import scopes
from app.auth.middleware import REALM, Principal


def scope_guard(prefix: str) -> Guard:
    """A guard for the router mounted at `prefix`: 403 `Insufficient scope: <scope> required`."""

    def require_scope(connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler) -> None:
        if connection.scope["method"] == "OPTIONS":
            return  # Litestar's automatic OPTIONS answer reveals only the allowed methods; auth skips it too.
        principal: Principal = connection.user
        needed = scopes.required_for(connection.scope["path_template"], connection.scope["method"], route_handler.opt, prefix=prefix)
        if not scopes.grants(principal.scopes, needed):
            challenge = f'Bearer realm="{REALM}", error="insufficient_scope", scope="{needed}"'
            raise PermissionDeniedException(f"Insufficient scope: {needed} required", headers={"WWW-Authenticate": challenge})

    return require_scope


def provide_workspace_id(request: Request[Principal, Any, Any]) -> UUID:
    """Every handler's `workspace_id`: the workspace of the client whose token came with the request."""
    return request.user.workspace_id
