"""POST /api/v2/auth/token: the client-credentials grant and its RFC 6749 §5.2 errors.

Run on the embedded service only: the request handling does not depend on the database,
and every PostgreSQL test already gets its token from this endpoint in the fixture.
"""

from __future__ import annotations

import base64
import uuid

import jwt
import pytest

from app.db import transaction
from app.services import access_clients

TOKEN = "/api/v2/auth/token"
GRANT = {"grant_type": "client_credentials"}


@pytest.fixture(params=["embedded"])
def backend(request):  # type: ignore[no-untyped-def]
    return request.param


@pytest.fixture
def reader(service):  # type: ignore[no-untyped-def]
    return service.new_client(["data-ingestion:write", "knowledge-bases:read"])


def _form(credentials, **extra):  # type: ignore[no-untyped-def]
    return {**GRANT, "client_id": credentials.client_id, "client_secret": credentials.client_secret, **extra}


def _basic(client_id, secret):  # type: ignore[no-untyped-def]
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _error(response, status, error):  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and set(body) == {"error", "error_description"}, body
    assert response.headers["cache-control"] == "no-store"
    return body["error_description"]


def test_form_encoded_credentials_get_a_bearer_token_with_every_scope_of_the_client(service, reader):
    response = service.client.post(TOKEN, data=_form(reader), headers={"Authorization": ""})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "data-ingestion:write knowledge-bases:read"
    assert response.headers["cache-control"] == "no-store" and response.headers["pragma"] == "no-cache"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == reader.client_id and claims["workspace_id"] == str(reader.workspace_id)
    assert claims["exp"] - claims["iat"] == 3600


def test_http_basic_credentials_work_too(service, reader):
    response = service.client.post(TOKEN, data=GRANT, headers=_basic(reader.client_id, reader.client_secret))
    assert response.status_code == 200, response.text


def test_json_body_works_too(service, reader):
    response = service.client.post(TOKEN, json=_form(reader), headers={"Authorization": ""})
    assert response.status_code == 200, response.text


def test_a_narrower_scope_may_be_requested(service, reader):
    response = service.client.post(TOKEN, data=_form(reader, scope="data-ingestion:read"), headers={"Authorization": ""})
    assert response.json()["scope"] == "data-ingestion:read"


def test_a_wider_scope_is_invalid_scope(service, reader):
    response = service.client.post(TOKEN, data=_form(reader, scope="knowledge-bases:write"), headers={"Authorization": ""})
    assert _error(response, 400, "invalid_scope") == "The client is not allowed the scope knowledge-bases:write"


def test_an_unknown_scope_is_invalid_scope(service, reader):
    response = service.client.post(TOKEN, data=_form(reader, scope="admin"), headers={"Authorization": ""})
    assert _error(response, 400, "invalid_scope").startswith("Unknown scope: admin")


def test_a_wrong_secret_is_invalid_client_with_a_basic_challenge(service, reader):
    response = service.client.post(TOKEN, data=GRANT, headers=_basic(reader.client_id, "wrong"))
    assert _error(response, 401, "invalid_client") == "Client authentication failed: unknown client_id or wrong client_secret"
    assert response.headers["www-authenticate"] == 'Basic realm="kb-ingest"'


def test_an_unknown_client_gets_the_same_answer_as_a_wrong_secret(service, reader):
    for client_id in (str(uuid.uuid4()), "not-a-uuid"):
        response = service.client.post(TOKEN, data={**GRANT, "client_id": client_id, "client_secret": reader.client_secret})
        assert _error(response, 401, "invalid_client") == "Client authentication failed: unknown client_id or wrong client_secret"


def test_missing_client_credentials_are_invalid_client(service):
    response = service.client.post(TOKEN, data={**GRANT, "client_id": str(uuid.uuid4())}, headers={"Authorization": ""})
    assert _error(response, 401, "invalid_client").startswith("Client authentication is required")


def test_a_revoked_client_gets_no_token(service, reader):
    with transaction(service.runtime.sessions) as session:
        access_clients.revoke(session, client_id=uuid.UUID(reader.client_id))
    response = service.client.post(TOKEN, data=_form(reader), headers={"Authorization": ""})
    assert _error(response, 401, "invalid_client") == f"Client {reader.client_id} has been revoked"


def test_missing_grant_type_is_invalid_request(service, reader):
    data = _form(reader)
    del data["grant_type"]
    assert _error(service.client.post(TOKEN, data=data), 400, "invalid_request").startswith("grant_type is required")


def test_another_grant_type_is_unsupported_grant_type(service, reader):
    response = service.client.post(TOKEN, data=_form(reader, grant_type="password"))
    assert _error(response, 400, "unsupported_grant_type") == "grant_type password is not supported: use client_credentials"


def test_two_client_authentication_methods_at_once_are_invalid_request(service, reader):
    response = service.client.post(TOKEN, data=_form(reader), headers=_basic(reader.client_id, reader.client_secret))
    assert _error(response, 400, "invalid_request").startswith("Authenticate the client one way only")


def test_a_repeated_parameter_is_invalid_request(service, reader):
    body = f"grant_type=client_credentials&grant_type=client_credentials&client_id={reader.client_id}&client_secret=x"
    response = service.client.post(TOKEN, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert _error(response, 400, "invalid_request") == "Parameter grant_type must not be repeated"


@pytest.mark.parametrize(
    ("content", "content_type", "description"),
    [
        ("grant_type=client_credentials", "text/plain", "Send the parameters as application/x-www-form-urlencoded (RFC 6749) or as application/json"),
        ("{not json", "application/json", "The request body is not valid JSON"),
        ('["client_credentials"]', "application/json", "The request body must be a JSON object"),
        ('{"grant_type": "client_credentials", "client_id": 7}', "application/json", "Parameter client_id must be a string"),
        (b"grant_type=\xff", "application/x-www-form-urlencoded", "The request body is not UTF-8"),
    ],
)
def test_unreadable_bodies_are_invalid_request(service, content, content_type, description):
    response = service.client.post(TOKEN, content=content, headers={"Content-Type": content_type})
    assert _error(response, 400, "invalid_request") == description


def test_garbled_basic_credentials_are_invalid_client(service):
    response = service.client.post(TOKEN, data=GRANT, headers={"Authorization": "Basic !!!"})
    assert _error(response, 401, "invalid_client") == "The Basic credentials are not base64 of 'client_id:client_secret'"


def test_a_secret_sent_as_the_client_id_is_not_logged(service, reader, caplog):  # type: ignore[no-untyped-def]
    """Swapped fields put the secret where the id goes; the log names only real client ids."""
    swapped = {**GRANT, "client_id": reader.client_secret, "client_secret": reader.client_id}
    with caplog.at_level("WARNING", logger="app"):
        _error(service.client.post(TOKEN, data=swapped, headers={"Authorization": ""}), 401, "invalid_client")
        _error(service.client.post(TOKEN, data=GRANT, headers=_basic(reader.client_secret, reader.client_id)), 401, "invalid_client")
        wrong_secret = {**GRANT, "client_id": reader.client_id, "client_secret": "nope"}
        _error(service.client.post(TOKEN, data=wrong_secret, headers={"Authorization": ""}), 401, "invalid_client")
    failures = [r for r in caplog.records if r.getMessage() == "client authentication failed"]
    assert [getattr(r, "client_id") for r in failures] == [
        f"<not a client id: {len(reader.client_secret)} characters>",
        f"<not a client id: {len(reader.client_secret)} characters>",
        reader.client_id,
    ]
    assert reader.client_secret not in caplog.text
