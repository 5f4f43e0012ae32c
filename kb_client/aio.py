"""`AsyncClient`: the same client for asyncio (or trio) programs, on httpx.AsyncClient and anyio.sleep.

Every method mirrors `Client`'s and runs the very same operations; see `Client` for what each does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx

from kb_client import auth, errors, submission
from kb_client.backoff import Backoff
from kb_client.batching import Envelope
from kb_client.config import ClientConfig, environment_options
from kb_client.endpoints import Endpoints, Offset, Page, Position, ResultPosition
from kb_client.models import Accepted, Job, KnowledgeBase
from kb_client.polling import wait_all as wait_for_jobs
from kb_client.protocol import Action, Done, Operation, Send, Sleep, step

T = TypeVar("T")


class AsyncClient:
    def __init__(self, base_url: str, *, client_id: str | None = None, client_secret: str | None = None,
                 token: str | None = None, scope: str | None = None, **options: Any) -> None:
        self.config = ClientConfig(base_url=base_url, **options)
        self._tokens = auth.token_cache(client_id, client_secret, token, scope)
        self._token_lock = anyio.Lock()
        self._endpoints = Endpoints(self.config)
        self._http = httpx.AsyncClient(base_url=self.config.base_url, timeout=self.config.timeout,
                                       headers={"user-agent": self.config.user_agent})

    @classmethod
    def from_env(cls, **options: Any) -> AsyncClient:
        """Connect as `kbi` does: KBI_URL, and KBI_CLIENT_ID + KBI_CLIENT_SECRET (or KBI_TOKEN)."""
        return cls(**environment_options(), **options)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # jobs

    async def submit_job(self, knowledge_base_id: str, data: Any = None, *, file: str | Path | None = None,
                         adapter: str = "generic-json", options: dict[str, Any] | None = None,
                         idempotency_key: str | None = None) -> Accepted:
        if (data is None) == (file is None):
            raise ValueError("give either data or file")
        if file is not None:
            return await self._run(self._endpoints.submit_file(str(knowledge_base_id), Path(file), adapter=adapter,
                                                               options=options, idempotency_key=idempotency_key))
        return await self._run(self._endpoints.submit_data(str(knowledge_base_id), data, adapter=adapter,
                                                           options=options, idempotency_key=idempotency_key))

    async def submit_records(self, knowledge_base_id: str, records: Iterable[Any], *, batch_size: int | None = None,
                             adapter: str = "generic-json", options: dict[str, Any] | None = None,
                             envelope: Envelope | None = None, idempotency_prefix: str | None = None,
                             on_submitted: submission.OnSubmitted | None = None) -> list[str]:
        return await self._run(submission.submit_records(
            self._endpoints, str(knowledge_base_id), records, adapter=adapter, batch_size=batch_size, options=options,
            envelope=envelope, idempotency_prefix=idempotency_prefix, on_submitted=on_submitted))

    async def get_job(self, job_id: str, *, include_payload: bool = False) -> Job:
        return await self._run(self._endpoints.get_job(job_id, include_payload=include_payload))

    async def list_jobs(self, *, status: str | None = None, limit: int = 20, offset: int = 0,
                        start_date: str | None = None, end_date: str | None = None,
                        include_payload: bool = False) -> Page[Job]:
        return await self._run(self._endpoints.list_jobs(status=status, limit=limit, offset=offset, start_date=start_date,
                                                         end_date=end_date, include_payload=include_payload))

    def iter_jobs(self, *, status: str | None = None, start_date: str | None = None,
                  end_date: str | None = None) -> AsyncIterator[Job]:
        return self._pages(lambda at: self._endpoints.list_jobs(
            status=status, start_date=start_date, end_date=end_date, limit=100, offset=at.offset), Offset())

    def iter_results(self, job_id: str, *, status: str | None = None, page_size: int = 1000) -> AsyncIterator[dict[str, Any]]:
        return self._pages(lambda at: self._endpoints.results(
            job_id, status=status, limit=page_size, offset=at.offset, after=at.after), ResultPosition())

    async def cancel_job(self, job_id: str) -> None:
        await self._run(self._endpoints.cancel_job(job_id))

    async def wait(self, job_id: str, *, timeout: float | None = None,
                   on_progress: Callable[[Job], None] | None = None, polling: Backoff | None = None) -> Job:
        return (await self.wait_all([job_id], timeout=timeout, on_progress=on_progress, polling=polling))[0]

    async def wait_all(self, job_ids: Sequence[str], *, timeout: float | None = None,
                       on_progress: Callable[[Job], None] | None = None, polling: Backoff | None = None,
                       raise_on_failure: bool = True) -> list[Job]:
        return await self._run(wait_for_jobs(self._endpoints, job_ids, timeout=timeout, on_progress=on_progress,
                                             polling=polling, raise_on_failure=raise_on_failure))

    async def list_adapters(self) -> list[dict[str, Any]]:
        return await self._run(self._endpoints.list_adapters())

    # knowledge bases

    async def create_knowledge_base(self, name: str, description: str | None = None) -> KnowledgeBase:
        return await self._run(self._endpoints.create_knowledge_base(name, description))

    async def get_knowledge_base(self, knowledge_base_id: str) -> KnowledgeBase:
        return await self._run(self._endpoints.get_knowledge_base(knowledge_base_id))

    def iter_knowledge_bases(self) -> AsyncIterator[KnowledgeBase]:
        return self._pages(lambda at: self._endpoints.list_knowledge_bases(offset=at.offset), Offset())

    async def ensure_knowledge_base(self, name: str, description: str | None = None) -> KnowledgeBase:
        async for kb in self.iter_knowledge_bases():
            if kb.name == name.strip():
                return kb
        return await self.create_knowledge_base(name, description)

    def iter_entries(self, knowledge_base_id: str, *, source_id: str | None = None) -> AsyncIterator[dict[str, Any]]:
        return self._pages(lambda at: self._endpoints.entries(knowledge_base_id, source_id=source_id, offset=at.offset), Offset())

    # running operations

    async def _pages(self, page_at: Callable[[Any], Operation[Page[T]]], start: Position) -> AsyncIterator[T]:
        position: Position | None = start
        while position is not None:
            page = await self._run(page_at(position))
            fresh = position.fresh(page)
            for item in fresh:
                yield item
            position = position.past(page, fresh)

    async def _run(self, operation: Operation[T]) -> T:
        """Drive `operation` to its end; if anything outside it raises, it is closed (its files too)."""
        try:
            outcome = step(operation)
            while not isinstance(outcome, Done):
                try:
                    value, error = await self._perform(outcome), None
                except (httpx.TransportError, errors.KbClientError) as exc:
                    # Into the operation, also the client's own errors (a token renewal
                    # refused): an operation that reports progress, like submit_records, says what it had done.
                    value, error = None, exc
                outcome = step(operation, value, error)
            return outcome.value
        finally:
            operation.close()

    async def _perform(self, action: Action) -> Any:
        if isinstance(action, Send):
            kwargs = action.call.request_kwargs()
            if action.call.authenticated and (header := await self._authorization()):
                kwargs["headers"]["authorization"] = header
            with ExitStack() as stack:
                if action.call.file is not None:
                    upload = stack.enter_context(action.call.file.open("rb"))
                    kwargs["files"] = {"data": (action.call.file.name, upload, "application/json")}
                return await self._http.request(action.call.method, action.call.path, **kwargs)
        if isinstance(action, Sleep):
            await anyio.sleep(action.seconds)
            return None
        return self._tokens.discard(action.refused)

    async def _authorization(self) -> str | None:
        header = self._tokens.current()
        if header is not None or not self._tokens.renewable:
            return header
        async with self._token_lock:
            header = self._tokens.current()
            if header is None:
                response = await self._run(self._endpoints.send(auth.token_call(self._tokens.credentials)))  # type: ignore[arg-type]
                header = self._tokens.store(response)
            return header
