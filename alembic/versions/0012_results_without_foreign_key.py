"""job_results: a trigger removes a deleted job's results instead of a foreign key checked per row

Revision ID: 0012_results_without_foreign_key
Revises: 0011_record_references
Create Date: 2026-12-07

Every job writes one result row per record, 100,000 for a 100,000-record run, and the
foreign key to jobs checked each of them on its own: an index probe and a share lock on
the job's row per result, 1.3 of the 3.4 s PostgreSQL spent writing a 100,000-record
run's results (measured with pg_stat_statements). The check guarded nothing the workers
do not already guarantee: a batch's results are written in the transaction that then
updates its job's row, which rolls back when the job is gone (app/services/batches.py).
What the foreign key also did, removing a deleted job's results, is kept by a row
trigger on jobs, which costs nothing until a job is deleted.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012_results_without_foreign_key'
down_revision: str | None = '0011_record_references'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTGRES_FOREIGN_KEY = 'job_results_job_id_fkey'
# SQLite's foreign key has no name: batch mode finds it by this convention.
SQLITE_NAMING = {'fk': 'fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s'}
SQLITE_FOREIGN_KEY = 'fk_job_results_job_id_jobs'
TRIGGER = 'jobs_delete_results'


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(POSTGRES_FOREIGN_KEY, 'job_results', type_='foreignkey')
        op.execute(f"""
            CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM job_results WHERE job_id = OLD.id;
                RETURN NULL;
            END $$
        """)
        op.execute(f'CREATE TRIGGER {TRIGGER} AFTER DELETE ON jobs FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()')
    else:
        with op.batch_alter_table('job_results', naming_convention=SQLITE_NAMING) as batch:
            batch.drop_constraint(SQLITE_FOREIGN_KEY, type_='foreignkey')
        op.execute(f'CREATE TRIGGER {TRIGGER} AFTER DELETE ON jobs FOR EACH ROW BEGIN DELETE FROM job_results WHERE job_id = OLD.id; END')


def downgrade() -> None:
    # Results of jobs deleted while the trigger was missing (by hand, or half-way through
    # a downgrade) would fail the foreign key: they belong to no job, so they go first.
    op.execute('DELETE FROM job_results WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.id = job_results.job_id)')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'DROP TRIGGER {TRIGGER} ON jobs')
        op.execute(f'DROP FUNCTION {TRIGGER}()')
        op.create_foreign_key(POSTGRES_FOREIGN_KEY, 'job_results', 'jobs', ['job_id'], ['id'], ondelete='CASCADE')
    else:
        op.execute(f'DROP TRIGGER {TRIGGER}')
        with op.batch_alter_table('job_results', naming_convention=SQLITE_NAMING) as batch:
            batch.create_foreign_key(SQLITE_FOREIGN_KEY, 'jobs', ['job_id'], ['id'], ondelete='CASCADE')
