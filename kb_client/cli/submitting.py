"""How `kbi submit` sends one file: a document whole, or its records cut into jobs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from kb_client.batching import ENVELOPES, Batch
from kb_client.cli import inputs
from kb_client.models import Accepted
from kb_client.sync import Client

# What a multipart upload adds to the file: its boundaries, part headers and other fields.
FORM_OVERHEAD = 4096


def submit_file(client: Client, name: str, knowledge_base: str, adapter: str, batch_size: int | None,
                options: dict[str, Any] | None, prefix: str | None, report: Callable[[Accepted, Batch | None], None]) -> None:
    """Check a document, then upload it whole when it fits and no batch size is asked for;
    batch its records (or the lines of JSON lines) otherwise. `report` hears of every job."""
    path = Path(name)
    if name != "-" and not path.is_file():
        raise click.UsageError(f"{name} is not a readable file")
    if adapter not in ENVELOPES:
        _refuse_to_split(name, path, adapter, batch_size, client.config.max_body_bytes)
        report(client.submit_job(knowledge_base, file=path, adapter=adapter, options=options, idempotency_key=prefix), None)
        return
    if inputs.is_lines(name):
        records: Iterable[Any] = inputs.lines_of(name, adapter)
    else:
        # Read whole, sent whole or not: not JSON, out of the adapter's shape, or empty is the file's fault.
        records = inputs.records_in_document(path, adapter)
        if not records:
            raise click.UsageError(f"{name} holds no records: nothing was submitted")
        if batch_size is None and _goes_whole(path, options, client.config.max_body_bytes):
            del records  # the upload streams the file from disk
            report(client.submit_job(knowledge_base, file=path, adapter=adapter, options=options, idempotency_key=prefix), None)
            return
    sent = client.submit_records(knowledge_base, records, adapter=adapter, batch_size=batch_size, options=options,
                                 idempotency_prefix=prefix, on_submitted=report)
    if not sent:
        raise click.UsageError(f"{name} holds no records: nothing was submitted")


def _goes_whole(path: Path, options: dict[str, Any] | None, limit: int) -> bool:
    """A document is uploaded as it is unless it must be split: with the form around it over
    the limit, or starting with a byte-order mark, which the service does not read."""
    if inputs.starts_with_bom(path):
        return False
    return path.stat().st_size + FORM_OVERHEAD + len(json.dumps(options or {})) <= limit


def _refuse_to_split(name: str, path: Path, adapter: str, batch_size: int | None, limit: int) -> None:
    """kbi knows how generic-json and content-hub wrap their records, and no other adapter's
    (a plug-in's): a file for such an adapter goes whole, as the job's `data`, or not at all."""
    why = ("it is JSON lines" if inputs.is_lines(name)
           else "--batch-size was given" if batch_size is not None
           else "it starts with a byte-order mark, which the service does not read" if inputs.starts_with_bom(path)
           else f"it is over the {limit}-byte request limit" if path.stat().st_size > limit
           else None)
    if why:
        raise click.UsageError(
            f"{name}: kbi cannot cut the records of adapter {adapter!r} into jobs ({why}); it knows the envelopes "
            f"of {' and '.join(ENVELOPES)} only. For another adapter, submit a .json file that is the job's whole "
            f"`data`, without --batch-size.")
