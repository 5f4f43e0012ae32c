"""Query and path values that need more than a type to parse: ids, dates, statuses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from adapters.base import Issue
from app.errors import InvalidInput, NotFound

# Larger offsets overflow the databases' 64-bit integers (a 500 found by schemathesis);
# no listing here is anywhere near this long.
MAX_OFFSET = 1_000_000_000


def path_uuid(value: str, kind: str) -> UUID:
    """A malformed id names nothing that exists: 404, as for an unknown one."""
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"{kind} {value} not found") from None


def date_bound(value: str | None, name: str, *, end: bool) -> datetime | None:
    """ISO 8601 date or date-time, in UTC (one without an offset is taken as UTC); a bare
    date as an end bound includes that whole day, so the last day there is bounds nothing."""
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end and day == date.max:
                return None
            moment = datetime.combine(day + timedelta(days=1) if end else day, time(), UTC)
        else:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidInput(
            f"{name} must be an ISO 8601 date or date-time, got {value!r}", [Issue(name, "is not an ISO 8601 date or date-time")]
        ) from None
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first moment there is in UTC
        raise InvalidInput(f"{name} is out of range, got {value!r}", [Issue(name, "is out of range")]) from None
