"""Live progress of jobs on stderr: a rich bar per job with counts, rate and ETA on a terminal,
a plain line per change in a CI log.
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TaskID, TextColumn, TimeRemainingColumn
from rich.text import Text

from kb_client.cli.output import STATUS_STYLE
from kb_client.models import Job


class RateColumn(ProgressColumn):
    """Records per second: rich's moving estimate while a job runs, its overall rate once it has finished."""

    def render(self, task: Task) -> Text:
        speed = task.fields.get("rate") or task.speed
        return Text(f"{speed:,.0f} rec/s" if speed else "– rec/s", style="progress.data.speed")


class JobProgress:
    """The `on_progress` callback of `wait_all`, showing every job it is told about."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.bars = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[counts]}"),
            RateColumn(), TimeRemainingColumn(), console=console, transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.last_seen: dict[str, tuple[str, int]] = {}

    def __enter__(self) -> JobProgress:
        if self.live:
            self.bars.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.live:
            self.bars.stop()

    def __call__(self, job: Job) -> None:
        if self.live:
            self._update_bar(job)
        elif self.last_seen.get(job.id) != (job.status, job.progress.processed):
            self.console.print(f"{job.id} {job.status}: {job.progress}", highlight=False)
        self.last_seen[job.id] = (job.status, job.progress.processed)

    def _update_bar(self, job: Job) -> None:
        p = job.progress
        if job.id not in self.tasks:
            self.tasks[job.id] = self.bars.add_task("", total=p.total or None, counts="", rate=None)
        style = STATUS_STYLE.get(job.status, "white")
        self.bars.update(
            self.tasks[job.id],
            completed=p.processed,
            total=p.total or None,
            description=f"{job.id[:8]} [{style}]{job.status:<10}[/]",
            counts=f"[green]✓{p.successful}[/] [red]✗{p.failed}[/] [dim]↷{p.skipped}[/]",
            rate=overall_rate(job),
        )


def overall_rate(job: Job) -> float | None:
    """Records per second from start to finish, by the server's clock; None while the job runs."""
    if not (job.finished and job.started_at and job.completed_at):
        return None
    seconds = (datetime.fromisoformat(job.completed_at) - datetime.fromisoformat(job.started_at)).total_seconds()
    return job.progress.processed / seconds if seconds > 0 else None
