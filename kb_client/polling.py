"""Waiting for jobs: poll with exponential backoff until each is finished, or time is up."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence

from kb_client import errors
from kb_client.backoff import Backoff, retry_after
from kb_client.endpoints import Endpoints
from kb_client.models import Job
from kb_client.protocol import Operation, Sleep

OnProgress = Callable[[Job], None]


def wait_all(endpoints: Endpoints, job_ids: Sequence[str], *, timeout: float | None, on_progress: OnProgress | None,
             polling: Backoff | None, raise_on_failure: bool, clock: Callable[[], float] = time.monotonic) -> Operation[list[Job]]:
    """Poll every unfinished job each round, then sleep the round's delay.

    The delay grows on `polling` (1 s to 30 s by default) unless the service sent a
    `Retry-After`, which wins. `on_progress` sees every job state polled. A timeout
    raises `WaitTimeout` with the last state of the jobs still running.
    """
    schedule = polling or endpoints.config.polling
    deadline = None if timeout is None else clock() + timeout
    latest: dict[str, Job] = {}
    pending = list(dict.fromkeys(str(j) for j in job_ids))
    for round_number in itertools.count():
        hint = None
        for job_id in pending:
            response = yield from endpoints.job_response(job_id)
            latest[job_id] = Job.from_json(response.json())
            hint = retry_after(response) if hint is None else hint
            if on_progress is not None:
                on_progress(latest[job_id])
        pending = [j for j in pending if not latest[j].finished]
        if not pending:
            break
        delay = hint if hint is not None else schedule.delay(round_number)
        if deadline is not None:
            remaining = deadline - clock()
            if remaining <= 0:
                raise errors.WaitTimeout([latest[j] for j in pending], timeout or 0.0)
            delay = min(delay, remaining)
        yield Sleep(delay)
    finals = [latest[str(j)] for j in job_ids]
    if raise_on_failure:
        _raise_unless_completed(finals)
    return finals


def _raise_unless_completed(finals: list[Job]) -> None:
    for job in finals:
        if job.status == "failed":
            raise errors.JobFailed(job, finals)
        if job.status == "cancelled":
            raise errors.JobCancelled(job, finals)
