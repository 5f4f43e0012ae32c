"""Every error leaves as JSON `{statusCode, error, message, timestamp, path}` (+ `errors`).

The one place where domain errors become HTTP statuses. Unexpected exceptions are
logged with their traceback and answered with a generic 500: no stack trace leaves.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    InternalServerException,
    MethodNotAllowedException,
    NotFoundException,
    SerializationException,
    TooManyRequestsException,
    ValidationException,
)
from sqlalchemy.exc import DBAPIError, OperationalError

from adapters.base import Issue
from app.auth.token_request import OAuthError
from app.api.body import DISCONNECTED
from app.api.request_ids import request_id_of
from app.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, RequestTimeout, ServiceError, UnsupportedMediaType
from app.timestamps import iso, utcnow

log = logging.getLogger(__name__)

STATUS_OF: dict[type[ServiceError], int] = {
    InvalidInput: 400,
    NotFound: 404,
    Conflict: 409,
    RequestTimeout: 408,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
}


def error_response(
    request: Request, status: int, message: str, issues: list[Issue] | None = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "statusCode": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
        "timestamp": iso(utcnow()),
        "path": request.url.path,
    }
    if issues:
        body["errors"] = [{"path": i.path, "message": i.message} for i in issues]
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def on_service_error(request: Request, exc: ServiceError) -> Response[dict[str, Any]]:
    status = next(code for kind, code in STATUS_OF.items() if isinstance(exc, kind))
    # The rest of a stalled body may still come: the connection cannot be read on.
    headers = {"Connection": "close"} if isinstance(exc, RequestTimeout) else None
    return error_response(request, status, str(exc), getattr(exc, "issues", None), headers=headers)


def on_http_exception(request: Request, exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if isinstance(exc, InternalServerException) and exc.detail == DISCONNECTED:
        # A body Litestar read for the handler (a knowledge base's, the token form): the
        # client's doing, not a server error (app/api/body.py answers its own reads so).
        log.info("the client went away before sending the whole body", extra={"request_id": request_id_of(request.scope)})
        return error_response(request, 400, "The client disconnected before the whole body arrived")
    if status >= 500:
        return on_unexpected(request, exc)
    if isinstance(exc, TooManyRequestsException):
        return on_rate_limited(request, exc)
    if isinstance(exc, NotFoundException) and exc.detail == HTTPStatus.NOT_FOUND.phrase:
        message = f"Cannot {request.method} {request.url.path}"
    elif isinstance(exc, MethodNotAllowedException):
        message = f"Method {request.method} is not allowed on {request.url.path}"
    else:
        message = exc.detail or HTTPStatus(status).phrase
    issues = None
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        issues = [_issue(e) for e in exc.extra if isinstance(e, dict)]
        if issues:
            message = "Validation failed: " + "; ".join(f"{i.path}: {i.message}" for i in issues)
    elif type(exc) is ClientException and isinstance(exc.__cause__, SerializationException):
        # A body Litestar decoded (JSONBody) that is not JSON: told as the job submission tells it.
        message, issues = f"Invalid JSON: {exc.detail}", [Issue("body", f"is not valid JSON: {exc.detail}")]
    return error_response(request, status, message, issues, headers=exc.headers)


# msgspec names the field in the message, and Litestar reports the object holding it.
_NAMED_FIELD = re.compile(r"^Object (?:missing required|contains unknown) field `([^`]+)`")


def _issue(error: dict[str, Any]) -> Issue:
    """`data` is Litestar's name for the request body, which clients know as the body."""
    path, message = str(error.get("key") or error.get("source") or "body"), str(error.get("message"))
    if path != "data":
        return Issue(path, message)
    if message == "'data'":  # no body at all
        return Issue("body", "is required: a JSON object")
    named = _NAMED_FIELD.match(message)
    return Issue(named.group(1) if named else "body", message)


def on_oauth_error(request: Request, exc: OAuthError) -> Response[dict[str, Any]]:
    """The token endpoint answers as RFC 6749 §5.2 has it, which OAuth client libraries parse."""
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="kb-ingest"'
    body = {"error": exc.error, "error_description": exc.description}
    return Response(body, status_code=exc.status, media_type=MediaType.JSON, headers=headers)


def on_rate_limited(request: Request, exc: TooManyRequestsException) -> Response[dict[str, Any]]:
    """Litestar's rate limiter sends RateLimit-* headers; clients also need `Retry-After`."""
    headers = dict(exc.headers or {})
    reset = headers.get("RateLimit-Reset", "")
    retry_after = max(1, int(reset)) if reset.isdigit() else 60
    headers["Retry-After"] = str(retry_after)
    limit = headers.get("RateLimit-Limit", "?")
    message = f"Too many requests: the limit is {limit} per minute; retry after {retry_after} s"
    return error_response(request, 429, message, headers=headers)


def on_database_error(request: Request, exc: DBAPIError) -> Response[dict[str, Any]]:
    """A lost or refused database connection is transient (a restart, a failover): 503, which clients retry.

    The API uses pooled connections without a ping when they were used within the last
    second (app/db.py), so the first request on each after a database restart lands here.
    """
    # A lost connection, or one that could not be made (no statement yet); not every
    # OperationalError (SQLite raises it for a missing table, say).
    if not (exc.connection_invalidated or (isinstance(exc, OperationalError) and exc.statement is None)):
        return on_unexpected(request, exc)
    log.warning(
        "database unavailable on %s %s: %s", request.method, request.url.path, type(exc.orig or exc).__name__,
        extra={"request_id": request_id_of(request.scope)},
    )
    return error_response(request, 503, "The database is unavailable; retry shortly", headers={"Retry-After": "1"})


def on_unexpected(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    # An error raised by a middleware reaches here after the request id left the log context.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc, extra={"request_id": request_id_of(request.scope)})
    return error_response(request, 500, "An unexpected error occurred")


EXCEPTION_HANDLERS = {
    ServiceError: on_service_error,
    OAuthError: on_oauth_error,
    TooManyRequestsException: on_rate_limited,
    HTTPException: on_http_exception,
    DBAPIError: on_database_error,
    Exception: on_unexpected,
}
