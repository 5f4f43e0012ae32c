"""Domain errors: one shallow hierarchy; app/api/errors.py maps them to HTTP."""

from __future__ import annotations

from adapters.base import Issue


class ServiceError(Exception):
    """Base of every error a service raises on purpose; its message is shown to the client."""


class InvalidInput(ServiceError):
    """The request cannot be accepted as it is (400)."""

    def __init__(self, message: str, issues: list[Issue] | None = None) -> None:
        super().__init__(message)
        self.issues = issues or []


class NotFound(ServiceError):
    """No such resource in the caller's workspace (404); never says whether it exists elsewhere."""


class Conflict(ServiceError):
    """The resource's current state forbids the request (409)."""


class PayloadTooLarge(ServiceError):
    """The request body exceeds the configured maximum (413)."""


class RequestTimeout(ServiceError):
    """The request body stopped arriving for longer than the server waits (408)."""


class UnsupportedMediaType(ServiceError):
    """The request body is in a format the endpoint does not take (415)."""
