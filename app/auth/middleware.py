"""Bearer-token authentication for /api/v2: who is calling, on behalf of which workspace.

Built on Litestar's AbstractAuthenticationMiddleware rather than its JWTAuth, because
JWTAuth answers every bad token with the same "Invalid token"; here each cause has its
own message. Failures raise NotAuthorizedException, which app/api/errors.py renders in
our error shape, with the RFC 6750 `WWW-Authenticate` header.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import anyio
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import ASGIApp

from app.auth.tokens import AccessTokens, Claims, InvalidToken
from app.runtime import Runtime
from app.services import access_clients

REALM = "kb-ingest"


@dataclass(frozen=True)
class Principal:
    """The caller of a request: `request.user` on every authenticated route."""

    client_id: UUID
    workspace_id: UUID
    scopes: frozenset[str]


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    def __init__(self, app: ASGIApp, *, authenticate: Callable[[str], Principal]) -> None:
        super().__init__(app, scopes={ScopeType.HTTP})
        self.authenticate = authenticate

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        token = bearer_token(connection.headers.get("authorization"))
        principal = await anyio.to_thread.run_sync(self.authenticate, token)
        return AuthenticationResult(user=principal, auth=token)


def authenticator(runtime: Runtime, tokens: AccessTokens) -> Callable[[str], Principal]:
    """A closure, because Litestar deep-copies middleware arguments and a Runtime cannot be copied."""

    def authenticate(token: str) -> Principal:
        try:
            claims = tokens.read(token)
        except InvalidToken as error:
            raise unauthorized(str(error)) from None
        return _principal(runtime, claims)

    return authenticate


def _principal(runtime: Runtime, claims: Claims) -> Principal:
    """Reads the client on every request (one primary-key read) so that revocation acts at once."""
    with runtime.sessions() as session:
        client = access_clients.standing(session, client_id=claims.client_id)
    if client is None:
        raise unauthorized("Access token belongs to an unknown client")
    if client.revoked_at is not None:
        raise unauthorized("Access token belongs to a revoked client")
    if client.secret_version != claims.secret_version:
        raise unauthorized("Access token was issued before the client's secret was rotated; request a new one")
    return Principal(client_id=claims.client_id, workspace_id=client.workspace_id, scopes=claims.scopes)


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1)."""
    if not header or not header.strip():
        raise unauthorized("Access token is required", error=None)
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise unauthorized("Authorization header must be 'Bearer <access token>'", error=None)
    if not token.strip():
        raise unauthorized("Authorization header has no access token after 'Bearer'")
    return token.strip()


def unauthorized(message: str, *, error: str | None = "invalid_token") -> NotAuthorizedException:
    """401 with a challenge; no error code when no token was offered at all (RFC 6750 §3.1)."""
    challenge = f'Bearer realm="{REALM}"'
    if error:
        description = "".join(c for c in message if c not in '"\\')
        challenge += f', error="{error}", error_description="{description}"'
    return NotAuthorizedException(message, headers={"WWW-Authenticate": challenge})
