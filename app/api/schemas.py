"""Wire shapes of the public API, named and cased exactly as the reference document has them."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Struct, UnsetType

JobStatusName = Literal["pending", "processing", "completed", "failed", "cancelled"]
RecordStatus = Literal["success", "failed", "skipped"]
RecordAction = Literal["created", "updated", "deleted", "unchanged"]


class JobAccepted(Struct):
    jobId: UUID
    status: JobStatusName


class Progress(Struct):
    processed: int
    total: int
    successful: int
    failed: int
    skipped: int


class RecordResult(Struct):
    sourceId: str | None
    status: RecordStatus
    action: RecordAction | None
    entryId: UUID | None
    error: str | None
    detail: str | None = None
    # As in the API document; always 0: this service stores entries, it does not embed them.
    embeddingCount: int = 0
    # The record's position among the job's records (0-based, submission order): what
    # finds a failed record that has no usable id (`sourceId` null) in the payload.
    recordIndex: int = 0


class JobData(Struct):
    adapterId: str
    adapterType: str
    recordCount: int
    progress: Progress
    results: list[RecordResult]


class JobSummary(Struct):
    sourceId: UUID
    entriesCreated: int
    entriesUpdated: int
    entriesSkipped: int
    entriesDeleted: int
    embeddingsGenerated: int
    error: str | None


class JobPublic(Struct):
    id: UUID
    status: JobStatusName
    knowledgeBaseId: UUID
    data: JobData
    result: JobSummary
    created_at: str
    started_at: str | None
    completed_at: str | None
    payload: Any | UnsetType = UNSET


class JobList(Struct):
    total: int
    jobs: list[JobPublic]


class ResultPage(Struct):
    total: int
    limit: int
    offset: int
    results: list[RecordResult]


class AdapterInfo(Struct):
    name: str
    format: str
    version: str


class KnowledgeBaseCreate(Struct, forbid_unknown_fields=True):
    name: str
    description: str | None = None


class KnowledgeBasePublic(Struct):
    id: UUID
    name: str
    description: str | None
    entryCount: int
    created_at: str
    updated_at: str


class KnowledgeBaseList(Struct):
    total: int
    knowledgeBases: list[KnowledgeBasePublic]


class EntryPublic(Struct):
    id: UUID
    sourceId: str
    title: str
    content: str
    contentType: str
    metadata: dict[str, Any]
    tags: list[str]
    url: str | None
    contentHash: str
    version: int
    created_at: str
    updated_at: str


class EntryList(Struct):
    total: int
    entries: list[EntryPublic]


class ErrorDetail(Struct):
    path: str
    message: str


class ErrorBody(Struct):
    statusCode: int
    error: str
    message: str
    timestamp: str
    path: str
    errors: list[ErrorDetail] | UnsetType = UNSET


class Health(Struct):
    status: str
    checks: dict[str, str] = msgspec.field(default_factory=dict)
