"""Access tokens by the OAuth 2 client-credentials grant (RFC 6749 §4.4), cached until shortly before expiry.

The cache is pure: the drivers hold the lock and run `token_call` through the transport,
so a token request gets the same retries as any other call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from kb_client import errors
from kb_client.protocol import Call

TOKEN_PATH = "/api/v2/auth/token"
RENEW_BEFORE_SECONDS = 60.0
RENEW_BEFORE_FRACTION = 0.2


@dataclass(frozen=True, kw_only=True)
class Credentials:
    client_id: str
    client_secret: str
    scope: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, client_secret='***')"


def token_call(credentials: Credentials) -> Call:
    """Form-encoded with the credentials in the body, which RFC 6749 §2.3.1 lets every server accept."""
    form = {"grant_type": "client_credentials", "client_id": credentials.client_id,
            "client_secret": credentials.client_secret}
    if credentials.scope:
        form["scope"] = credentials.scope
    return Call(method="POST", path=TOKEN_PATH, form=form, authenticated=False, replayable=True)


def token_cache(client_id: str | None, client_secret: str | None, token: str | None, scope: str | None) -> TokenCache:
    """Client credentials (renewed as needed), a fixed token, or neither for a service without auth."""
    if bool(client_id) != bool(client_secret):
        raise ValueError("client_id and client_secret go together: give both or neither")
    if client_id and token:
        raise ValueError("give client credentials or a token, not both")
    credentials = Credentials(client_id=client_id, client_secret=client_secret, scope=scope) if client_id else None
    return TokenCache(credentials, static_token=token)


@dataclass(frozen=True)
class Token:
    header: str
    renew_at: float


class TokenCache:
    """Holds a static token, or the last issued one and when to renew it (on `clock`'s time)."""

    def __init__(self, credentials: Credentials | None = None, static_token: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.credentials = credentials
        self._clock = clock
        self._token = Token(f"Bearer {static_token}", float("inf")) if static_token else None

    @property
    def renewable(self) -> bool:
        return self.credentials is not None

    def current(self) -> str | None:
        """The Authorization header to send, or None when a token must be fetched (or none is used)."""
        if self._token is None or self._clock() >= self._token.renew_at:
            return None
        return self._token.header

    def store(self, response: httpx.Response) -> str:
        """Keep the token of a token response; renew after 80% of its life, and at least a minute early."""
        body = _token_body(response)
        lifetime = float(body.get("expires_in") or 3600)
        early = min(RENEW_BEFORE_SECONDS, lifetime * RENEW_BEFORE_FRACTION)
        self._token = Token(f"Bearer {body['access_token']}", self._clock() + lifetime - early)
        return self._token.header

    def discard(self, refused: str | None) -> bool:
        """Forget the refused token unless another request has already renewed it; False if none can be had."""
        if not self.renewable:
            return False
        if self._token is not None and self._token.header == refused:
            self._token = None
        return True


def _token_body(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        raise errors.AuthenticationError(response.status_code, "The token endpoint answered without an access_token",
                                         body=body, url=str(response.request.url), method="POST")
    return body
