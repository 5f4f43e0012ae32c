"""`Client`: the blocking client, for scripts. It runs the shared operations with httpx and time.sleep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

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


class Client:
    """Authenticates with client credentials (or a fixed `token`), retries, and waits for jobs.

    Options (`timeout`, `retry`, `polling`, `max_body_bytes`, `max_records_per_job`,
    `batch_size`) are those of `ClientConfig`. Safe to share between threads.
    """

    def __init__(self, base_url: str, *, client_id: str | None = None, client_secret: str | None = None,
                 token: str | None = None, scope: str | None = None, **options: Any) -> None:
        self.config = ClientConfig(base_url=base_url, **options)
        self._tokens = auth.token_cache(client_id, client_secret, token, scope)
        self._token_lock = threading.Lock()
        self._endpoints = Endpoints(self.config)
        self._http = httpx.Client(base_url=self.config.base_url, timeout=self.config.timeout,
                                  headers={"user-agent": self.config.user_agent})

    @classmethod
    def from_env(cls, **options: Any) -> Client:
        """Connect as `kbi` does: KBI_URL, and KBI_CLIENT_ID + KBI_CLIENT_SECRET (or KBI_TOKEN)."""
        return cls(**environment_options(), **options)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # jobs

    def submit_job(self, knowledge_base_id: str, data: Any = None, *, file: str | Path | None = None,
                   adapter: str = "generic-json", options: dict[str, Any] | None = None,
                   idempotency_key: str | None = None) -> Accepted:
        """Submit `data` as JSON, or `file` (a JSON file) as a multipart upload streamed from disk.

        Every submission carries an Idempotency-Key (a new UUID unless given), so the
        retries after a dropped connection can never create a second job.
        """
        if (data is None) == (file is None):
            raise ValueError("give either data or file")
        if file is not None:
            return self._run(self._endpoints.submit_file(str(knowledge_base_id), Path(file), adapter=adapter,
                                                         options=options, idempotency_key=idempotency_key))
        return self._run(self._endpoints.submit_data(str(knowledge_base_id), data, adapter=adapter, options=options,
                                                     idempotency_key=idempotency_key))

    def submit_records(self, knowledge_base_id: str, records: Iterable[Any], *, batch_size: int | None = None,
                       adapter: str = "generic-json", options: dict[str, Any] | None = None,
                       envelope: Envelope | None = None, idempotency_prefix: str | None = None,
                       on_submitted: submission.OnSubmitted | None = None) -> list[str]:
        """Split `records` into jobs of at most `batch_size` records and `max_body_bytes`; return the job ids."""
        return self._run(submission.submit_records(
            self._endpoints, str(knowledge_base_id), records, adapter=adapter, batch_size=batch_size, options=options,
            envelope=envelope, idempotency_prefix=idempotency_prefix, on_submitted=on_submitted))

    def get_job(self, job_id: str, *, include_payload: bool = False) -> Job:
        return self._run(self._endpoints.get_job(job_id, include_payload=include_payload))

    def list_jobs(self, *, status: str | None = None, limit: int = 20, offset: int = 0, start_date: str | None = None,
                  end_date: str | None = None, include_payload: bool = False) -> Page[Job]:
        """One page of jobs, newest first; `iter_jobs` follows the pages."""
        return self._run(self._endpoints.list_jobs(status=status, limit=limit, offset=offset, start_date=start_date,
                                                   end_date=end_date, include_payload=include_payload))

    def iter_jobs(self, *, status: str | None = None, start_date: str | None = None, end_date: str | None = None) -> Iterator[Job]:
        return self._pages(lambda at: self._endpoints.list_jobs(
            status=status, start_date=start_date, end_date=end_date, limit=100, offset=at.offset), Offset())

    def iter_results(self, job_id: str, *, status: str | None = None, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Every per-record result of a finished job (`status="failed"` for the failures), page after page."""
        return self._pages(lambda at: self._endpoints.results(
            job_id, status=status, limit=page_size, offset=at.offset, after=at.after), ResultPosition())

    def cancel_job(self, job_id: str) -> None:
        """Cancel a pending or processing job; `Conflict` if it has already finished."""
        self._run(self._endpoints.cancel_job(job_id))

    def wait(self, job_id: str, *, timeout: float | None = None, on_progress: Callable[[Job], None] | None = None,
             polling: Backoff | None = None) -> Job:
        """The completed job; `JobFailed`/`JobCancelled` otherwise, `WaitTimeout` (with its last progress) on timeout."""
        return self.wait_all([job_id], timeout=timeout, on_progress=on_progress, polling=polling)[0]

    def wait_all(self, job_ids: Sequence[str], *, timeout: float | None = None,
                 on_progress: Callable[[Job], None] | None = None, polling: Backoff | None = None,
                 raise_on_failure: bool = True) -> list[Job]:
        """Every job's final state, in the order given; raises for the first failed or cancelled one unless told not to."""
        return self._run(wait_for_jobs(self._endpoints, job_ids, timeout=timeout, on_progress=on_progress,
                                       polling=polling, raise_on_failure=raise_on_failure))

    def list_adapters(self) -> list[dict[str, Any]]:
        return self._run(self._endpoints.list_adapters())

    # knowledge bases

    def create_knowledge_base(self, name: str, description: str | None = None) -> KnowledgeBase:
        return self._run(self._endpoints.create_knowledge_base(name, description))

    def get_knowledge_base(self, knowledge_base_id: str) -> KnowledgeBase:
        return self._run(self._endpoints.get_knowledge_base(knowledge_base_id))

    def iter_knowledge_bases(self) -> Iterator[KnowledgeBase]:
        return self._pages(lambda at: self._endpoints.list_knowledge_bases(offset=at.offset), Offset())

    def ensure_knowledge_base(self, name: str, description: str | None = None) -> KnowledgeBase:
        """The knowledge base named `name`, created if there is none: a migration can simply be run again."""
        existing = next((kb for kb in self.iter_knowledge_bases() if kb.name == name.strip()), None)
        return existing or self.create_knowledge_base(name, description)

    def iter_entries(self, knowledge_base_id: str, *, source_id: str | None = None) -> Iterator[dict[str, Any]]:
        return self._pages(lambda at: self._endpoints.entries(knowledge_base_id, source_id=source_id, offset=at.offset), Offset())

    # running operations

    def _pages(self, page_at: Callable[[Any], Operation[Page[T]]], start: Position) -> Iterator[T]:
        position: Position | None = start
        while position is not None:
            page = self._run(page_at(position))
            fresh = position.fresh(page)
            yield from fresh
            position = position.past(page, fresh)

    def _run(self, operation: Operation[T]) -> T:
        """Drive `operation` to its end; if anything outside it raises, it is closed (its files too)."""
        try:
            outcome = step(operation)
            while not isinstance(outcome, Done):
                try:
                    value, error = self._perform(outcome), None
                except (httpx.TransportError, errors.KbClientError) as exc:
                    # Into the operation, also the client's own errors (a token renewal
                    # refused): an operation that reports progress, like submit_records, says what it had done.
                    value, error = None, exc
                outcome = step(operation, value, error)
            return outcome.value
        finally:
            operation.close()

    def _perform(self, action: Action) -> Any:
        if isinstance(action, Send):
            kwargs = action.call.request_kwargs()
            if action.call.authenticated and (header := self._authorization()):
                kwargs["headers"]["authorization"] = header
            with ExitStack() as stack:
                if action.call.file is not None:
                    upload = stack.enter_context(action.call.file.open("rb"))
                    kwargs["files"] = {"data": (action.call.file.name, upload, "application/json")}
                return self._http.request(action.call.method, action.call.path, **kwargs)
        if isinstance(action, Sleep):
            time.sleep(action.seconds)
            return None
        return self._tokens.discard(action.refused)

    def _authorization(self) -> str | None:
        header = self._tokens.current()
        if header is not None or not self._tokens.renewable:
            return header
        with self._token_lock:
            header = self._tokens.current()
            if header is None:
                response = self._run(self._endpoints.send(auth.token_call(self._tokens.credentials)))  # type: ignore[arg-type]
                header = self._tokens.store(response)
            return header

