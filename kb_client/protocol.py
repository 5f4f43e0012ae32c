"""The client's operations are written once, as generators that yield what they need done.

An operation yields `Send(call)` (and receives the `httpx.Response`, or has the transport
error thrown into it), `Sleep(seconds)`, or `RenewToken(refused)`; it returns its result.
`sync.Client` runs these with `httpx.Client` and `time.sleep`, `aio.AsyncClient` with
`httpx.AsyncClient` and `anyio.sleep`. Retries, token renewal, polling and batching
therefore exist once, with no I/O in them, for both clients.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Call:
    """One HTTP request, described; `replayable` says resending it cannot do the work twice."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    content: bytes | None = None
    form: Mapping[str, str] | None = None
    file: Path | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    authenticated: bool = True
    replayable: bool = True

    def request_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client.build_request` (a file is opened by the driver)."""
        params = {k: _param(v) for k, v in (self.params or {}).items() if v is not None}
        headers = dict(self.headers)
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if self.content is not None:
            kwargs["content"] = self.content
            headers.setdefault("content-type", "application/json")
        if self.form is not None:
            kwargs["data"] = dict(self.form)
        return kwargs


def _param(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


@dataclass(frozen=True)
class Send:
    call: Call


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class RenewToken:
    """The token in `refused` (an Authorization header value) was refused: get a new one, once."""

    refused: str | None


Action = Send | Sleep | RenewToken
Operation = Generator[Action, Any, T]


@dataclass(frozen=True)
class Done:
    value: Any


def step(operation: Operation[Any], value: Any = None, error: BaseException | None = None) -> Action | Done:
    """Advance `operation` by one step; a finished operation's result comes back wrapped in `Done`."""
    try:
        return operation.throw(error) if error is not None else operation.send(value)
    except StopIteration as stop:
        return Done(stop.value)

