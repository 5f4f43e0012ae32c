"""Column types that behave the same on PostgreSQL and SQLite."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, LargeBinary, TypeDecorator
from sqlalchemy.dialects.postgresql import BYTEA, JSONB

JsonColumn = JSON().with_variant(JSONB(), "postgresql")
# JSON kept as sent (json on PostgreSQL, not jsonb, which reorders keys and rewrites
# numbers): what a client sent as an entry's metadata and tags (migration 0015).
VerbatimJson = JSON()
Blob = LargeBinary().with_variant(BYTEA(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Always aware UTC datetimes, also from SQLite, which stores them naive."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use app.timestamps.utcnow()")
        # SQLite stores the clock time without its offset and compares the text, so every
        # value goes in as UTC: 23:00+05:00 must compare as 18:00.
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
