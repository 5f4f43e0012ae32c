"""How the API is secured, in one place: which routes need a token, what they need, and the docs.

`protect()` gives the /api/v2 router its authentication middleware, scope guard and
`workspace_id` dependency; `token_router()` mounts the token endpoint beside it,
outside that protection; `document()` runs once the app is built: it refuses an endpoint
no scope rule covers and writes each operation's scope and 401/403 into the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme
from litestar.routes import HTTPRoute

from app.api import openapi
from app.auth import scopes
from app.auth.guards import provide_workspace_id, scope_guard
from app.auth.keys import signing_key
from app.auth.middleware import BearerTokenMiddleware, authenticator
from app.auth.standings import StandingCache
from app.auth.token_endpoint import TokenController
from app.auth.tokens import AccessTokens
from app.runtime import Runtime
from app.settings import Settings

PROTECTED = "requires_access_token"
SCHEME = "accessToken"
TOKEN_PATH = "/auth/token"


def access_tokens(settings: Settings) -> AccessTokens:
    return AccessTokens(key=signing_key(settings), lifetime=settings.access_token_lifetime)


def protect(runtime: Runtime, tokens: AccessTokens, standings: StandingCache, *, prefix: str) -> dict[str, Any]:
    """Keyword arguments for the API router: every route under it needs a token and a scope."""
    return {
        "middleware": [DefineMiddleware(BearerTokenMiddleware, authenticator=authenticator(runtime, tokens, standings))],
        "guards": [scope_guard(prefix)],
        "dependencies": {"workspace_id": Provide(provide_workspace_id, sync_to_thread=False)},
        "opt": {PROTECTED: True},
    }


def token_router(tokens: AccessTokens, *, prefix: str) -> Router:
    return Router(
        path=prefix,
        route_handlers=[TokenController],
        dependencies={"access_tokens": Provide(lambda: tokens, use_cache=True, sync_to_thread=False)},
    )


def components(*, prefix: str) -> Components:
    flow = OAuthFlow(token_url=f"{prefix}{TOKEN_PATH}", scopes=dict(scopes.DESCRIPTIONS))
    scheme = SecurityScheme(
        type="oauth2",
        flows=OAuthFlows(client_credentials=flow),
        description=(
            "Bearer access tokens from the client-credentials grant: POST the client's id and secret to "
            f"{prefix}{TOKEN_PATH}, then send `Authorization: Bearer <access_token>`. Reading needs "
            "`<resource>:read` (or `:write`, which implies it), creating and cancelling need `:write`; `*` grants all."
        ),
    )
    return Components(security_schemes={SCHEME: scheme})


def document(app: Litestar, *, prefix: str) -> None:
    """Per operation: the scope it needs and its 401/403 answers. Fails at start-up for an unruled endpoint."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if not handler.opt.get(PROTECTED):
                continue
            needed = scopes.required_for(route.path, method, handler.opt, prefix=prefix)
            handler.security = [{SCHEME: [needed]}]
            handler.responses = {**openapi.errors(401, 403), **(handler.responses or {})}
