from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime
from app.timestamps import utcnow

DEFAULT_WORKSPACE_ID = UUID("00000000-0000-0000-0000-000000000001")


class Workspace(SQLModel, table=True):
    """The owner of every job, knowledge base and entry; every query filters on it."""

    __tablename__ = "workspaces"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
