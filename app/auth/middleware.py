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

from app.auth.standings import Standing, StandingCache
from app.auth.tokens import AccessTokens, Claims, InvalidToken
from app.db import reading
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
    def __init__(self, app: ASGIApp, *, authenticator: Callable[[], Authenticator]) -> None:
        super().__init__(app, scopes={ScopeType.HTTP})
        self.authenticator = authenticator

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        token = bearer_token(connection.headers.get("authorization"))
        authenticator = self.authenticator()
        claims = authenticator.claims(token)
        principal = authenticator.cached(claims)
        if principal is None:
            principal = await anyio.to_thread.run_sync(authenticator.read, claims)
        return AuthenticationResult(user=principal, auth=token)


class Authenticator:
    """Checks a token's signature and claims, then its client's standing: cached, else read.

    The token check is a few microseconds of HMAC, so it runs on the event loop; only a
    database read goes to a worker thread, and with the standing cache (app/auth/standings.py)
    a known client's request needs none.
    """

    def __init__(self, runtime: Runtime, tokens: AccessTokens, standings: StandingCache) -> None:
        self.runtime = runtime
        self.tokens = tokens
        self.standings = standings

    def claims(self, token: str) -> Claims:
        try:
            return self.tokens.read(token)
        except InvalidToken as error:
            raise unauthorized(str(error)) from None

    def cached(self, claims: Claims) -> Principal | None:
        standing = self.standings.get(claims.client_id)
        return None if standing is None else _principal(claims, standing)

    def read(self, claims: Claims) -> Principal:
        """One primary-key read, so that revocation acts at once; kept in the cache when it may be.
        On a bare read connection: in the embedded mode (SQLite, no cache) every request
        reads it, and in a transaction it waited behind any batch being applied."""
        ticket = self.standings.ticket()
        with reading(self.runtime.engine) as connection:
            row = access_clients.standing(connection, client_id=claims.client_id)
        if row is None:
            raise unauthorized("Access token belongs to an unknown client")
        standing = Standing(workspace_id=row.workspace_id, revoked_at=row.revoked_at, secret_version=row.secret_version)
        self.standings.put(claims.client_id, standing, ticket)
        return _principal(claims, standing)


def authenticator(runtime: Runtime, tokens: AccessTokens, standings: StandingCache) -> Callable[[], Authenticator]:
    """A getter, because Litestar deep-copies middleware arguments and a Runtime cannot be copied."""
    shared = Authenticator(runtime, tokens, standings)
    return lambda: shared


def _principal(claims: Claims, standing: Standing) -> Principal:
    if standing.revoked_at is not None:
        raise unauthorized("Access token belongs to a revoked client")
    if standing.secret_version != claims.secret_version:
        raise unauthorized("Access token was issued before the client's secret was rotated; request a new one")
    return Principal(client_id=claims.client_id, workspace_id=standing.workspace_id, scopes=claims.scopes)


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
