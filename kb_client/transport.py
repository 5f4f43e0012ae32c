"""Sending one call with retries: 429 and 5xx back off, a dropped connection is retried when
that cannot do the work twice, and a 401 renews the token once.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from kb_client import errors
from kb_client.backoff import RETRYING, Backoff, retry_after
from kb_client.protocol import Call, Operation, RenewToken, Send, Sleep

NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
NOT_TRANSIENT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)
# Answers that say the request was not acted on: resent whatever it asks for. A 408 is a
# body the server stopped waiting for (a stall on the way), refused before anything was made.
NOT_PROCESSED = frozenset({408, 429, 503})


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """`attempts` tries in all; a server's `Retry-After` wins over the backoff, up to `max_retry_after`."""

    attempts: int = 6
    backoff: Backoff = RETRYING
    max_retry_after: float = 300.0

    def after_response(self, call: Call, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before resending after an error response, or None to give up."""
        status = response.status_code
        retryable = status in NOT_PROCESSED or (status >= 500 and call.replayable)
        if not retryable or attempt + 1 >= self.attempts:
            return None
        hint = retry_after(response)
        if hint is not None:
            return min(hint, self.max_retry_after)
        return self.backoff.delay(attempt)

    def after_error(self, call: Call, error: httpx.TransportError, attempt: int) -> float | None:
        """A request that never left can always be resent; one that may have arrived only if replayable."""
        if isinstance(error, NOT_TRANSIENT) or attempt + 1 >= self.attempts:
            return None
        if isinstance(error, NEVER_SENT) or call.replayable:
            return self.backoff.delay(attempt)
        return None


def exchange(call: Call, policy: RetryPolicy) -> Operation[httpx.Response]:
    """Send `call` until it succeeds; raise the typed error of the last answer otherwise."""
    attempt = 0
    renewed = False
    while True:
        try:
            response: httpx.Response = yield Send(call)
        except httpx.TransportError as error:
            delay = policy.after_error(call, error, attempt)
            if delay is None:
                raise errors.ConnectionFailed(f"{call.method} {call.path}: {type(error).__name__}: {error}") from error
        else:
            if response.is_success:
                return response
            if response.status_code == 401 and call.authenticated and not renewed:
                renewed = True
                if (yield RenewToken(response.request.headers.get("authorization"))):
                    continue
            delay = policy.after_response(call, response, attempt)
            if delay is None:
                raise _final_error(response)
        attempt += 1
        yield Sleep(delay)


def _final_error(response: httpx.Response) -> errors.ApiError:
    error = errors.error_for(response)
    if isinstance(error, errors.RateLimited):
        error.retry_after = retry_after(response)
    return error
