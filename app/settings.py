"""Configuration: the only module that reads the environment.

Tests build `Settings(...)` directly; everything else receives a Settings instance.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

MB = 1024 * 1024


class ConfigurationError(Exception):
    """The environment asks for something the service cannot run with."""


def _normalize_database_url(url: str) -> str:
    """Operators paste `postgres://` or `postgresql://`; SQLAlchemy needs the psycopg 3 driver named."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str | None = None
    redis_url: str | None = None
    broker_url: str | None = None
    data_dir: Path = Path("data")
    redis_namespace: str = "kb-ingest"
    batch_size: int = 500
    max_body_bytes: int = 30 * MB
    # A job's body that stops arriving for this long is answered 408 (0: wait for ever).
    body_idle_timeout_seconds: int = 60
    max_records_per_job: int = 100_000
    max_record_fields: int = 200
    max_field_bytes: int = 5 * MB
    max_record_bytes: int = 10 * MB
    idempotency_key_ttl: int = 24 * 3600
    rate_limit_per_minute: int = 600
    results_sample_size: int = 20
    embedded_worker_threads: int = 2
    message_retries: int = 10
    # Reliability (docs/reliability.md): a batch is started at most this many times, whatever
    # ends each try (an error, or its worker process dying), before its job fails.
    max_batch_attempts: int = 5
    sweep_interval_seconds: int = 30
    # A started or sent batch whose job shows no progress for this long is sent again.
    stall_timeout_seconds: int = 300
    # Dramatiq's Redis broker redelivers a dead worker's messages once its heartbeat is this
    # old, checked on `maintenance_chance` out of a million broker commands.
    redis_heartbeat_timeout_ms: int = 60_000
    redis_maintenance_chance: int = 1000
    worker_niceness: int = 10
    log_level: str = "INFO"
    log_json: bool = True
    secret_key: str | None = field(default=None, repr=False)
    access_token_lifetime: int = 3600
    bootstrap_client: bool | None = None
    secret_hash_cost: int = 15

    @property
    def embedded(self) -> bool:
        """No broker configured: run a Dramatiq worker inside the API process."""
        return not (self.redis_url or self.broker_url)

    def check_deployment(self) -> None:
        """A broker means separate worker processes, which must share the API's database:
        without DATABASE_URL each process would open a SQLite file of its own (an API
        whose jobs no worker sees, or a worker on an empty, unmigrated database)."""
        if not self.embedded and not self.database_url:
            raise ConfigurationError(
                "REDIS_URL (or BROKER_URL) is set but DATABASE_URL is not: the API and its "
                "worker processes must share one PostgreSQL database; set DATABASE_URL, or unset "
                "both for the embedded mode"
            )

    @property
    def sqlite_file(self) -> Path:
        """The embedded mode's database, when no DATABASE_URL is set."""
        return self.data_dir / "kb-ingest.db"

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return _normalize_database_url(self.database_url)
        return f"sqlite:///{self.sqlite_file.resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, f.type, raw)
        return cls(**values)


def _coerce(name: str, kind: object, raw: str) -> object:
    kind = str(kind).removesuffix(" | None")
    try:
        if kind == "int":
            value = int(raw)
            if value < 0:
                raise ValueError
            return value
        if kind == "bool":
            if raw.lower() not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError
            return raw.lower() in {"1", "true", "yes"}
        if kind == "Path":
            return Path(raw)
    except ValueError:
        raise ConfigurationError(f"{name.upper()}={raw!r} is not a valid {kind}") from None
    return raw
