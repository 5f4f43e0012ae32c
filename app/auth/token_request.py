"""Reading a token request (RFC 6749 §4.4.2): its parameters and the client's credentials.

Errors are OAuthError, answered as RFC 6749 §5.2 `{error, error_description}` rather
than our usual error shape, because that is what OAuth client libraries parse.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus

from litestar import Request

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class OAuthError(Exception):
    """A token request refused; `error` is one of RFC 6749 §5.2's codes."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, status=401)


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str


async def read_parameters(request: Request) -> dict[str, str]:
    """Form-encoded (what RFC 6749 asks for) or a JSON object of strings; blank means absent (§3.1)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_request("The request body is not UTF-8") from None
    if media_type == FORM:
        pairs = parse_qsl(text, keep_blank_values=True)
    elif media_type == JSON:
        pairs = _json_pairs(text)
    else:
        raise invalid_request(f"Send the parameters as {FORM} (RFC 6749) or as {JSON}")
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise invalid_request(f"Parameter {', '.join(repeated)} must not be repeated")
    return {name: value for name, value in pairs if value != ""}


def _json_pairs(text: str) -> list[tuple[str, str]]:
    try:
        document = json.loads(text)
    except ValueError:
        raise invalid_request("The request body is not valid JSON") from None
    if not isinstance(document, dict):
        raise invalid_request("The request body must be a JSON object")
    wrong = sorted(name for name, value in document.items() if value is not None and not isinstance(value, str))
    if wrong:
        raise invalid_request(f"Parameter {', '.join(wrong)} must be a string")
    return [(name, value) for name, value in document.items() if value is not None]


def require_client_credentials_grant(parameters: dict[str, str]) -> None:
    grant_type = parameters.get("grant_type")
    if grant_type is None:
        raise invalid_request("grant_type is required: use grant_type=client_credentials")
    if grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type} is not supported: use client_credentials")


def client_credentials(authorization: str | None, parameters: dict[str, str]) -> Credentials:
    """HTTP Basic (§2.3.1, preferred) or client_id + client_secret in the body, never both."""
    basic = _basic(authorization)
    if basic is not None:
        if "client_secret" in parameters:
            raise invalid_request("Authenticate the client one way only: HTTP Basic or client_secret in the body")
        if parameters.get("client_id", basic.client_id) != basic.client_id:
            raise invalid_request("client_id in the body differs from the one in the Authorization header")
        return basic
    client_id, secret = parameters.get("client_id"), parameters.get("client_secret")
    if not client_id or not secret:
        raise invalid_client("Client authentication is required: client_id and client_secret, or HTTP Basic")
    return Credentials(client_id, secret)


def _basic(authorization: str | None) -> Credentials | None:
    scheme, _, encoded = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_client("The Basic credentials are not base64 of 'client_id:client_secret'") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id or not secret:
        raise invalid_client("The Basic credentials are not base64 of 'client_id:client_secret'")
    return Credentials(unquote_plus(client_id), unquote_plus(secret))
