"""Record references: a record the knowledge base already holds is stored once, not again per job

Revision ID: 0011_record_references
Revises: 0010_batch_origins
Create Date: 2026-12-07

entries.record_hash / record_job_id / record_batch / record_seq say where a raw record
the entry was written from is stored, and its fingerprint; job_record_sources keeps each
batch that other jobs' batches refer to (app/services/batch_records.py) from being
deleted. Entries written before this revision locate no record: a record matching one is
stored in full until a run finds it unchanged and points the entry at that run's line.

The downgrade puts every referred record's bytes back into the batches that refer to it,
in the line format planning.PLAN_FORMAT 2 reads, then drops the columns and table.
"""
from collections.abc import Sequence

import orjson
import sqlalchemy as sa
import zstandard

from alembic import op

revision: str = '0011_record_references'
down_revision: str | None = '0010_batch_origins'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MAGIC = b"\x28\xb5\x2f\xfd"


def upgrade() -> None:
    with op.batch_alter_table('entries') as batch:
        batch.add_column(sa.Column('record_hash', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('record_job_id', sa.Uuid(), nullable=True))
        batch.add_column(sa.Column('record_batch', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('record_seq', sa.Integer(), nullable=True))
    op.create_table(
        'job_record_sources',
        sa.Column('job_id', sa.Uuid(), sa.ForeignKey('jobs.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('source_job_id', sa.Uuid(), primary_key=True),
        sa.Column('source_batch', sa.Integer(), primary_key=True),
        sa.ForeignKeyConstraint(
            ['source_job_id', 'source_batch'], ['job_batches.job_id', 'job_batches.seq'], name='fk_job_record_sources_batch'
        ),
    )


def downgrade() -> None:
    _resolve_references()
    op.drop_table('job_record_sources')
    with op.batch_alter_table('entries') as batch:
        batch.drop_column('record_seq')
        batch.drop_column('record_batch')
        batch.drop_column('record_job_id')
        batch.drop_column('record_hash')


def _unpack(blob: bytes) -> bytes:
    return zstandard.decompress(blob) if blob[:4] == _MAGIC else blob


def _raw(line: bytes) -> bytes:
    return line[line.index(b",", line.index(b",") + 1) + 1 : -1]


def _records(conn: sa.Connection, job_id: object, batch: int) -> dict[int, bytes]:
    """seq → JSON of every record a batch stores in full, in either line or array format."""
    blob = conn.execute(
        sa.text("""
            SELECT coalesce(b.items, o.items) FROM job_batches AS b
            LEFT JOIN job_batches AS o ON o.job_id = b.origin_job_id AND o.seq = b.seq
            WHERE b.job_id = :job_id AND b.seq = :seq
        """),
        {"job_id": job_id, "seq": batch},
    ).scalar_one_or_none()
    if blob is None:
        raise RuntimeError(f"batch {batch} of job {job_id} is referred to but not stored; cannot downgrade")
    data = _unpack(blob)
    if data.startswith(b"[["):
        return {seq: orjson.dumps(raw) for seq, _superseded, raw in orjson.loads(data)}
    return {int(line[1 : line.index(b",")]): _raw(line) for line in data.split(b"\n") if not line.startswith(b"*")}


def _resolve_references() -> None:
    """Rewrites each batch holding reference lines (`*[seq,superseded,"job",batch,record]`)
    with the records' own lines, reading each batch referred to once per batch rewritten."""
    conn = op.get_bind()
    referring = conn.execute(sa.text("SELECT DISTINCT job_id FROM job_record_sources")).scalars().all()
    for job_id in referring:
        batches = conn.execute(
            sa.text("SELECT seq, items FROM job_batches WHERE job_id = :job_id AND items IS NOT NULL ORDER BY seq"), {"job_id": job_id}
        ).all()
        for seq, items in batches:
            data = _unpack(items)
            if data.startswith(b"[[") or not (data.startswith(b"*") or b"\n*" in data):
                continue
            lines, sources = [], {}
            for line in data.split(b"\n"):
                if line.startswith(b"*"):
                    own, superseded, source_job, source_batch, record = orjson.loads(line[1:])
                    key = (source_job, source_batch)
                    if key not in sources:
                        sources[key] = _records(conn, source_job, source_batch)
                    if record not in sources[key]:
                        raise RuntimeError(f"record {record} of batch {source_batch} of job {source_job} is referred to but not stored")
                    line = b"[%d,%s,%s]" % (own, b"true" if superseded else b"false", sources[key][record])
                lines.append(line)
            conn.execute(
                sa.text("UPDATE job_batches SET items = :items WHERE job_id = :job_id AND seq = :seq"),
                {"items": zstandard.compress(b"\n".join(lines), 1), "job_id": job_id, "seq": seq},
            )
