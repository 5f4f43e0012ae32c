"""jobs.request_digest: a request of the same bytes copies the job it repeats, unparsed

Revision ID: 0009_request_digest
Revises: 0008_payload_digest
Create Date: 2026-12-06

NULL for jobs submitted before this revision and for requests with an Idempotency-Key.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0009_request_digest'
down_revision: str | None = '0008_payload_digest'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('jobs', sa.Column('request_digest', sa.LargeBinary().with_variant(postgresql.BYTEA(), 'postgresql'), nullable=True))
    op.create_index('ix_jobs_workspace_request_digest', 'jobs', ['workspace_id', 'request_digest', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_jobs_workspace_request_digest', table_name='jobs')
    op.drop_column('jobs', 'request_digest')
