"""The Litestar application: composition root of settings, runtime, routes and workers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from app import logs, memory, migrations
from app.api import rate_limits
from app.api.errors import EXCEPTION_HANDLERS
from app.api.health import health, ready
from app.api.jobs import JobController
from app.api.knowledge_bases import KnowledgeBaseController
from app.api.request_ids import RequestIdMiddleware, stamp_request_id
from app.api.stalled_bodies import StalledBodyMiddleware
from app.auth import api_security, bootstrap
from app.auth.standings import StandingCache
from app.db import checked_engine, transaction
from app.runtime import Runtime, build_runtime
from app.services import recovery
from app.settings import Settings
from workers.embedded import EmbeddedWorker

log = logging.getLogger(__name__)
API_PREFIX = "/api/v2"


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    settings.check_deployment()
    logs.configure(settings.log_level, settings.log_json)
    memory.keep_freed_memory()
    tokens = api_security.access_tokens(settings)
    runtime = build_runtime(settings, ping="after-idle")
    standings = StandingCache.for_engine(runtime.engine)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        worker = start(runtime)
        app.state["worker"] = worker
        standings.start()
        memory.freeze_startup_heap()
        try:
            yield
        finally:
            memory.thaw()
            standings.stop()
            if worker is not None:
                worker.stop()
            runtime.close()

    security = api_security.protect(runtime, tokens, standings, prefix=API_PREFIX)
    rate_limit_counter = rate_limits.counter(settings)
    limiter = rate_limits.middleware(settings, rate_limit_counter)
    security["middleware"] = [*security.get("middleware", []), *limiter]
    api = Router(path=API_PREFIX, route_handlers=[JobController, KnowledgeBaseController], **security)
    token_endpoint = Router(
        path="/", route_handlers=[api_security.token_router(tokens, prefix=API_PREFIX)], middleware=limiter
    )
    app = Litestar(
        route_handlers=[api, token_endpoint, health, ready],
        dependencies={"runtime": Provide(lambda: runtime, use_cache=True, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[RequestIdMiddleware(), StalledBodyMiddleware(settings.body_idle_timeout_seconds or None)],
        before_send=[stamp_request_id],
        lifespan=[lifespan],
        request_max_body_size=1024 * 1024,
        openapi_config=OpenAPIConfig(
            title="Knowledge-base ingestion API",
            version="2.0.0",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            components=api_security.components(prefix=API_PREFIX),
        ),
        state={"runtime": runtime, "standings": standings, "rate_limit_counter": rate_limit_counter},
        logging_config=None,
    )
    api_security.document(app, prefix=API_PREFIX)
    return app


def preflight(settings: Settings) -> None:
    """What `kb-ingest serve` checks before it starts uvicorn, to refuse in one line: settings
    that make a deployment, and a database it reaches when starting needs one (`start`: the
    embedded mode migrates it, the first client goes into it). A deployment's API starts
    without its database, and answers /ready with 503 until it is there."""
    settings.check_deployment()
    if settings.embedded or bootstrap.wanted(settings):
        with checked_engine(settings):
            pass


def start(runtime: Runtime) -> EmbeddedWorker | None:
    """Prepare the database and, in the embedded mode, run migrations and an in-process worker."""
    if runtime.settings.embedded:
        migrations.upgrade(runtime.engine)
    bootstrap.first_start(runtime, token_path=f"{API_PREFIX}{api_security.TOKEN_PATH}")
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
