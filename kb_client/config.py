"""Everything a client is configured with, shared by the sync and the async client."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kb_client.backoff import POLLING, Backoff
from kb_client.transport import RetryPolicy

MB = 1024 * 1024
API_PREFIX = "/api/v2"


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """The server's limits (`max_body_bytes`, `max_records_per_job`) default to the service's defaults.

    Set them to your deployment's MAX_BODY_BYTES and MAX_RECORDS_PER_JOB when those differ.
    """

    base_url: str
    timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    polling: Backoff = POLLING
    max_body_bytes: int = 30 * MB
    max_records_per_job: int = 100_000
    batch_size: int = 1_000
    user_agent: str = "kb-client/0.1"

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", service_root(self.base_url))
        if self.batch_size < 1 or self.max_records_per_job < 1 or self.max_body_bytes < 1:
            raise ValueError("batch_size, max_records_per_job and max_body_bytes must be positive")


def service_root(url: str) -> str:
    """Accept the service's root or its `/api/v2` URL; calls are made with full `/api/v2/...` paths."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"The service URL must start with http:// or https://, got {url!r}")
    return url[: -len(API_PREFIX)] if url.endswith(API_PREFIX) else url


ENVIRONMENT = {"KBI_URL": "base_url", "KBI_CLIENT_ID": "client_id", "KBI_CLIENT_SECRET": "client_secret",
               "KBI_TOKEN": "token", "KBI_SCOPE": "scope"}


def environment_options(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The client's connection settings from the same `KBI_*` variables the `kbi` command reads."""
    env = os.environ if environ is None else environ
    options = {name: env[var] for var, name in ENVIRONMENT.items() if env.get(var)}
    if "base_url" not in options:
        raise ValueError("KBI_URL is not set: it must name the service, e.g. https://kb.example.com")
    return options
