"""One operation per API endpoint: the call it makes and what its answer becomes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import quote

import httpx

from kb_client import batching, errors
from kb_client.config import API_PREFIX, ClientConfig
from kb_client.models import Accepted, Job, KnowledgeBase
from kb_client.protocol import Call, Operation
from kb_client.transport import exchange

JOBS = f"{API_PREFIX}/data-ingestion/jobs"
KNOWLEDGE_BASES = f"{API_PREFIX}/knowledge-bases"
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Page(Generic[T]):
    total: int
    offset: int
    items: list[T]

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts, or None after the last one."""
        end = self.offset + len(self.items)
        return end if self.items and end < self.total else None


class Position(Protocol):
    """Where a listing's next page starts, and which of a page's items are new."""

    offset: int

    def fresh(self, page: Page[Any]) -> list[Any]: ...

    def past(self, page: Page[Any], fresh: list[Any]) -> Position | None: ...


@dataclass(frozen=True)
class Offset:
    """Pages by offset, until the page's total is reached."""

    offset: int = 0

    def fresh(self, page: Page[Any]) -> list[Any]:
        return page.items

    def past(self, page: Page[Any], fresh: list[Any]) -> Offset | None:
        following = page.next_offset
        return Offset(following) if following is not None else None


@dataclass(frozen=True)
class ResultPosition:
    """Where the next page of a job's results starts: after the last record index seen
    (each page a cheap range scan, none repeated), or at an offset, from a server whose
    results carry no `recordIndex` or which does not take `after` (it answers from the
    start again). The last page is the first to bring nothing new: a page shorter than
    asked for may only mean the server gives fewer per page."""

    after: int | None = None
    offset: int = 0
    seen: int = 0
    by_offset: bool = False

    def fresh(self, page: Page[dict]) -> list[dict]:
        """The page's results not yet seen."""
        if self.after is None:
            return page.items
        return [item for item in page.items if (index := _record_index(item)) is None or index > self.after]

    def past(self, page: Page[dict], fresh: list[dict]) -> ResultPosition | None:
        """The position after `page`, of which `fresh` were new, or None after the last page."""
        seen = self.seen + len(fresh)
        if not page.items or (self.by_offset and not fresh):
            return None
        if not fresh:  # answered from the start again: `after` not taken
            return ResultPosition(offset=seen, seen=seen, by_offset=True)
        last = _record_index(fresh[-1])
        if last is not None and not self.by_offset:
            return ResultPosition(after=last, seen=seen)
        following = self.offset + len(page.items)
        return ResultPosition(offset=following, seen=seen, by_offset=True) if following < page.total else None


def _record_index(item: dict) -> int | None:
    index = item.get("recordIndex")
    return index if isinstance(index, int) and not isinstance(index, bool) else None


def job_path(job_id: str) -> str:
    return f"{JOBS}/{quote(str(job_id), safe='')}"


def kb_path(knowledge_base_id: str) -> str:
    return f"{KNOWLEDGE_BASES}/{quote(str(knowledge_base_id), safe='')}"


class Endpoints:
    def __init__(self, config: ClientConfig) -> None:
        self.config = config

    def send(self, call: Call) -> Operation[httpx.Response]:
        return exchange(call, self.config.retry)

    def json(self, call: Call) -> Operation[Any]:
        response = yield from self.send(call)
        return response.json()

    def submit(self, *, body: bytes | None = None, form: dict[str, str] | None = None, file: Path | None = None,
               idempotency_key: str | None = None) -> Operation[Accepted]:
        """POST a job; the Idempotency-Key makes resending safe, so even a dropped connection is retried."""
        key = idempotency_key or str(uuid.uuid4())
        call = Call(method="POST", path=JOBS, content=body, form=form, file=file, headers={"idempotency-key": key})
        response = yield from self.send(call)
        data = response.json()
        replayed = response.headers.get("idempotent-replayed", "").lower() == "true"
        return Accepted(job_id=str(data["jobId"]), status=data["status"], idempotency_key=key, replayed=replayed)

    def submit_data(self, knowledge_base_id: str, data: Any, *, adapter: str, options: dict[str, Any] | None,
                    idempotency_key: str | None) -> Operation[Accepted]:
        body: dict[str, Any] = {"adapterType": adapter, "knowledgeBaseId": str(knowledge_base_id), "data": data}
        if options is not None:
            body["options"] = options
        return self.submit(body=batching.encode(body), idempotency_key=idempotency_key)

    def submit_file(self, knowledge_base_id: str, file: Path, *, adapter: str, options: dict[str, Any] | None,
                    idempotency_key: str | None) -> Operation[Accepted]:
        """Multipart with the file as the `data` part, streamed from disk on every attempt."""
        size = Path(file).stat().st_size
        if size > self.config.max_body_bytes:
            message = f"{file} is {size} bytes, over the {self.config.max_body_bytes}-byte request limit"
            raise errors.PayloadTooLarge(413, message + errors.TOO_LARGE_HINT)
        form = {"adapterType": adapter, "knowledgeBaseId": str(knowledge_base_id)}
        if options is not None:
            form["options"] = batching.encode(options).decode()
        return self.submit(form=form, file=Path(file), idempotency_key=idempotency_key)

    def job_response(self, job_id: str, *, include_payload: bool = False) -> Operation[httpx.Response]:
        """The raw answer, whose headers polling reads for a `Retry-After` hint."""
        return self.send(Call(method="GET", path=job_path(job_id), params={"includePayload": include_payload or None}))

    def get_job(self, job_id: str, *, include_payload: bool = False) -> Operation[Job]:
        response = yield from self.job_response(job_id, include_payload=include_payload)
        return Job.from_json(response.json())

    def list_jobs(self, *, status: str | None = None, limit: int = 20, offset: int = 0, start_date: str | None = None,
                  end_date: str | None = None, include_payload: bool = False) -> Operation[Page[Job]]:
        params = {"status": status, "limit": limit, "offset": offset, "startDate": start_date, "endDate": end_date,
                  "includePayload": include_payload or None}
        data = yield from self.json(Call(method="GET", path=JOBS, params=params))
        return Page(total=data["total"], offset=offset, items=[Job.from_json(j) for j in data["jobs"]])

    def results(self, job_id: str, *, status: str | None = None, limit: int = 1000, offset: int = 0,
                after: int | None = None) -> Operation[Page[dict]]:
        params = {"status": status, "limit": limit, "offset": offset, "after": after}
        data = yield from self.json(Call(method="GET", path=f"{job_path(job_id)}/results", params=params))
        return Page(total=data["total"], offset=offset, items=data["results"])

    def cancel_job(self, job_id: str) -> Operation[None]:
        yield from self.send(Call(method="DELETE", path=job_path(job_id)))

    def list_adapters(self) -> Operation[list[dict[str, Any]]]:
        return (yield from self.json(Call(method="GET", path=f"{API_PREFIX}/data-ingestion/adapters")))

    def create_knowledge_base(self, name: str, description: str | None = None) -> Operation[KnowledgeBase]:
        """Not replayable: a resent create after a lost answer could make a second knowledge base."""
        body = batching.encode({"name": name, "description": description})
        data = yield from self.json(Call(method="POST", path=KNOWLEDGE_BASES, content=body, replayable=False))
        return KnowledgeBase.from_json(data)

    def list_knowledge_bases(self, *, limit: int = 100, offset: int = 0) -> Operation[Page[KnowledgeBase]]:
        data = yield from self.json(Call(method="GET", path=KNOWLEDGE_BASES, params={"limit": limit, "offset": offset}))
        return Page(total=data["total"], offset=offset, items=[KnowledgeBase.from_json(k) for k in data["knowledgeBases"]])

    def get_knowledge_base(self, knowledge_base_id: str) -> Operation[KnowledgeBase]:
        return KnowledgeBase.from_json((yield from self.json(Call(method="GET", path=kb_path(knowledge_base_id)))))

    def entries(self, knowledge_base_id: str, *, limit: int = 100, offset: int = 0,
                source_id: str | None = None) -> Operation[Page[dict]]:
        params = {"limit": limit, "offset": offset, "sourceId": source_id}
        data = yield from self.json(Call(method="GET", path=f"{kb_path(knowledge_base_id)}/entries", params=params))
        return Page(total=data["total"], offset=offset, items=data["entries"])
