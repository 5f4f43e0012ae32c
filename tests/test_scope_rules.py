"""The scope rules on their own: implication, narrowing, parsing, and the rule that derives an endpoint's scope."""

from __future__ import annotations

import pytest
from litestar.exceptions import ImproperlyConfiguredException

from app.auth import scopes


def test_star_grants_every_scope():
    assert all(scopes.grants(frozenset({"*"}), s) for s in scopes.SCOPES)


def test_write_implies_read_of_the_same_resource_only():
    held = frozenset({"data-ingestion:write"})
    assert scopes.grants(held, "data-ingestion:read")
    assert not scopes.grants(held, "knowledge-bases:read")
    assert not scopes.grants(frozenset({"data-ingestion:read"}), "data-ingestion:write")


def test_a_client_may_ask_for_less_but_not_more():
    held = frozenset({"data-ingestion:write"})
    assert scopes.narrow(held, frozenset({"data-ingestion:read"})) == {"data-ingestion:read"}
    with pytest.raises(scopes.InvalidScope, match="not allowed the scope knowledge-bases:read"):
        scopes.narrow(held, frozenset({"knowledge-bases:read"}))
    with pytest.raises(scopes.InvalidScope, match=r"not allowed the scope \*"):
        scopes.narrow(frozenset(scopes.SCOPES), frozenset({"*"}))


def test_unknown_scope_names_are_refused_not_dropped():
    with pytest.raises(scopes.InvalidScope, match="Unknown scope: admin"):
        scopes.parse("data-ingestion:read admin")


def test_endpoint_scope_follows_path_and_method():
    rule = lambda path, method: scopes.required_for(path, method, {}, prefix="/api/v2")  # noqa: E731
    assert rule("/api/v2/data-ingestion/jobs/{jobId:str}", "GET") == "data-ingestion:read"
    assert rule("/api/v2/data-ingestion/jobs/{jobId:str}", "DELETE") == "data-ingestion:write"
    assert rule("/api/v2/knowledge-bases", "POST") == "knowledge-bases:write"
    assert scopes.required_for("/api/v2/knowledge-bases/search", "POST", {"scope": "knowledge-bases:read"}, prefix="/api/v2") == (
        "knowledge-bases:read"
    )


def test_an_endpoint_no_rule_covers_is_refused_at_start_up():
    with pytest.raises(ImproperlyConfiguredException, match="No scope rule for GET /api/v2/usage"):
        scopes.required_for("/api/v2/usage", "GET", {}, prefix="/api/v2")
