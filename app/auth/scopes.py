"""Scopes: what a client may do, what each endpoint needs, and how one implies another.

A scope is `<resource>:<read|write>`; `*` grants everything and `<resource>:write`
implies `<resource>:read`. An endpoint's scope follows from its path and method (the
first path segment after /api/v2 names the resource; GET and HEAD read, anything else
writes), so a new endpoint is covered without anyone remembering to add a guard; a
handler can still name its own with `opt={"scope": ...}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from litestar.exceptions import ImproperlyConfiguredException

ALL = "*"
RESOURCES = ("data-ingestion", "knowledge-bases")
SCOPES = tuple(f"{resource}:{access}" for resource in RESOURCES for access in ("read", "write"))
DESCRIPTIONS = {
    "data-ingestion:read": "List and read ingestion jobs, their results and the adapters",
    "data-ingestion:write": "Submit and cancel ingestion jobs (implies data-ingestion:read)",
    "knowledge-bases:read": "List and read knowledge bases and their entries",
    "knowledge-bases:write": "Create knowledge bases (implies knowledge-bases:read)",
    ALL: "Everything above",
}
READ_METHODS = frozenset({"GET", "HEAD"})


class InvalidScope(ValueError):
    """A scope string names something that is not a scope."""


def parse(text: str | Iterable[str]) -> frozenset[str]:
    """Space-separated (RFC 6749 §3.3) or a list; unknown names are refused, not dropped."""
    names = text.split() if isinstance(text, str) else [n for part in text for n in part.split()]
    unknown = sorted(set(names) - {*SCOPES, ALL})
    if unknown:
        raise InvalidScope(f"Unknown scope: {', '.join(unknown)} (known: {', '.join((*SCOPES, ALL))})")
    return frozenset(names)


def render(scopes: Iterable[str]) -> str:
    """The canonical space-separated form, `*` first, the rest sorted."""
    return " ".join(sorted(scopes, key=lambda s: (s != ALL, s)))


def grants(held: frozenset[str], wanted: str) -> bool:
    if ALL in held or wanted in held:
        return True
    resource, _, access = wanted.partition(":")
    return access == "read" and f"{resource}:write" in held


def narrow(held: frozenset[str], requested: frozenset[str]) -> frozenset[str]:
    """The scopes of a token asked for with `scope=...`: a subset of what the client holds."""
    wider = sorted(s for s in requested if not (ALL in held if s == ALL else grants(held, s)))
    if wider:
        raise InvalidScope(f"The client is not allowed the scope {', '.join(wider)}")
    return requested


def required_for(path: str, method: str, opt: Mapping[str, Any], *, prefix: str) -> str:
    """The scope an endpoint needs; refuses at start-up an endpoint no rule covers."""
    if opt.get("scope"):
        return str(opt["scope"])
    resource = path.removeprefix(prefix).strip("/").split("/", 1)[0]
    if resource not in RESOURCES:
        raise ImproperlyConfiguredException(
            f"No scope rule for {method} {path}: add its resource to app.auth.scopes.RESOURCES "
            'or give the handler opt={"scope": ...}'
        )
    return f"{resource}:{'read' if method.upper() in READ_METHODS else 'write'}"
