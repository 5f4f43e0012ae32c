"""/data-ingestion: jobs, their per-record results, and the adapter list.

Query parameters are named as on the wire (`includePayload`), so that validation errors
name them as the client wrote them.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal
from uuid import UUID

import anyio
from litestar.di import NamedDependency
from litestar import Controller, MediaType, Request, Response, delete, get, post
from litestar.response import Stream
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

import adapters
from adapters.base import Issue
from app.api import openapi, payload_responses, presenters, schemas
from app.api.body import BodyLimits
from app.api.job_creation import accept, request_hasher
from app.api.params import MAX_OFFSET, date_bound, path_uuid
from app.api.submission import idempotency_key, read_submission
from app.db import reading, transaction
from app.errors import InvalidInput
from app.models import JobStatus
from app.runtime import Runtime
from app.services import job_polls, jobs, results

log = logging.getLogger(__name__)
REPLAYED_HEADER = "Idempotent-Replayed"

Limit = Annotated[int, QueryParameter(ge=1, le=100, description="Results per page (1-100)")]
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="Records to skip")]
IncludePayload = Annotated[bool, QueryParameter(description="Include the submitted payload")]


class JobController(Controller):
    path = "/data-ingestion"
    tags = ["data-ingestion"]

    @post(
        "/jobs",
        status_code=HTTP_202_ACCEPTED,
        request_max_body_size=None,
        operation_class=openapi.SubmitJobOperation,
        response_headers=openapi.SUBMIT_RESPONSE_HEADERS,
        responses=openapi.errors(400, 404, 408, 409, 413, 415),
    )
    async def submit_job(self, request: Request, runtime: NamedDependency[Runtime], workspace_id: NamedDependency[UUID]) -> Response[schemas.JobAccepted]:
        """Submit a job: JSON `{adapterType, knowledgeBaseId, data, options?}` or a multipart form with the same fields."""
        key = idempotency_key(request)
        digest = None if key else request_hasher(runtime.settings)
        received = await read_submission(request, limits=BodyLimits.of(runtime.settings), digest=digest)
        try:
            created = await accept(runtime, workspace_id=workspace_id, received=received, key=key)
        finally:
            received.close()
        headers = {"Location": f"{request.url.path.rstrip('/')}/{created.job_id}"}
        if created.replayed:
            headers[REPLAYED_HEADER] = "true"
            log.info("replayed the job of Idempotency-Key %r", key, extra={"job_id": str(created.job_id)})
        else:
            resent = f", a copy of job {created.resent_from} (the same request)" if created.resent_from else ""
            log.info("accepted a job of %d batches%s", len(created.batch_seqs), resent, extra={"job_id": str(created.job_id)})
            await anyio.to_thread.run_sync(runtime.queue.enqueue_batches, created.job_id, created.batch_seqs)
        return Response(schemas.JobAccepted(jobId=created.job_id, status="pending"), status_code=HTTP_202_ACCEPTED, headers=headers)

    @get("/jobs", sync_to_thread=True, responses=openapi.errors(400))
    def list_jobs(
        self,
        runtime: NamedDependency[Runtime],
        workspace_id: NamedDependency[UUID],
        status: FromQuery[Literal["pending", "processing", "completed", "failed", "cancelled"] | None] = None,
        limit: Limit = 20,
        offset: Offset = 0,
        includePayload: IncludePayload = False,
        startDate: Annotated[str | None, QueryParameter(description="Created at or after (ISO 8601)")] = None,
        endDate: Annotated[str | None, QueryParameter(description="Created before (ISO 8601)")] = None,
    ) -> schemas.JobList:
        """List jobs, newest first."""
        filters = jobs.JobFilter(
            status=JobStatus(status) if status else None,
            start=date_bound(startDate, "startDate", end=False),
            end=date_bound(endDate, "endDate", end=True),
            limit=limit,
            offset=offset,
        )
        if filters.start and filters.end and filters.start >= filters.end:
            raise InvalidInput("startDate must be before endDate", [Issue("startDate", "must be before endDate")])
        with transaction(runtime.sessions) as session:
            total, rows = jobs.list_page(session, workspace_id=workspace_id, filters=filters)
            samples = results.sample(session, job_ids=[r.id for r in rows], size=runtime.settings.results_sample_size)
        listed = [presenters.job(r, samples.get(r.id, [])) for r in rows]
        if includePayload:
            return Stream(payload_responses.job_list(runtime.engine, total, listed), media_type=MediaType.JSON)  # type: ignore[return-value]
        return schemas.JobList(total=total, jobs=listed)

    @get("/jobs/{jobId:str}", sync_to_thread=True, responses=openapi.errors(404))
    def get_job(
        self, runtime: NamedDependency[Runtime], workspace_id: NamedDependency[UUID], jobId: FromPath[str], includePayload: IncludePayload = False
    ) -> schemas.JobPublic:
        """A job's status, progress counters, a sample of its per-record results (failures first) and summary."""
        uuid = path_uuid(jobId, "Job")
        with reading(runtime.engine) as connection:
            row, sample = job_polls.read(connection, workspace_id=workspace_id, job_id=uuid, sample_size=runtime.settings.results_sample_size)
            stored = jobs.stored_payload(connection, job_id=uuid) if includePayload else None
        if includePayload:
            return Stream(payload_responses.job(presenters.job(row, sample), stored), media_type=MediaType.JSON)  # type: ignore[return-value]
        return presenters.job(row, sample)

    @get("/jobs/{jobId:str}/results", sync_to_thread=True, responses=openapi.errors(400, 404))
    def list_results(
        self,
        runtime: NamedDependency[Runtime],
        workspace_id: NamedDependency[UUID],
        jobId: FromPath[str],
        status: FromQuery[Literal["success", "failed", "skipped"] | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Offset = 0,
        after: Annotated[int | None, QueryParameter(ge=0, le=results.MAX_RECORD_INDEX)] = None,
    ) -> schemas.ResultPage:
        """Every per-record result of a job, in submission order, paged.

        `after` (the last `recordIndex` seen) pages by position rather than by count: each
        page is a range scan as cheap as the first (an `offset` deep into a large job
        counts its way there), and a result never shows up twice. A running job's batches
        finish out of order, so a result can land behind the position reached: the
        complete list is that of a finished job."""
        uuid = path_uuid(jobId, "Job")
        with transaction(runtime.sessions) as session:
            jobs.get(session, workspace_id=workspace_id, job_id=uuid)
            total, rows = results.page(session, job_id=uuid, status=status, limit=limit, offset=offset, after=after)
        return schemas.ResultPage(total=total, limit=limit, offset=offset, results=[presenters.record_result(r) for r in rows])

    @delete("/jobs/{jobId:str}", status_code=HTTP_204_NO_CONTENT, sync_to_thread=True, responses=openapi.errors(404, 409))
    def cancel_job(self, runtime: NamedDependency[Runtime], workspace_id: NamedDependency[UUID], jobId: FromPath[str]) -> None:
        """Cancel a pending or processing job. What was already applied stays applied."""
        uuid = path_uuid(jobId, "Job")
        with transaction(runtime.sessions) as session:
            jobs.cancel(session, workspace_id=workspace_id, job_id=uuid)
        log.info("cancelled the job", extra={"job_id": str(uuid)})

    @get("/adapters", sync_to_thread=False, responses=openapi.errors())
    def list_adapters(self) -> list[schemas.AdapterInfo]:
        """Adapters available to `adapterType`."""
        return [schemas.AdapterInfo(**a.describe()) for a in adapters.registry]
