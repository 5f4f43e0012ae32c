"""Idempotency keys: which job a client's `Idempotency-Key` created, per workspace.

The row is inserted in the same transaction as its job, so a key never exists without
its job nor a job without its key; the primary key (workspace, key) is what resolves
two identical requests racing: the second insert fails and that request replays.
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy import Column, ForeignKey, Index
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime
from app.timestamps import utcnow


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    workspace_id: UUID = Field(sa_column=Column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True))
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)
    job_id: UUID = Field(sa_column=Column(ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
