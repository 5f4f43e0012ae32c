"""What the client returns: small frozen views over the service's JSON, with the JSON kept in `raw`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERMINAL = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True, kw_only=True)
class Progress:
    processed: int = 0
    total: int = 0
    successful: int = 0
    failed: int = 0
    skipped: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Progress:
        return cls(**{name: int(data.get(name) or 0) for name in ("processed", "total", "successful", "failed", "skipped")})

    def __str__(self) -> str:
        return (f"{self.processed}/{self.total} processed, {self.successful} successful, "
                f"{self.failed} failed, {self.skipped} skipped")


@dataclass(frozen=True, kw_only=True)
class Job:
    id: str
    status: str
    knowledge_base_id: str | None
    adapter_type: str | None
    progress: Progress
    error: str | None
    created_at: str | None
    started_at: str | None
    completed_at: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def summary(self) -> dict[str, Any]:
        """The job's `result` block: entriesCreated, entriesUpdated, entriesSkipped, entriesDeleted, error."""
        return self.raw.get("result") or {}

    @property
    def payload(self) -> Any:
        """The submitted `data`, present only when fetched with `include_payload=True`."""
        return self.raw.get("payload")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        job_data = data.get("data") or {}
        return cls(
            id=str(data["id"]),
            status=str(data["status"]),
            knowledge_base_id=data.get("knowledgeBaseId"),
            adapter_type=job_data.get("adapterType"),
            progress=Progress.from_json(job_data.get("progress") or {}),
            error=(data.get("result") or {}).get("error"),
            created_at=data.get("created_at"),
            started_at=data.get("started_at"),
            completed_at=data.get("completed_at"),
            raw=data,
        )


@dataclass(frozen=True, kw_only=True)
class Accepted:
    """A submission the service took: `replayed` when it answered an earlier one with the same key."""

    job_id: str
    status: str
    idempotency_key: str
    replayed: bool = False


@dataclass(frozen=True, kw_only=True)
class JobPage:
    total: int
    jobs: list[Job]


@dataclass(frozen=True, kw_only=True)
class KnowledgeBase:
    id: str
    name: str
    description: str | None
    entry_count: int
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KnowledgeBase:
        return cls(id=str(data["id"]), name=data["name"], description=data.get("description"),
                   entry_count=int(data.get("entryCount") or 0), raw=data)
