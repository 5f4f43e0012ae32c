"""`kbi submit | status | watch | list | cancel | adapters`: jobs from submission to their end."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import click

from kb_client import errors
from kb_client.backoff import Backoff
from kb_client.batching import Batch
from kb_client.cli import exit_codes
from kb_client.cli.app import State, json_option, kbi, pass_state
from kb_client.cli.output import Output, jobs_table, status_text
from kb_client.cli.progress import JobProgress
from kb_client.cli.submitting import submit_file
from kb_client.models import Accepted, Job
from kb_client.sync import Client

JOB_STATUSES = click.Choice(["pending", "processing", "completed", "failed", "cancelled"])


def wait_options(command: Any) -> Any:
    command = click.option("--timeout", type=click.FloatRange(min=0), help="Give up waiting after this many seconds (exit 5).")(command)
    return click.option("--max-interval", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
                        help="Longest pause between polls, in seconds (polls start at 1 s and back off).")(command)


@kbi.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--kb", "knowledge_base", required=True, envvar="KBI_KNOWLEDGE_BASE", show_envvar=True,
              help="Knowledge base id to ingest into.")
@click.option("--adapter", default="generic-json", show_default=True, help="Adapter of the files (see `kbi adapters`).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Split into jobs of at most this many records.")
@click.option("--options", "adapter_options", help="Adapter options, as a JSON object.")
@click.option("--idempotency-prefix", help="Stable prefix for Idempotency-Keys, so re-running the same submit "
              "replays the jobs already accepted instead of creating them twice.")
@click.option("--wait", is_flag=True, help="Watch the jobs until they finish; the exit code tells how they ended.")
@wait_options
@json_option
@pass_state
def submit(state: State, files: tuple[str, ...], knowledge_base: str, adapter: str, batch_size: int | None,
           adapter_options: str | None, idempotency_prefix: str | None, wait: bool, timeout: float | None,
           max_interval: float, as_json: bool) -> None:
    """Submit FILE… (.json documents, .jsonl/.ndjson records, or - for JSON lines on stdin) as jobs.

    Job ids are printed on stdout as they are accepted, one per line.
    """
    output = state.output(as_json)
    options = _json_object(adapter_options, "--options")
    submitted: list[dict[str, Any]] = []

    def report(name: str, accepted: Accepted, batch: Batch | None) -> None:
        submitted.append(_submitted(name, accepted, batch))
        if not output.as_json:
            output.line(accepted.job_id)
            output.note(f"{name}: job {accepted.job_id} {_span(batch)}" + (" (replayed)" if accepted.replayed else ""))

    finished = False
    try:
        for name in files:
            prefix = _key_prefix(idempotency_prefix, name, files) if idempotency_prefix else None
            submit_file(state.client, name, knowledge_base, adapter, batch_size, options, prefix,
                        lambda accepted, batch, name=name: report(name, accepted, batch))
        finished = True
    finally:
        # With --wait the list comes with the jobs' ends; if submitting stopped, it comes now.
        if output.as_json and not (wait and finished):
            output.json({"jobs": submitted})
    if wait:
        raise SystemExit(watch_jobs(state.client, output, [s["jobId"] for s in submitted], timeout, max_interval))


def _key_prefix(prefix: str, name: str, files: tuple[str, ...]) -> str:
    """`{prefix}:{file name}`, stable across re-runs given the same files; files of the same
    name in other folders (eu/export.jsonl, us/export.jsonl) are told apart by their path
    as given, and a name a header cannot carry (not printable ASCII, or long) by its digest."""
    base = Path(name).name
    label = base if sum(Path(f).name == base for f in files) == 1 else name
    if not (label.isascii() and label.isprintable() and len(prefix) + len(label) <= 240):
        label = hashlib.sha256(label.encode()).hexdigest()[:16]
    return f"{prefix}:{label}"


def _submitted(name: str, accepted: Accepted, batch: Batch | None) -> dict[str, Any]:
    return {"jobId": accepted.job_id, "file": name, "firstRecord": batch.first if batch else None,
            "records": batch.count if batch else None, "idempotencyKey": accepted.idempotency_key,
            "replayed": accepted.replayed}


def _span(batch: Batch | None) -> str:
    return "(whole file)" if batch is None else f"(records {batch.first}–{batch.first + batch.count - 1})"


def _json_object(text: str | None, flag: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not JSON: {error}", param_hint=flag) from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint=flag)
    return value


@kbi.command()
@click.argument("job_id")
@json_option
@pass_state
def status(state: State, job_id: str, as_json: bool) -> None:
    """Show a job: status, progress, summary. Exit 0 completed, 3 failed, 4 cancelled, 6 still running."""
    output = state.output(as_json)
    job = state.client.get_job(job_id)
    if output.as_json:
        output.json(job.raw)
    else:
        _describe(output, job)
    raise SystemExit(exit_codes.OF_STATUS.get(job.status, exit_codes.ERROR))


def _describe(output: Output, job: Job) -> None:
    s = job.summary
    output.out.print(f"Job {job.id}: {status_text(job.status)}", highlight=False)
    output.out.print(f"  knowledge base {job.knowledge_base_id}, adapter {job.adapter_type}", highlight=False)
    output.out.print(f"  {job.progress}", highlight=False)
    output.out.print(f"  entries: {s.get('entriesCreated', 0)} created, {s.get('entriesUpdated', 0)} updated, "
                     f"{s.get('entriesDeleted', 0)} deleted", highlight=False)
    if job.error:
        output.out.print(f"  [red]error:[/] {job.error}", highlight=False)
    if job.progress.failed:
        output.out.print(f"  failed records: kbi results {job.id} --failed", highlight=False)


@kbi.command()
@click.argument("job_ids", nargs=-1, required=True)
@wait_options
@json_option
@pass_state
def watch(state: State, job_ids: tuple[str, ...], timeout: float | None, max_interval: float, as_json: bool) -> None:
    """Follow JOB… with live progress until every one has finished; the exit code tells how they ended."""
    raise SystemExit(watch_jobs(state.client, state.output(as_json), list(job_ids), timeout, max_interval))


def watch_jobs(client: Client, output: Output, job_ids: list[str], timeout: float | None, max_interval: float) -> int:
    polling = Backoff(initial=min(1.0, max_interval), maximum=max_interval, factor=1.5)
    try:
        with JobProgress(output.err) as view:
            finals = client.wait_all(job_ids, timeout=timeout, on_progress=view, polling=polling, raise_on_failure=False)
    except errors.WaitTimeout as timed_out:
        output.error(str(timed_out), kind="WaitTimeout")
        if output.as_json:
            output.json({"timedOut": True, "jobs": [j.raw for j in timed_out.jobs]})
        return exit_codes.TIMEOUT
    if output.as_json:
        output.json({"jobs": [j.raw for j in finals]})
    else:
        jobs_table(output, finals)
    return exit_codes.worst([exit_codes.OF_STATUS[j.status] for j in finals])


@kbi.command(name="list")
@click.option("--status", type=JOB_STATUSES, help="Only jobs in this status.")
@click.option("--since", help="Created at or after (ISO 8601 date or date-time).")
@click.option("--until", help="Created before (ISO 8601 date or date-time; a date includes that day).")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0)
@click.option("--all", "every", is_flag=True, help="Every matching job, following the pages.")
@json_option
@pass_state
def list_(state: State, status: str | None, since: str | None, until: str | None, limit: int, offset: int,
          every: bool, as_json: bool) -> None:
    """List jobs, newest first."""
    output = state.output(as_json)
    if every:
        jobs = list(state.client.iter_jobs(status=status, start_date=since, end_date=until))
        total = len(jobs)
    else:
        page = state.client.list_jobs(status=status, start_date=since, end_date=until, limit=limit, offset=offset)
        jobs, total = page.items, page.total
    if output.as_json:
        output.json({"total": total, "jobs": [j.raw for j in jobs]})
    else:
        jobs_table(output, jobs, title=f"{len(jobs)} of {total} jobs")


@kbi.command()
@click.argument("job_ids", nargs=-1, required=True)
@json_option
@pass_state
def cancel(state: State, job_ids: tuple[str, ...], as_json: bool) -> None:
    """Cancel JOB…; what was already applied stays. Exit 1 if any could not be cancelled."""
    output = state.output(as_json)
    outcomes = []
    for job_id in job_ids:
        try:
            state.client.cancel_job(job_id)
            outcomes.append({"jobId": job_id, "cancelled": True})
            output.note(f"{job_id}: cancelled")
        except (errors.Conflict, errors.NotFound) as error:
            outcomes.append({"jobId": job_id, "cancelled": False, "statusCode": error.status, "message": error.message})
            output.note(f"{job_id}: not cancelled: {error.message}")
    if output.as_json:
        output.json({"jobs": outcomes})
    raise SystemExit(exit_codes.OK if all(o["cancelled"] for o in outcomes) else exit_codes.ERROR)


@kbi.command()
@json_option
@pass_state
def adapters(state: State, as_json: bool) -> None:
    """List the adapters the service offers."""
    output = state.output(as_json)
    found = state.client.list_adapters()
    if output.as_json:
        output.json(found)
    else:
        output.table(["Adapter", "Format", "Version"], ([a["name"], a["format"], a["version"]] for a in found))
