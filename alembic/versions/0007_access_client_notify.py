"""notify API processes of every change to an access-token client, whoever makes it

Revision ID: 0007_access_client_notify
Revises: 0006_manifests
Create Date: 2026-11-23

API processes cache clients' standing and drop an entry when a notification on
`kb_ingest_access_clients` names it (app/auth/standings.py). The admin commands notify
explicitly; this trigger also covers changes made by hand in SQL or by other tools.
PostgreSQL folds identical notifications of one transaction into one.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0007_access_client_notify'
down_revision: str | None = '0006_manifests'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("""
        CREATE FUNCTION kb_ingest_access_client_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('kb_ingest_access_clients', OLD.id::text);
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER access_token_clients_changed AFTER UPDATE OR DELETE ON access_token_clients
        FOR EACH ROW EXECUTE FUNCTION kb_ingest_access_client_changed()
    """)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP TRIGGER access_token_clients_changed ON access_token_clients")
    op.execute("DROP FUNCTION kb_ingest_access_client_changed()")
