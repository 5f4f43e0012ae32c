"""job payloads keep their envelope only: records_pointer says where the batches' records go back

Revision ID: 0005_perf
Revises: 0003_idempotency
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005_perf'
down_revision: str | None = '0003_idempotency'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('job_payloads', sa.Column('records_pointer', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('job_payloads', 'records_pointer')
