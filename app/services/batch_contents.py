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

ORIGIN = aliased(JobBatch, name="origin")
ITEMS = func.coalesce(JobBatch.items, ORIGIN.items)
MANIFEST = func.coalesce(JobBatch.manifest, ORIGIN.manifest)

# The same, for psycopg's binary format (app/services/postgres_writes.py).
ITEMS_SQL = """
    SELECT coalesce(batch.items, origin.items) FROM job_batches AS batch
    LEFT JOIN job_batches AS origin ON origin.job_id = batch.origin_job_id AND origin.seq = batch.seq
    WHERE batch.job_id = %s AND batch.seq = %s
"""


def with_origin(statement: Select) -> Select:  # type: ignore[type-arg]
    """`statement` (selecting from job_batches) joined to the origin rows ITEMS and MANIFEST read."""
    return statement.outerjoin(ORIGIN, and_(ORIGIN.job_id == JobBatch.origin_job_id, ORIGIN.seq == JobBatch.seq))


def items(session: Session, *, job_id: UUID, seq: int) -> bytes:
    return session.execute(with_origin(select(ITEMS)).where(JobBatch.job_id == job_id, JobBatch.seq == seq)).scalar_one()


def all_items(session: Session | Connection, *, job_id: UUID) -> list[bytes]:
    """Every batch's records of the job, in order."""
    return list(session.scalars(with_origin(select(ITEMS)).where(JobBatch.job_id == job_id).order_by(JobBatch.seq)))
