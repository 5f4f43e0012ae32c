"""entries.metadata and entries.tags: json, kept as sent, instead of jsonb

Revision ID: 0015_entry_json_as_sent
Revises: 0014_failed_results_index
Create Date: 2026-12-07

jsonb normalizes what it stores: it reorders an object's keys, prints 1e20 as
100000000000000000000, turns -0.0 into 0 and a 1.5e300 into 301 digits. An entry's
metadata then differed from what was submitted, and from what the embedded mode (SQLite)
keeps, though content-hub promises attributes "exactly as given". `json` keeps the text
as written (orjson's, from the parsed record) and only checks it is JSON; nothing
queries inside these columns. Existing rows keep what jsonb made of them. PostgreSQL
only: SQLite stores JSON as text already.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0015_entry_json_as_sent'
down_revision: str | None = '0014_failed_results_index'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("metadata", "tags")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE entries " + ", ".join(f"ALTER COLUMN {c} TYPE json USING {c}::json" for c in COLUMNS))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE entries " + ", ".join(f"ALTER COLUMN {c} TYPE jsonb USING {c}::jsonb" for c in COLUMNS))
