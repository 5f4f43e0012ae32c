"""POST /api/v2/auth/token: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

import anyio
from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from msgspec import Struct

from app.auth import scopes as scope_rules
from app.auth.token_request import (
    OAuthError,
    client_credentials,
    invalid_client,
    read_parameters,
    require_client_credentials_grant,
)
from app.auth.tokens import AccessTokens, Claims
from app.db import transaction
from app.models import AccessClient
from app.runtime import Runtime
from app.services import access_clients

log = logging.getLogger(__name__)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
WRONG_CREDENTIALS = "Client authentication failed: unknown client_id or wrong client_secret"


class TokenResponse(Struct):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


class OAuthErrorBody(Struct):
    error: str
    error_description: str


_FIELDS = {
    "grant_type": Schema(type=OpenAPIType.STRING, enum=["client_credentials"]),
    "client_id": Schema(type=OpenAPIType.STRING, description="Or send HTTP Basic credentials instead"),
    "client_secret": Schema(type=OpenAPIType.STRING, description="Or send HTTP Basic credentials instead"),
    "scope": Schema(type=OpenAPIType.STRING, description="Space-separated; at most the client's scopes (default: all of them)"),
}
_BODY = Schema(type=OpenAPIType.OBJECT, required=["grant_type"], properties=_FIELDS)


@dataclass
class _TokenOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            content={
                "application/x-www-form-urlencoded": OpenAPIMediaType(schema=_BODY),
                "application/json": OpenAPIMediaType(schema=_BODY),
            },
        )


class TokenController(Controller):
    path = "/auth/token"
    tags = ["auth"]

    @post(
        "/",
        status_code=200,
        request_max_body_size=64 * 1024,
        operation_class=_TokenOperation,
        responses={
            400: ResponseSpec(OAuthErrorBody, description="invalid_request, unsupported_grant_type or invalid_scope", generate_examples=False),
            401: ResponseSpec(OAuthErrorBody, description="invalid_client", generate_examples=False),
        },
    )
    async def issue_token(
        self, request: Request, runtime: NamedDependency[Runtime], access_tokens: NamedDependency[AccessTokens]
    ) -> Response[TokenResponse]:
        """Trade a client's id and secret for a short-lived bearer token; errors follow RFC 6749 §5.2."""
        parameters = await read_parameters(request)
        require_client_credentials_grant(parameters)
        credentials = client_credentials(request.headers.get("authorization"), parameters)
        requested = _requested_scopes(parameters.get("scope"))
        client = await anyio.to_thread.run_sync(_authenticate, runtime, credentials.client_id, credentials.client_secret)
        granted = _granted_scopes(client, requested)
        claims = Claims(client_id=client.id, workspace_id=client.workspace_id, scopes=granted, secret_version=client.secret_version)
        body = TokenResponse(
            access_token=access_tokens.issue(claims),
            token_type="Bearer",
            expires_in=access_tokens.lifetime,
            scope=scope_rules.render(granted),
        )
        log.info("issued an access token", extra={"client_id": str(client.id), "scope": body.scope})
        return Response(body, status_code=200, headers=NO_STORE)


def _requested_scopes(text: str | None) -> frozenset[str]:
    try:
        return scope_rules.parse(text or "")
    except scope_rules.InvalidScope as error:
        raise OAuthError("invalid_scope", str(error)) from None


def _granted_scopes(client: AccessClient, requested: frozenset[str]) -> frozenset[str]:
    held = scope_rules.parse(client.scope)
    try:
        return scope_rules.narrow(held, requested) if requested else held
    except scope_rules.InvalidScope as error:
        raise OAuthError("invalid_scope", str(error)) from None


def _authenticate(runtime: Runtime, client_id: str, secret: str) -> AccessClient:
    """The client row is read in a short transaction; the slow hash check runs after it ends."""
    uuid = _uuid(client_id)
    with transaction(runtime.sessions) as session:
        client = access_clients.find(session, client_id=uuid) if uuid else None
    matched = access_clients.secret_matches(client, secret, cost=runtime.settings.secret_hash_cost)
    if client is None or not matched:
        # Only a client id is logged: a value that is not one may be a secret sent in its place.
        shown = str(uuid) if uuid else f"<not a client id: {len(client_id)} characters>"
        log.warning("client authentication failed", extra={"client_id": shown})
        raise invalid_client(WRONG_CREDENTIALS)
    if client.revoked_at is not None:
        raise invalid_client(f"Client {client.id} has been revoked")
    return client


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None
