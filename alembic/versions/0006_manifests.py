"""batch manifests and entries.source_hash: unchanged records of a re-run are found without reading them

Revision ID: 0006_manifests
Revises: 0005_perf
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006_manifests'
down_revision: str | None = '0005_perf'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('job_batches', sa.Column('manifest', sa.LargeBinary().with_variant(postgresql.BYTEA(), 'postgresql'), nullable=True))
    op.add_column('entries', sa.Column('source_hash', sa.String(length=32), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        # `items` is zstd-compressed by the API already: TOAST compressing it again only costs CPU.
        op.execute("ALTER TABLE job_batches ALTER COLUMN items SET STORAGE EXTERNAL")
        lz4 = bind.exec_driver_sql(
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
        ).scalar()
        if lz4:
            op.execute("ALTER TABLE job_batches ALTER COLUMN manifest SET COMPRESSION lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE job_batches ALTER COLUMN items SET STORAGE EXTENDED")
    op.drop_column('entries', 'source_hash')
    op.drop_column('job_batches', 'manifest')
