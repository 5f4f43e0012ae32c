"""The `kbi` command group: global options, the client it builds, and how errors become exit codes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from kb_client import errors
from kb_client.cli import config, exit_codes
from kb_client.cli.output import Output
from kb_client.sync import Client

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class State:
    settings: config.CliSettings = field(default_factory=config.CliSettings)
    json: bool = False
    _client: Client | None = field(default=None, repr=False)

    @property
    def client(self) -> Client:
        if self._client is None:
            try:
                self._client = Client(self.settings.url, **self.settings.client_options())
            except ValueError as error:
                raise click.UsageError(str(error)) from None
        return self._client

    def output(self, as_json: bool) -> Output:
        """The command's output; a command's own `--json` also makes its errors JSON."""
        self.json = self.json or as_json
        return Output(as_json=self.json)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def json_option(command: F) -> F:
    """`--json` on every command, as well as before the command name."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of tables.")(command)


class KbiGroup(click.Group):
    """Turns the client's typed errors into messages and the documented exit codes, and makes
    every error JSON on stderr when `--json` is given (before the command name or after it)."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        arguments = list(args)
        try:
            ctx = super().make_context(info_name, args, parent, **extra)
        except click.ClickException as error:  # kbi's own options: a bad flag, or a bad KBI_* variable
            if not _asks_for_json(arguments):
                raise
            _json_error(error)
            raise click.exceptions.Exit(error.exit_code) from None
        ctx.meta[_ARGUMENTS] = arguments
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except errors.KbClientError as error:
            Output(as_json=_wants_json(ctx)).error(str(error), kind=type(error).__name__, status=getattr(error, "status", None))
            ctx.exit(_exit_code(error))
        except click.ClickException as error:  # a usage error, raised by click or by a command
            if not _wants_json(ctx):
                raise
            _json_error(error)
            ctx.exit(error.exit_code)


_ARGUMENTS = "kbi.arguments"


def _wants_json(ctx: click.Context) -> bool:
    """`--json` was given: parsed, or, when parsing the command's arguments failed, among them."""
    state = ctx.find_object(State)
    return bool(state and state.json) or _asks_for_json(ctx.meta.get(_ARGUMENTS, []))


def _asks_for_json(arguments: list[str]) -> bool:
    return "--json" in (arguments[: arguments.index("--")] if "--" in arguments else arguments)


def _json_error(error: click.ClickException) -> None:
    kind = "UsageError" if isinstance(error, click.UsageError) else type(error).__name__
    Output(as_json=True).error(error.format_message(), kind=kind)


# Faults of the input, not of the service: exit 2, as a bad input file is documented.
_INPUT_ERRORS = (errors.InvalidRecord, errors.RecordTooLarge)


def _exit_code(error: errors.KbClientError) -> int:
    if isinstance(error, _INPUT_ERRORS) or (isinstance(error, errors.BatchSubmissionFailed) and isinstance(error.cause, _INPUT_ERRORS)):
        return exit_codes.USAGE
    if isinstance(error, errors.JobFailed):
        return exit_codes.FAILED
    if isinstance(error, errors.JobCancelled):
        return exit_codes.CANCELLED
    if isinstance(error, errors.WaitTimeout):
        return exit_codes.TIMEOUT
    return exit_codes.ERROR


@click.group(cls=KbiGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--url", envvar="KBI_URL", show_envvar=True, help=f"Service URL [default: {config.DEFAULT_URL}]")
@click.option("--client-id", envvar="KBI_CLIENT_ID", show_envvar=True, help="OAuth client id (client-credentials).")
@click.option("--client-secret", envvar="KBI_CLIENT_SECRET", show_envvar=True, help="OAuth client secret.")
@click.option("--token", envvar="KBI_TOKEN", show_envvar=True, help="A ready access token, instead of client credentials.")
@click.option("--scope", envvar="KBI_SCOPE", show_envvar=True, help="Scopes to ask the token for.")
@click.option("--http-timeout", type=float, envvar="KBI_HTTP_TIMEOUT", show_envvar=True,
              help="Seconds per HTTP request [default: 60].")
@click.option("--max-body-bytes", type=int, envvar="KBI_MAX_BODY_BYTES", show_envvar=True,
              help="The server's request size limit [default: 30 MB].")
@click.option("--max-records-per-job", type=int, envvar="KBI_MAX_RECORDS_PER_JOB", show_envvar=True,
              help="The server's records-per-job limit [default: 100000].")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), envvar="KBI_CONFIG",
              show_envvar=True, help="TOML config file [default: ~/.config/kbi/config.toml].")
@click.option("--profile", envvar="KBI_PROFILE", show_envvar=True, help="A [profiles.NAME] table of the config file.")
@json_option
@click.version_option(package_name="kb-ingest", prog_name="kbi")
@click.pass_context
def kbi(ctx: click.Context, config_path: Path | None, profile: str | None, as_json: bool, **flags: Any) -> None:
    """Bulk-ingest content into knowledge bases and follow the jobs.

    Exit codes: 0 done (jobs completed), 1 service error, 2 usage error, 3 a job failed,
    4 a job was cancelled, 5 timed out waiting, 6 (status) job still running.
    """
    state = ctx.ensure_object(State)
    state.json = as_json  # before the settings are read: a bad profile is a JSON error too
    state.settings = config.load(flags, config=config_path, profile=profile)
    ctx.call_on_close(state.close)


def pass_state(command: F) -> F:
    return click.pass_obj(command)  # type: ignore[return-value]
