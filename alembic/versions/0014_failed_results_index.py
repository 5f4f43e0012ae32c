"""job_results: only failed results are indexed by status

Revision ID: 0014_failed_results_index
Revises: 0013_truncate_results
Create Date: 2026-12-07

Every record's result went into two indexes: the primary key (job_id, seq) and
(job_id, status, seq), which served the failures-first scan of the sample every poll
shows and pages filtered by status. A partial index of the failed rows serves the
failures as well; other statuses are read through the primary key in seq order,
skipping the few failures. Most results are not failures, so most result rows now cost
one index insertion instead of two: 100,000 results written in 500-row COPYs took
PostgreSQL 0.22-0.26 s of CPU (medians) instead of 0.43. The price is paid by pages of
a status other than `failed`, which now count and walk the primary key's range of the
job and filter it: on a vacuumed 1,000,000-record job (a third skipped, 1% failed) a
`?status=skipped` page takes 37 ms instead of 22 at offset 0, 123 instead of 51 at offset
300,000; the first `?status=success` page (two thirds), `failed` and unfiltered pages the
same.

The new index is built before the old one goes, while job_results is locked against
writes (CREATE INDEX takes a SHARE lock): it reads the table once and indexes only its
failures.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014_failed_results_index'
down_revision: str | None = '0013_truncate_results'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FAILED = sa.text("status = 'failed'")


def upgrade() -> None:
    op.create_index('ix_job_results_failed', 'job_results', ['job_id', 'seq'], postgresql_where=FAILED, sqlite_where=FAILED)
    op.drop_index('ix_job_results_job_status_seq', table_name='job_results')


def downgrade() -> None:
    op.create_index('ix_job_results_job_status_seq', 'job_results', ['job_id', 'status', 'seq'], unique=False)
    op.drop_index('ix_job_results_failed', table_name='job_results')
