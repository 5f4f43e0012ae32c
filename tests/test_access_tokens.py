"""401: every /api/v2 endpoint but the token endpoint needs a valid token, and says what is wrong with it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt

from app.auth.keys import signing_key
from app.auth.tokens import AccessTokens, Claims
from app.db import transaction
from app.services import access_clients
from app.services.access_clients import PendingSecret
from app.timestamps import utcnow
from tests.auth_routes import body_for, protected_endpoints

KBS = "/api/v2/knowledge-bases"


def _unauthorized(service, headers, path=KBS):  # type: ignore[no-untyped-def]
    response = service.client.get(path, headers=headers)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["statusCode"] == 401 and body["error"] == "Unauthorized" and body["path"] == path
    assert response.headers["www-authenticate"].startswith('Bearer realm="kb-ingest"')
    return body["message"]


def _claims(service, **changes):  # type: ignore[no-untyped-def]
    """The payload the service itself would sign for the fixture's own client, with changes."""
    token = service.client.headers["Authorization"].removeprefix("Bearer ")
    payload = jwt.decode(token, options={"verify_signature": False})
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def _signed(service, payload, key=None, headers=None):  # type: ignore[no-untyped-def]
    key = key or signing_key(service.runtime.settings)
    return jwt.encode(payload, key, algorithm="HS256", headers=headers or {"typ": "at+jwt"})


def test_every_api_endpoint_refuses_a_request_without_token(service):
    endpoints = protected_endpoints(service.client.app)
    assert len(endpoints) >= 10
    for endpoint in endpoints:
        response = service.client.request(endpoint.method, endpoint.path, headers={"Authorization": ""}, **body_for(endpoint))
        assert response.status_code == 401, f"{endpoint}: {response.status_code} {response.text}"
        assert response.json()["message"] == "Access token is required", str(endpoint)
        assert response.headers["www-authenticate"] == 'Bearer realm="kb-ingest"'


def test_health_ready_token_endpoint_and_docs_need_no_token(service):
    anonymous = {"Authorization": ""}
    assert service.client.get("/health", headers=anonymous).status_code == 200
    assert service.client.get("/ready", headers=anonymous).status_code == 200
    assert service.client.get("/schema/openapi.json", headers=anonymous).status_code == 200
    response = service.client.post("/api/v2/auth/token", data={"grant_type": "client_credentials"}, headers=anonymous)
    assert response.json()["error"] == "invalid_client"


def test_a_valid_token_is_accepted(service):
    assert service.client.get(KBS).status_code == 200


def test_authorization_header_with_another_scheme_is_refused(service):
    assert _unauthorized(service, {"Authorization": "Basic dXNlcjpwYXNz"}) == "Authorization header must be 'Bearer <access token>'"


def test_bearer_without_a_token_is_refused(service):
    assert _unauthorized(service, {"Authorization": "Bearer   "}) == "Authorization header has no access token after 'Bearer'"


def test_malformed_token_is_refused(service):
    assert _unauthorized(service, {"Authorization": "Bearer not-a-jwt"}) == "Access token is malformed"


def test_token_signed_with_another_key_is_refused(service):
    forged = _signed(service, _claims(service), key="another-key-that-is-long-enough-for-hs256!")
    assert _unauthorized(service, {"Authorization": f"Bearer {forged}"}) == "Access token signature is invalid"


def test_tampered_token_is_refused(service):
    header, payload, signature = service.client.headers["Authorization"].removeprefix("Bearer ").split(".")
    other = jwt.utils.base64url_encode(jwt.utils.base64url_decode(payload).replace(b'"*"', b'"x"')).decode()
    assert _unauthorized(service, {"Authorization": f"Bearer {header}.{other}.{signature}"}) == "Access token signature is invalid"


def test_unsigned_token_is_refused(service):
    unsigned = jwt.encode(_claims(service), None, algorithm="none", headers={"typ": "at+jwt"})
    assert _unauthorized(service, {"Authorization": f"Bearer {unsigned}"}) == "Access token must be signed with HS256"


def test_token_without_a_workspace_claim_is_refused(service):
    token = _signed(service, _claims(service, workspace_id=None))
    assert _unauthorized(service, {"Authorization": f"Bearer {token}"}) == "Access token lacks the 'workspace_id' claim"


def test_token_for_another_audience_is_refused(service):
    token = _signed(service, _claims(service, aud="someone-else"))
    assert _unauthorized(service, {"Authorization": f"Bearer {token}"}) == "Access token was not issued for this service"


def test_an_id_token_shaped_jwt_is_not_an_access_token(service):
    token = _signed(service, _claims(service), headers={"typ": "JWT"})
    assert _unauthorized(service, {"Authorization": f"Bearer {token}"}) == "Access token is not an access token of this service"


def test_token_past_its_expiry_is_refused(service):
    token = _signed(service, _claims(service, exp=utcnow() - timedelta(seconds=5)))
    assert _unauthorized(service, {"Authorization": f"Bearer {token}"}) == "Access token has expired"


def test_token_of_a_client_that_does_not_exist_is_refused(service):
    tokens = AccessTokens(key=signing_key(service.runtime.settings), lifetime=60)
    ghost = Claims(client_id=uuid.uuid4(), workspace_id=uuid.uuid4(), scopes=frozenset({"*"}), secret_version=1)
    message = _unauthorized(service, {"Authorization": f"Bearer {tokens.issue(ghost)}"})
    assert message == "Access token belongs to an unknown client"


def test_revoking_a_client_ends_its_tokens_at_once(service):
    other = service.new_client(["*"])
    assert service.client.get(KBS, headers=other.headers).status_code == 200
    with transaction(service.runtime.sessions) as session:
        access_clients.revoke(session, client_id=uuid.UUID(other.client_id))
    assert _unauthorized(service, other.headers) == "Access token belongs to a revoked client"
    assert service.client.get(KBS).status_code == 200, "other clients keep working"


def test_rotating_a_secret_ends_the_tokens_made_with_the_old_one(service):
    other = service.new_client(["*"])
    with transaction(service.runtime.sessions) as session:
        rotated = access_clients.rotate_secret(session, client_id=uuid.UUID(other.client_id), pending=PendingSecret.make(cost=4))
    message = _unauthorized(service, other.headers)
    assert message == "Access token was issued before the client's secret was rotated; request a new one"
    fresh = service.client.post(
        "/api/v2/auth/token",
        data={"grant_type": "client_credentials", "client_id": other.client_id, "client_secret": rotated.secret},
    )
    assert service.client.get(KBS, headers={"Authorization": f"Bearer {fresh.json()['access_token']}"}).status_code == 200
