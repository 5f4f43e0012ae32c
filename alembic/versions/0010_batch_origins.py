"""job_batches.origin_job_id: a resubmission's batches refer to the stored records of the job it repeats

Revision ID: 0010_batch_origins
Revises: 0009_request_digest
Create Date: 2026-12-07

A copied batch stores no records or manifest of its own (`items` becomes nullable) but the
origin job whose batch of the same seq holds them; the foreign key keeps that origin from
being deleted while it is referred to. The downgrade copies the records back first.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_batch_origins'
down_revision: str | None = '0009_request_digest'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK = "(items IS NULL) = (origin_job_id IS NOT NULL)"


def upgrade() -> None:
    with op.batch_alter_table('job_batches') as batch:
        batch.add_column(sa.Column('origin_job_id', sa.Uuid(), nullable=True))
        batch.alter_column('items', existing_type=sa.LargeBinary(), nullable=True)
        batch.create_foreign_key('fk_job_batches_origin', 'job_batches', ['origin_job_id', 'seq'], ['job_id', 'seq'])
        batch.create_check_constraint('ck_job_batches_items_or_origin', CHECK)


def downgrade() -> None:
    op.execute("""
        UPDATE job_batches SET items = origin.items, manifest = origin.manifest, origin_job_id = NULL
        FROM job_batches AS origin
        WHERE origin.job_id = job_batches.origin_job_id AND origin.seq = job_batches.seq
    """)
    with op.batch_alter_table('job_batches') as batch:
        batch.drop_constraint('ck_job_batches_items_or_origin', type_='check')
        batch.drop_constraint('fk_job_batches_origin', type_='foreignkey')
        batch.alter_column('items', existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column('origin_job_id')
