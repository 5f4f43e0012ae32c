"""Configuration: the only module that reads the environment.

Tests build `Settings(...)` directly; everything else receives a Settings instance.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MB = 1024 * 1024


class ConfigurationError(Exception):
    """The environment asks for something the service cannot run with."""


# What each URL setting may start with, and an example for the message refusing another.
POSTGRES_SCHEMES = ("postgres", "postgresql", "postgresql+psycopg")
REDIS_SCHEMES = ("redis", "rediss", "unix")
RABBITMQ_SCHEMES = ("amqp", "amqps")
_URLS = {
    "database_url": (
        POSTGRES_SCHEMES,
        "a PostgreSQL URL such as postgresql://user:password@host:5432/database (unset it for the embedded SQLite file)",
    ),
    "redis_url": (REDIS_SCHEMES, "a Redis URL such as redis://host:6379/0 (rediss:// and unix:// too)"),
    "broker_url": (
        RABBITMQ_SCHEMES + REDIS_SCHEMES,
        "a RabbitMQ URL such as amqp://user:password@host:5672/vhost (amqps:// too) or a Redis one (redis://, rediss://, unix://)",
    ),
}


def _normalize_database_url(url: str) -> str:
    """Operators paste `postgres://` or `postgresql://`; SQLAlchemy needs the psycopg 3 driver named."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _ranged(default: int, least: int, most: int, *, zero: str | None = None) -> Any:
    """An integer setting and the values it allows, checked whenever Settings is built and
    documented in the README's configuration table; `zero` says what 0 means, when allowed."""
    return field(default=default, metadata={"range": (least, most), "zero": zero})


def allowed_range(setting: Field[Any]) -> tuple[int, int] | None:
    return setting.metadata.get("range")


@dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str | None = None
    redis_url: str | None = None
    broker_url: str | None = None
    data_dir: Path = Path("data")
    redis_namespace: str = "kb-ingest"
    # Batches are also cut at MAX_BATCH_BYTES (4 MB); 0 would never cut one for its records.
    batch_size: int = _ranged(500, 1, 100_000)
    # 1 GB: PostgreSQL's largest value (a payload whose records are not found is stored whole).
    max_body_bytes: int = _ranged(30 * MB, 1, 1024 * MB)
    # A request body that stops arriving for this long is answered 408 (0: wait for ever).
    body_idle_timeout_seconds: int = _ranged(60, 0, 3600, zero="waits for ever")
    max_records_per_job: int = _ranged(100_000, 1, 10_000_000)
    max_record_fields: int = _ranged(200, 1, 100_000)
    max_field_bytes: int = _ranged(5 * MB, 1, 1024 * MB)
    max_record_bytes: int = _ranged(10 * MB, 1, 1024 * MB)
    # Under a minute a client's retry could find its key gone and run the request twice.
    idempotency_key_ttl: int = _ranged(24 * 3600, 60, 365 * 24 * 3600)
    rate_limit_per_minute: int = _ranged(600, 0, 2**31 - 1, zero="switches it off")
    results_sample_size: int = _ranged(20, 0, 1000, zero="includes none")
    # 0 would take no job, ever; SQLite has one writer, so many threads only wait on each other.
    embedded_worker_threads: int = _ranged(2, 1, 32)
    message_retries: int = _ranged(10, 0, 100, zero="fails the job at a batch's first error")
    # Reliability (docs/reliability.md): a batch is started at most this many times, whatever
    # ends each try (an error, or its worker process dying), before its job fails.
    max_batch_attempts: int = _ranged(5, 1, 100)
    # 0 would sweep in a loop without a pause: a core's worth of CPU on an idle server.
    sweep_interval_seconds: int = _ranged(30, 1, 3600)
    # A started or sent batch whose job shows no progress for this long is sent again.
    stall_timeout_seconds: int = _ranged(300, 1, 7 * 24 * 3600)
    # Dramatiq's Redis broker redelivers a dead worker's messages once its heartbeat is this
    # old, checked on `maintenance_chance` out of a million broker commands.
    redis_heartbeat_timeout_ms: int = _ranged(60_000, 1000, 24 * 3600 * 1000)
    redis_maintenance_chance: int = _ranged(1000, 1, 1_000_000)
    # The kernel's range of nice values above the default.
    worker_niceness: int = _ranged(10, 0, 19, zero="keeps full priority")
    log_level: str = "INFO"
    log_json: bool = True
    secret_key: str | None = field(default=None, repr=False)
    access_token_lifetime: int = _ranged(3600, 1, 365 * 24 * 3600)
    bootstrap_client: bool | None = None
    # scrypt's memory is 1 KB << cost: 32 MB at 15, 512 MB at 19 (the most hashlib.scrypt
    # accepts; 4.3 s a hash on the bench machine), and every token request hashes once.
    # Below 14 only for tests (they use 4).
    secret_hash_cost: int = _ranged(15, 4, 19)

    def __post_init__(self) -> None:
        for setting in fields(self):
            _check_range(setting, getattr(self, setting.name))
        _check_log_level(self.log_level)
        for name, (schemes, example) in _URLS.items():
            url = getattr(self, name)
            if url:
                _check_url(name.upper(), url, schemes, example)

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
            return int(raw)
        if kind == "bool":
            if raw.lower() not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError
            return raw.lower() in {"1", "true", "yes"}
        if kind == "Path":
            return Path(raw)
    except ValueError:
        raise ConfigurationError(f"{name.upper()}={raw!r} is not a valid {kind}") from None
    return raw


def _check_range(setting: Field[Any], value: object) -> None:
    bounds = allowed_range(setting)
    if bounds is None or not isinstance(value, int):
        return
    least, most = bounds
    if not least <= value <= most:
        zero = setting.metadata["zero"]
        meaning = f" (0 {zero})" if zero else ""
        raise ConfigurationError(f"{setting.name.upper()}={value} is out of range: it must be from {least} to {most}{meaning}")


def _check_log_level(level: str) -> None:
    """Python's level names, in any case (app/logs.py upper-cases them)."""
    if level.upper() not in logging.getLevelNamesMapping():
        raise ConfigurationError(f"LOG_LEVEL={level!r} is not a log level: use DEBUG, INFO, WARNING, ERROR or CRITICAL")


def _check_url(name: str, url: str, schemes: tuple[str, ...], example: str) -> None:
    """The scheme and the port only: the driver finds the rest when it connects. The message
    never repeats the URL, which may hold a password."""
    scheme, separator, _ = url.partition("://")
    if not separator or not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9+.-]*", scheme):
        found = "it has no scheme"
    elif scheme.lower() not in schemes:
        found = f"it starts with {scheme}://"
    else:
        try:
            _port(name, url)
        except ValueError:
            found = "its host or port is malformed"
        else:
            return
    raise ConfigurationError(f"{name} must be {example}; {found}")


def _port(name: str, url: str) -> int | None:
    """The port, read as the URL's own client reads it: SQLAlchemy's make_url takes a
    password holding `/`, `#` or `?` (base64 secrets often do), where urlsplit ends the
    host there and refused a DATABASE_URL that connects; redis-py and pika use urlsplit."""
    if name == "DATABASE_URL":
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            return make_url(url).port
        except ArgumentError as error:
            raise ValueError(str(error)) from None
    return urlsplit(url).port
