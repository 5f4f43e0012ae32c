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
        # A writer that changes an entry's content without setting its source hash (a worker
        # of the release before this one, still running during an upgrade, or a hand-made
        # UPDATE) must not leave the old fingerprint behind: a re-run would skip that record
        # unread as unchanged. SQLite needs none: the embedded mode is one process.
        op.execute("""
            CREATE FUNCTION kb_ingest_entry_source_hash_guard() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.content_hash IS DISTINCT FROM OLD.content_hash AND NEW.source_hash IS NOT DISTINCT FROM OLD.source_hash THEN
                    NEW.source_hash := NULL;
                END IF;
                RETURN NEW;
            END $$
        """)
        op.execute("""
            CREATE TRIGGER entries_source_hash_guard BEFORE UPDATE ON entries
            FOR EACH ROW EXECUTE FUNCTION kb_ingest_entry_source_hash_guard()
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER entries_source_hash_guard ON entries")
        op.execute("DROP FUNCTION kb_ingest_entry_source_hash_guard()")
        op.execute("ALTER TABLE job_batches ALTER COLUMN items SET STORAGE EXTENDED")
    op.drop_column('entries', 'source_hash')
    op.drop_column('job_batches', 'manifest')
