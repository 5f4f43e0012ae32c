"""`kbi results JOB`: a job's per-record results as CSV or JSON lines, to fix and resubmit failures.

`--records` prints the submitted records behind the results instead (generic-json jobs),
as JSON lines that `kbi submit` takes back once they are fixed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

import click

from kb_client.cli.app import State, json_option, kbi, pass_state
from kb_client.cli.output import Output
from kb_client.sync import Client

COLUMNS = ["sourceId", "status", "action", "entryId", "error", "detail", "recordIndex"]


@kbi.command()
@click.argument("job_id")
@click.option("--failed", is_flag=True, help="Only the failed records (same as --status failed).")
@click.option("--status", type=click.Choice(["success", "failed", "skipped"]), help="Only records with this outcome.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), help="Output format [default: csv; jsonl with --json].")
@click.option("--records", is_flag=True, help="Print the submitted records of these results (JSON lines), ready to fix and resubmit.")
@click.option("-o", "--output", "target", type=click.File("w", encoding="utf-8", lazy=True), default="-",
              help="Write to this file instead of stdout.")
@json_option
@pass_state
def results(state: State, job_id: str, failed: bool, status: str | None, fmt: str | None, records: bool,
            target: IO[str], as_json: bool) -> None:
    """Export JOB's per-record results (every page)."""
    output = state.output(as_json)
    if failed and status not in (None, "failed"):
        raise click.UsageError("--failed and --status other than failed contradict each other")
    rows = state.client.iter_results(job_id, status="failed" if failed else status)
    if records:
        _write_jsonl(target, _records_of(state.client, job_id, rows, output))
    elif (fmt or ("jsonl" if output.as_json else "csv")) == "jsonl":
        _write_jsonl(target, rows)
    else:
        writer = csv.DictWriter(target, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _write_jsonl(target: IO[str], values: Iterable[Any]) -> None:
    for value in values:
        target.write(json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n")
    target.flush()


def _records_of(client: Client, job_id: str, rows: Iterable[dict[str, Any]], output: Output) -> Iterator[Any]:
    """The job's submitted records behind the results: found by position (`recordIndex`),
    which also finds records that failed for want of a usable id; from a server whose
    results have no position, by source id (generic-json's `id`).

    Of records sharing an id, the last is the one the job wrote, or failed on: the earlier
    ones were skipped as superseded and are left out, since resubmitting one of those
    would bring back stale content."""
    job = client.get_job(job_id, include_payload=True)
    if job.adapter_type != "generic-json":
        raise click.UsageError(f"--records knows generic-json jobs only; job {job_id} used {job.adapter_type}")
    submitted = (job.payload or {}).get("records", [])
    by_id: dict[str, Any] = {}
    for record in submitted:
        if isinstance(record, dict) and isinstance(record.get("id"), (str, int)) and not isinstance(record.get("id"), bool):
            by_id[str(record["id"]).strip()] = record
    unmatched = superseded = 0
    for row in rows:
        index = row.get("recordIndex")
        if (row.get("detail") or "").startswith("superseded"):
            superseded += 1  # the record that superseded it has a result of its own
        elif isinstance(index, int) and 0 <= index < len(submitted):
            yield submitted[index]
        elif (record := by_id.get(row.get("sourceId") or "")) is not None:
            yield record
        else:
            unmatched += 1
    if superseded:
        output.note(f"{superseded} results are of records superseded by a later one with the same id; left out")
    if unmatched:
        output.note(f"{unmatched} results match no submitted record (see the CSV for them)")
