from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Column, ForeignKey, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime, VerbatimJson
from app.timestamps import utcnow


class Entry(SQLModel, table=True):
    """One knowledge-base entry, unique per (knowledge base, source record id)."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("knowledge_base_id", "source_id", name="uq_entries_kb_source"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    workspace_id: UUID = Field(foreign_key="workspaces.id", index=True)
    knowledge_base_id: UUID = Field(
        sa_column=Column(ForeignKey("knowledge_bases.id", ondelete="CASCADE"), nullable=False)
    )
    source_id: str = Field(max_length=512)
    title: str = Field(sa_column=Column(Text, nullable=False))
    content: str = Field(sa_column=Column(Text, nullable=False))
    content_type: str = Field(max_length=20)
    # `metadata` is reserved by SQLAlchemy's declarative base, hence the attribute name.
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", VerbatimJson, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(VerbatimJson, nullable=False))
    url: str | None = Field(default=None, sa_column=Column(Text))
    content_hash: str = Field(max_length=64)
    # The fingerprint of the raw record last written here (or found unchanged): a re-run
    # of the same export is matched on it without normalizing anything. NULL for entries
    # written before it existed; the next re-run fills it in.
    source_hash: str | None = Field(default=None, max_length=32)
    # A raw record this entry was written from (or found unchanged by), as stored: its
    # fingerprint `record_hash`, in batch `record_batch` of job `record_job_id`, at
    # `record_seq` of that job's payload. A later job submitting a record with that
    # fingerprint stores a reference to it instead of its bytes (app/services/record_sources.py).
    # The four are only ever written together, so they agree whatever else changes
    # `source_hash`. NULL where unknown: the next matching record is stored anew.
    record_hash: str | None = Field(default=None, max_length=32)
    record_job_id: UUID | None = None
    record_batch: int | None = None
    record_seq: int | None = None
    version: int = 1
    last_job_id: UUID | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
