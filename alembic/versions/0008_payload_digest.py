"""jobs.payload_digest: an identical resubmission copies the batches of the job it repeats

Revision ID: 0008_payload_digest
Revises: 0007_access_client_notify
Create Date: 2026-12-06

NULL for jobs submitted before this revision: they are never copied from.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008_payload_digest'
down_revision: str | None = '0007_access_client_notify'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('jobs', sa.Column('payload_digest', sa.LargeBinary().with_variant(postgresql.BYTEA(), 'postgresql'), nullable=True))
    op.create_index('ix_jobs_workspace_payload_digest', 'jobs', ['workspace_id', 'payload_digest', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_jobs_workspace_payload_digest', table_name='jobs')
    op.drop_column('jobs', 'payload_digest')
