"""Access-token clients: the machine credentials of a workspace."""

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.models.types import UTCDateTime
from app.timestamps import utcnow


class AccessClient(SQLModel, table=True):
    """Trades its id and secret for short-lived access tokens of one workspace.

    Only a salted scrypt hash of the secret is stored. `secret_version` goes up on every
    rotation and is copied into each token, so rotating the secret also ends the tokens
    minted with the old one; `revoked_at` ends them all at once.
    """

    __tablename__ = "access_token_clients"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    workspace_id: UUID = Field(foreign_key="workspaces.id", index=True)
    name: str = Field(max_length=200)
    scope: str = Field(max_length=500)  # space-separated, as OAuth 2.0 writes scopes
    secret_hash: str = Field(max_length=255)
    secret_version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    secret_rotated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
