"""Reading a batch's records and manifest, wherever they are stored.

A planned batch holds them in its own row; a resubmission's batch refers to the batch of
the same seq of its origin job (`JobBatch.origin_job_id`), which holds them. A copy of a
copy refers to the first origin, so one outer join always finds them.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Connection, Select, and_, func, select
from sqlalchemy.orm import Session, aliased

from app.models import JobBatch
from app.services import postgres_writes

ORIGIN = aliased(JobBatch, name="origin")
ITEMS = func.coalesce(JobBatch.items, ORIGIN.items)
MANIFEST = func.coalesce(JobBatch.manifest, ORIGIN.manifest)

# Their records, read in psycopg's binary format on PostgreSQL: in text, PostgreSQL
# hex-encodes a bytea to twice its size, which cost it more CPU than writing the batch had.
_ITEMS_OF_JOB_SQL = """
    SELECT coalesce(batch.items, origin.items) FROM job_batches AS batch
    LEFT JOIN job_batches AS origin ON origin.job_id = batch.origin_job_id AND origin.seq = batch.seq
    WHERE batch.job_id = %s
"""
_ITEMS_SQL = _ITEMS_OF_JOB_SQL + " AND batch.seq = %s"
_ALL_ITEMS_SQL = _ITEMS_OF_JOB_SQL + " ORDER BY batch.seq"


def with_origin(statement: Select) -> Select:  # type: ignore[type-arg]
    """`statement` (selecting from job_batches) joined to the origin rows ITEMS and MANIFEST read."""
    return statement.outerjoin(ORIGIN, and_(ORIGIN.job_id == JobBatch.origin_job_id, ORIGIN.seq == JobBatch.seq))


def items(connection: Session | Connection, *, job_id: UUID, seq: int) -> bytes | None:
    """One batch's records; None if the batch is not there."""
    driver = postgres_writes.driver(connection)
    if driver is not None:
        row = driver.execute(_ITEMS_SQL, (job_id, seq), binary=True).fetchone()
        return row[0] if row is not None else None
    return connection.execute(with_origin(select(ITEMS)).where(JobBatch.job_id == job_id, JobBatch.seq == seq)).scalar_one_or_none()


def all_items(connection: Session | Connection, *, job_id: UUID) -> list[bytes]:
    """Every batch's records of the job, in order."""
    driver = postgres_writes.driver(connection)
    if driver is not None:
        return [row[0] for row in driver.execute(_ALL_ITEMS_SQL, (job_id,), binary=True)]
    return list(connection.scalars(with_origin(select(ITEMS)).where(JobBatch.job_id == job_id).order_by(JobBatch.seq)))

