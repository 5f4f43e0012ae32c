"""Table models, one module per entity; importing this package registers them all."""

from app.models.access_client import AccessClient
from app.models.entry import Entry
from app.models.idempotency import IdempotencyKey
from app.models.job import ACTIVE_STATUSES, TERMINAL_STATUSES, Job, JobBatch, JobPayload, JobRecordSource, JobResult, JobStatus
from app.models.knowledge_base import KnowledgeBase
from app.models.workspace import DEFAULT_WORKSPACE_ID, Workspace

__all__ = [
    "ACTIVE_STATUSES",
    "DEFAULT_WORKSPACE_ID",
    "TERMINAL_STATUSES",
    "AccessClient",
    "Entry",
    "IdempotencyKey",
    "Job",
    "JobBatch",
    "JobPayload",
    "JobRecordSource",
    "JobResult",
    "JobStatus",
    "KnowledgeBase",
    "Workspace",
]
