"""The Litestar application: composition root of settings, runtime, routes and workers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from app import logs, migrations
from app.api.errors import EXCEPTION_HANDLERS
from app.api.health import health, ready
from app.api.jobs import JobController
from app.api.knowledge_bases import KnowledgeBaseController
from app.api.request_ids import RequestIdMiddleware, stamp_request_id
from app.db import transaction
from app.models import DEFAULT_WORKSPACE_ID
from app.runtime import Runtime, build_runtime
from app.services import recovery, workspaces
from app.settings import Settings
from workers.embedded import EmbeddedWorker

log = logging.getLogger(__name__)
API_PREFIX = "/api/v2"


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    logs.configure(settings.log_level, settings.log_json)
    runtime = build_runtime(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        worker = start(runtime)
        app.state["worker"] = worker
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            runtime.close()

    api = Router(
        path=API_PREFIX,
        route_handlers=[JobController, KnowledgeBaseController],
        dependencies={"workspace_id": Provide(provide_workspace_id, sync_to_thread=False)},
    )
    return Litestar(
        route_handlers=[api, health, ready],
        dependencies={"runtime": Provide(lambda: runtime, use_cache=True, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[RequestIdMiddleware()],
        before_send=[stamp_request_id],
        lifespan=[lifespan],
        request_max_body_size=1024 * 1024,
        openapi_config=OpenAPIConfig(
            title="Knowledge-base ingestion API",
            version="2.0.0",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        state={"runtime": runtime},
        logging_config=None,
    )


def provide_workspace_id() -> UUID:
    return DEFAULT_WORKSPACE_ID


def start(runtime: Runtime) -> EmbeddedWorker | None:
    """Prepare the database and, in the embedded mode, run migrations and an in-process worker."""
    if runtime.settings.embedded:
        migrations.upgrade(runtime.engine)
    with transaction(runtime.sessions) as session:
        workspaces.ensure_default(session)
    if not runtime.settings.embedded:
        return None
    worker = EmbeddedWorker(runtime)
    worker.start()
    with transaction(runtime.sessions) as session:
        pending = recovery.unfinished_batches(session)
    for job_id, seqs in pending.items():
        runtime.queue.enqueue_batches(job_id, seqs)
    if pending:
        log.info("re-enqueued %d unfinished jobs after start", len(pending))
    return worker
