"""One shallow hierarchy of everything the client raises on purpose.

`error_for(response)` is the only place an HTTP response becomes an exception, for the
sync and the async client alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from kb_client.models import Job


class KbClientError(Exception):
    """Base of every error the client raises on purpose."""


class ApiError(KbClientError):
    """The service answered with an error; `message` is the service's own words."""

    def __init__(self, status: int, message: str, *, body: Any = None, errors: list[dict[str, str]] | None = None,
                 request_id: str | None = None, method: str = "", url: str = "") -> None:
        self.status = status
        self.message = message
        self.body = body
        self.errors = errors or []
        self.request_id = request_id
        self.method = method
        self.url = url
        details = "".join(f"\n  - {e.get('path')}: {e.get('message')}" for e in self.errors)
        super().__init__(f"{status} {message}{details}")


class BadRequest(ApiError):
    """400: the request was refused as invalid; `errors` names the offending fields."""


class AuthenticationError(ApiError):
    """401: the credentials or the token were refused, even after renewing the token once."""


class PermissionDenied(ApiError):
    """403: the token lacks a scope the request needs."""


class NotFound(ApiError):
    """404: no such job, knowledge base or route in this workspace."""


class Conflict(ApiError):
    """409: the resource's state forbids the request (e.g. cancelling a finished job)."""


class PayloadTooLarge(ApiError):
    """413: the request body is over the server's limit; lower the batch size."""


class UnsupportedMediaType(ApiError):
    """415: the body is neither JSON nor a multipart form."""


class RateLimited(ApiError):
    """429 that outlasted every retry; `retry_after` is the server's last hint in seconds."""

    retry_after: float | None = None


class ServerError(ApiError):
    """5xx that outlasted every retry."""


class ConnectionFailed(KbClientError):
    """The service could not be reached (or the connection broke) on every attempt."""


class RecordTooLarge(KbClientError):
    """One record alone is larger than a whole request may be, so no batch can carry it."""


class InvalidRecord(KbClientError):
    """A record cannot be encoded as JSON (NaN, a set, an object without a JSON form)."""


class BatchSubmissionFailed(KbClientError):
    """`submit_records` stopped; `submitted` holds the jobs sent, `first_record` the first record not sent.

    `cause` is the client's error, or whatever the records' iterable raised."""

    def __init__(self, cause: Exception, *, submitted: list[str], first_record: int) -> None:
        self.cause = cause
        self.submitted = submitted
        self.first_record = first_record
        super().__init__(f"records from index {first_record} on were not submitted "
                         f"({len(submitted)} jobs were submitted before): {cause}")


class JobNotCompleted(KbClientError):
    """A waited-for job ended `failed` or `cancelled`; `jobs` holds every final job of the wait."""

    def __init__(self, job: Job, jobs: list[Job] | None = None) -> None:
        self.job = job
        self.jobs = jobs or [job]
        reason = f": {job.error}" if job.error else ""
        super().__init__(f"job {job.id} {job.status}{reason} ({job.progress})")


class JobFailed(JobNotCompleted):
    """The job ended `failed`."""


class JobCancelled(JobNotCompleted):
    """The job ended `cancelled`."""


class WaitTimeout(KbClientError):
    """Jobs were still running when the wait's time was up; `jobs` holds their last state."""

    def __init__(self, jobs: list[Job], timeout: float) -> None:
        self.jobs = jobs
        self.timeout = timeout
        running = "; ".join(f"{j.id} {j.status} {j.progress}" for j in jobs)
        super().__init__(f"timed out after {timeout:g}s waiting for: {running}")

    @property
    def job(self) -> Job:
        return self.jobs[0]


ERROR_OF_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    429: RateLimited,
}

TOO_LARGE_HINT = " (lower the batch size: batch_size= in the client, --batch-size on the command line)"


def error_for(response: httpx.Response) -> ApiError:
    """Our error shape `{statusCode, error, message, errors?}` and OAuth's `{error, error_description}` both."""
    body = _json_or_none(response)
    message, errors = _message_of(body, response)
    status = response.status_code
    kind = ERROR_OF_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    if kind is PayloadTooLarge:
        message += TOO_LARGE_HINT
    return kind(status, message, body=body, errors=errors, request_id=response.headers.get("x-request-id"),
                method=response.request.method, url=str(response.request.url))


def _message_of(body: Any, response: httpx.Response) -> tuple[str, list[dict[str, str]]]:
    if isinstance(body, dict):
        errors = body.get("errors") if isinstance(body.get("errors"), list) else []
        if isinstance(body.get("error_description"), str) and isinstance(body.get("error"), str):
            return f"{body['error']}: {body['error_description']}", errors
        for key in ("message", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key], errors
    text = response.text.strip()[:500]
    return text or response.reason_phrase or f"HTTP {response.status_code}", []


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
