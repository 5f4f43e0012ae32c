"""Where `kbi` finds its settings: flags, then environment variables, then a TOML config file.

The config file is `--config`, `$KBI_CONFIG` or `$XDG_CONFIG_HOME/kbi/config.toml`; its
top-level keys are the defaults and `[profiles.NAME]` tables override them for
`--profile NAME` (or `$KBI_PROFILE`). Its keys are the fields of `CliSettings`, each named
as its flag is (`--http-timeout` is `http_timeout`); the README lists them:

    url = "https://kb.example.com"
    client_id = "3f0c9a52-6d1e-4b7a-9c2e-8a41d5f07b13"   # as `kb-ingest clients create` printed it
    client_secret = "..."
    http_timeout = 30

    [profiles.staging]
    url = "https://kb.staging.example.com"
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import click

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True, kw_only=True)
class CliSettings:
    url: str = DEFAULT_URL
    client_id: str | None = None
    client_secret: str | None = None
    token: str | None = None
    scope: str | None = None
    http_timeout: float = 60.0
    max_body_bytes: int | None = None
    max_records_per_job: int | None = None

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for `Client`: unset limits keep the client's defaults."""
        options: dict[str, Any] = {"client_id": self.client_id, "client_secret": self.client_secret, "token": self.token,
                                   "scope": self.scope, "timeout": self.http_timeout}
        for name in ("max_body_bytes", "max_records_per_job"):
            if getattr(self, name) is not None:
                options[name] = getattr(self, name)
        return options


def env_var(name: str) -> str:
    return f"KBI_{name.upper()}"


def default_config_path(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "kbi" / "config.toml"


def load(flags: Mapping[str, Any], *, config: Path | None, profile: str | None,
         environ: Mapping[str, str] = os.environ) -> CliSettings:
    """Flags win over the file, the file over defaults; click has already put `KBI_*` variables into `flags`."""
    from_file = _read_file(config or default_config_path(environ), profile, required=config is not None)
    # How to authenticate is one choice: a token given by flag or environment replaces the
    # file's client credentials, and credentials given so replace the file's token.
    if flags.get("token") is not None:
        from_file = {k: v for k, v in from_file.items() if k not in ("client_id", "client_secret")}
    if flags.get("client_id") is not None or flags.get("client_secret") is not None:
        from_file = {k: v for k, v in from_file.items() if k != "token"}
    values: dict[str, Any] = {}
    for f in fields(CliSettings):
        value = flags.get(f.name)
        if value is None:
            value = from_file.get(f.name)
        if value is not None:
            values[f.name] = _typed(f.name, value)
    return CliSettings(**values)


def _read_file(path: Path, profile: str | None, *, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required or profile:
            raise click.UsageError(f"config file {path} does not exist")
        return {}
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise click.UsageError(f"config file {path}: {error}") from None
    values = _named(path, "", {k: v for k, v in document.items() if k != "profiles"})
    if profile:
        profiles = document.get("profiles", {})
        if not isinstance(profiles, dict) or not isinstance(profiles.get(profile), dict):
            raise click.UsageError(f"config file {path} has no [profiles.{profile}]")
        values.update(_named(path, f"[profiles.{profile}] ", profiles[profile]))
    unknown = set(values) - {f.name for f in fields(CliSettings)}
    if unknown:
        raise click.UsageError(f"config file {path}: unknown keys {', '.join(sorted(unknown))} "
                               f"(known: {', '.join(f.name for f in fields(CliSettings))})")
    return values


# Older names of keys, still read: `timeout` was the only name of `http_timeout`.
ALIASES = {"timeout": "http_timeout"}


def _named(path: Path, table: str, values: dict[str, Any]) -> dict[str, Any]:
    """One table's keys by their current names (each table on its own, so a profile's overrides the top level's)."""
    named = dict(values)
    for old, new in ALIASES.items():
        if old in named:
            if new in named:
                raise click.UsageError(f"config file {path}: {table}sets both {old} and {new}, one setting; keep {new}")
            named[new] = named.pop(old)
    return named


def _typed(name: str, value: Any) -> Any:
    kinds = {"http_timeout": float, "max_body_bytes": int, "max_records_per_job": int}
    try:
        return kinds.get(name, str)(value)
    except (TypeError, ValueError):
        raise click.UsageError(f"{name} must be a number, got {value!r}") from None
