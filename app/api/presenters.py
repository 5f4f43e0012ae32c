"""From table rows to wire shapes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row

from app.api import schemas
from app.models import Entry, Job, JobResult, KnowledgeBase
from app.services.job_polls import SampledResult
from app.timestamps import iso


def job(row: Job | Row[Any], results: Sequence[JobResult | Row[Any] | SampledResult]) -> schemas.JobPublic:
    """Without its payload (app/api/payload_responses.py streams jobs with theirs)."""
    return schemas.JobPublic(
        id=row.id,
        status=row.status,  # type: ignore[arg-type]
        knowledgeBaseId=row.knowledge_base_id,
        data=schemas.JobData(
            adapterId=row.adapter_type,
            adapterType=row.adapter_type,
            recordCount=row.record_count,
            progress=schemas.Progress(
                processed=row.processed, total=row.record_count, successful=row.successful, failed=row.failed, skipped=row.skipped
            ),
            results=[record_result(r) for r in results],
        ),
        result=schemas.JobSummary(
            sourceId=row.id,
            entriesCreated=row.created,
            entriesUpdated=row.updated,
            entriesSkipped=row.skipped,
            entriesDeleted=row.deleted,
            embeddingsGenerated=0,
            error=row.error,
        ),
        created_at=iso(row.created_at),  # type: ignore[arg-type]
        started_at=iso(row.started_at),
        completed_at=iso(row.completed_at),
    )


def record_result(row: JobResult | Row[Any] | SampledResult) -> schemas.RecordResult:
    return schemas.RecordResult(
        sourceId=row.source_id,
        status=row.status,  # type: ignore[arg-type]
        action=row.action,  # type: ignore[arg-type]
        entryId=row.entry_id,
        error=row.error,
        detail=row.detail,
        recordIndex=row.seq,
    )


def knowledge_base(row: KnowledgeBase, entry_count: int) -> schemas.KnowledgeBasePublic:
    return schemas.KnowledgeBasePublic(
        id=row.id,
        name=row.name,
        description=row.description,
        entryCount=entry_count,
        created_at=iso(row.created_at),  # type: ignore[arg-type]
        updated_at=iso(row.updated_at),  # type: ignore[arg-type]
    )


def entry(row: Entry) -> schemas.EntryPublic:
    return schemas.EntryPublic(
        id=row.id,
        sourceId=row.source_id,
        title=row.title,
        content=row.content,
        contentType=row.content_type,
        metadata=row.meta,
        tags=row.tags,
        url=row.url,
        contentHash=row.content_hash,
        version=row.version,
        created_at=iso(row.created_at),  # type: ignore[arg-type]
        updated_at=iso(row.updated_at),  # type: ignore[arg-type]
    )
