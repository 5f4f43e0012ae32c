"""What `kbi` prints: data on stdout (a table, or JSON with `--json`), everything for people on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kb_client.models import Job

PIPED_WIDTH = 240  # tables written to a file or a pipe keep whole ids on one line
STATUS_STYLE = {"completed": "green", "failed": "red", "cancelled": "yellow", "processing": "cyan", "pending": "dim"}


class Output:
    def __init__(self, *, as_json: bool) -> None:
        self.as_json = as_json
        self.out = Console(soft_wrap=True)
        if not self.out.is_terminal:
            self.out.width = PIPED_WIDTH
        self.err = Console(stderr=True, soft_wrap=True)

    def json(self, value: Any) -> None:
        sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
        sys.stdout.flush()

    def line(self, text: str) -> None:
        """A bare value on stdout (an id), for `$(kbi ...)`."""
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def note(self, text: str) -> None:
        self.err.print(text, highlight=False)

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> None:
        table = Table(title=title, title_justify="left", header_style="bold")
        for name in columns:
            is_id = name in ID_COLUMNS
            table.add_column(name, no_wrap=is_id, min_width=36 if is_id else None)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        self.out.print(table)

    def error(self, message: str, *, kind: str = "Error", status: int | None = None) -> None:
        if self.as_json:
            body: dict[str, Any] = {"error": kind, "message": message}
            if status is not None:
                body["statusCode"] = status
            sys.stderr.write(json.dumps(body, ensure_ascii=False) + "\n")
        else:
            self.err.print(f"[bold red]{kind}:[/] {escape(message)}", highlight=False)


def status_text(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


def job_row(job: Job) -> list[str]:
    p = job.progress
    return [job.id, status_text(job.status), job.adapter_type or "", f"{p.processed}/{p.total}", str(p.successful),
            str(p.failed), str(p.skipped), (job.created_at or "")[:19].replace("T", " ")]


ID_COLUMNS = {"Job", "Id"}
JOB_COLUMNS = ["Job", "Status", "Adapter", "Processed", "OK", "Failed", "Skipped", "Created (UTC)"]


def jobs_table(output: Output, jobs: Sequence[Job], *, title: str | None = None) -> None:
    output.table(JOB_COLUMNS, (job_row(j) for j in jobs), title=title)
