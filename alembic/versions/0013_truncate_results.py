"""job_results: emptied when jobs is truncated, as deleting a job removes its results

Revision ID: 0013_truncate_results
Revises: 0012_results_without_foreign_key
Create Date: 2026-12-07

Since 0012 a row trigger on jobs, not a foreign key, removes a deleted job's results.
Row triggers do not fire on TRUNCATE, and TRUNCATE jobs CASCADE follows foreign keys
only: an operator emptying jobs that way left every result behind, rows of no job that
nothing lists or deletes any more. A statement trigger empties job_results with it.
PostgreSQL only: SQLite has no TRUNCATE (its DELETE fires the row trigger).
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0013_truncate_results'
down_revision: str | None = '0012_results_without_foreign_key'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGER = 'jobs_truncate_results'


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    # In the schema of the jobs truncated, whatever the caller's search_path. A TRUNCATE
    # that names job_results itself (`TRUNCATE jobs, job_results CASCADE`, a reset
    # script's list of every table) has it open still, which a nested TRUNCATE refuses
    # ("being used by active queries in this session"): it is emptied already, and the
    # DELETE then finds nothing to do.
    op.execute(f"""
        CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            EXECUTE format('TRUNCATE %I.job_results', TG_TABLE_SCHEMA);
            RETURN NULL;
        EXCEPTION WHEN object_in_use THEN
            EXECUTE format('DELETE FROM %I.job_results', TG_TABLE_SCHEMA);
            RETURN NULL;
        END $$
    """)
    op.execute(f'CREATE TRIGGER {TRIGGER} AFTER TRUNCATE ON jobs FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}()')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(f'DROP TRIGGER {TRIGGER} ON jobs')
    op.execute(f'DROP FUNCTION {TRIGGER}()')
