"""The OpenAPI document tells clients how to get a token and which scope each operation needs."""

from __future__ import annotations

import pytest

from tests.auth_routes import protected_endpoints


@pytest.fixture(params=["embedded"])
def backend(request):  # type: ignore[no-untyped-def]
    return request.param


def test_the_security_scheme_is_the_client_credentials_flow_of_the_token_endpoint(service):
    schema = service.client.get("/schema/openapi.json", headers={"Authorization": ""}).json()
    scheme = schema["components"]["securitySchemes"]["accessToken"]
    assert scheme["type"] == "oauth2"
    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/api/v2/auth/token"
    assert set(flow["scopes"]) == {"data-ingestion:read", "data-ingestion:write", "knowledge-bases:read", "knowledge-bases:write", "*"}


def test_every_protected_operation_names_its_scope_and_its_401_and_403(service):
    schema = service.client.get("/schema/openapi.json").json()
    templates = {(m.upper(), p): op for p, ops in schema["paths"].items() for m, op in ops.items()}
    endpoints = protected_endpoints(service.client.app)
    for endpoint in endpoints:
        (operation,) = [op for (m, p), op in templates.items() if m == endpoint.method and _matches(p, endpoint.path)]
        assert operation["security"] == [{"accessToken": [endpoint.scope]}], str(endpoint)
        assert {"401", "403"} <= set(operation["responses"]), str(endpoint)


def test_the_token_endpoint_needs_no_token_and_documents_its_form(service):
    operation = service.client.get("/schema/openapi.json").json()["paths"]["/api/v2/auth/token"]["post"]
    assert "security" not in operation
    assert set(operation["requestBody"]["content"]) == {"application/x-www-form-urlencoded", "application/json"}


def _matches(template: str, path: str) -> bool:
    parts, concrete = template.split("/"), path.split("/")
    return len(parts) == len(concrete) and all(a == b or a.startswith("{") for a, b in zip(parts, concrete, strict=True))
