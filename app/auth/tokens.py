"""Access tokens: short-lived JWTs (RFC 9068 profile, HS256) naming a client, its workspace and scopes.

Each way a token can be wrong has its own message, because "invalid token" alone sends
an integrator guessing between a clock, a key and a copy-paste problem.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import jwt

from app.auth import scopes as scope_rules
from app.timestamps import utcnow

ALGORITHM = "HS256"
ISSUER = "kb-ingest"
AUDIENCE = "kb-ingest-api"
TOKEN_TYPE = "at+jwt"
CLAIMS = ("iss", "aud", "sub", "workspace_id", "scope", "secret_version", "iat", "exp", "jti")


class InvalidToken(Exception):
    """The bearer token cannot be trusted; the message says why, for the client."""


@dataclass(frozen=True)
class Claims:
    client_id: UUID
    workspace_id: UUID
    scopes: frozenset[str]
    secret_version: int


# How many verified tokens AccessTokens remembers (about half a kilobyte each).
VERIFIED_TOKENS = 4096


class AccessTokens:
    def __init__(self, *, key: str, lifetime: int) -> None:
        self._key = key
        self.lifetime = lifetime
        self._verified: dict[str, tuple[Claims, float]] = {}

    def issue(self, claims: Claims) -> str:
        now = utcnow()
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(claims.client_id),
            "workspace_id": str(claims.workspace_id),
            "scope": scope_rules.render(claims.scopes),
            "secret_version": claims.secret_version,
            "iat": now,
            "exp": now + timedelta(seconds=self.lifetime),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM, headers={"typ": TOKEN_TYPE})

    def read(self, token: str) -> Claims:
        """The claims of a valid token; a token already verified is not verified again until it expires.

        Pollers send the same token many times a second, and verifying it (base64, JSON,
        HMAC, claim checks) was a tenth of a poll's CPU. Nothing but the clock can change
        the verdict on the same string, so a remembered token is checked against `exp` only.
        """
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        claims, expires = self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS:
            self._verified.clear()
        self._verified[token] = (claims, expires)
        return claims

    def _verify(self, token: str) -> tuple[Claims, float]:
        decoded = self._decode(token)
        if decoded["header"].get("typ") != TOKEN_TYPE:
            raise InvalidToken("Access token is not an access token of this service")
        payload = decoded["payload"]
        try:
            claims = Claims(
                client_id=UUID(payload["sub"]),
                workspace_id=UUID(payload["workspace_id"]),
                scopes=scope_rules.parse(payload["scope"]),
                secret_version=int(payload["secret_version"]),
            )
            return claims, float(payload["exp"])
        except (TypeError, ValueError, AttributeError):
            raise InvalidToken("Access token claims are invalid") from None

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            return jwt.decode_complete(
                token, self._key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER, options={"require": list(CLAIMS)}
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("Access token has expired") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("Access token signature is invalid") from None
        except jwt.InvalidAlgorithmError:
            raise InvalidToken(f"Access token must be signed with {ALGORITHM}") from None
        except jwt.DecodeError:
            raise InvalidToken("Access token is malformed") from None
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"Access token lacks the {error.claim!r} claim") from None
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError):
            raise InvalidToken("Access token was not issued for this service") from None
        except jwt.InvalidTokenError as error:
            raise InvalidToken(f"Access token is invalid: {error}") from None
