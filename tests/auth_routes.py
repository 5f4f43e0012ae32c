"""The protected endpoints of a running app, read from its routes, so new endpoints are tested too."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute

from app.auth import api_security, scopes
from app.main import API_PREFIX


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    scope: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def protected_endpoints(app: Litestar) -> list[Endpoint]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            if method == "OPTIONS" or not handler.opt.get(api_security.PROTECTED):
                continue
            needed = scopes.required_for(route.path, method, handler.opt, prefix=API_PREFIX)
            found.append(Endpoint(method, _concrete(route.path), needed))
    return found


def _concrete(path: str) -> str:
    """Path parameters filled with ids that exist nowhere."""
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


def body_for(endpoint: Endpoint) -> dict[str, Any]:
    if endpoint.method in {"POST", "PUT", "PATCH"}:
        return {"json": {}}
    return {}
