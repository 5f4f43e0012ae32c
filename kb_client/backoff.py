"""Exponential backoff schedules and the server's `Retry-After`, shared by retries and polling."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """`initial` seconds growing by `factor` up to `maximum`; `jitter` spreads clients apart.

    Jitter takes up to that fraction off a delay (never adds), so `maximum` stays a bound.
    """

    initial: float = 1.0
    maximum: float = 30.0
    factor: float = 1.5
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial or self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("Backoff needs 0 < initial <= maximum, factor >= 1 and 0 <= jitter < 1")

    def delay(self, attempt: int) -> float:
        """The wait before retry number `attempt` (0 is the first)."""
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return base * (1 - self.jitter * random.random())


POLLING = Backoff(initial=1.0, maximum=30.0, factor=1.5)
RETRYING = Backoff(initial=0.5, maximum=30.0, factor=2.0, jitter=0.5)


def retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds (RFC 9110: delay-seconds or an HTTP-date); None when absent or unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
