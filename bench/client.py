"""Driving the service over HTTP as a migration script would: submit, poll, cancel."""

from __future__ import annotations

import asyncio
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx

JOBS = "/api/v2/data-ingestion/jobs"
TERMINAL = {"completed", "failed", "cancelled"}


@dataclass
class Load:
    """The outcome of submitting job bodies and waiting for all of them.

    `seconds` runs from the first POST to the last job's completion as the service
    recorded it (`completed_at`, set by the worker that applied the job's last batch);
    `observed` to when polling (every 0.1 s) saw it, up to a poll interval later."""

    seconds: float
    observed: float
    jobs: list[dict[str, Any]] = field(default_factory=list)

    def total(self, counter: str) -> int:
        return total(self.jobs, counter)


def total(jobs: list[dict[str, Any]], counter: str) -> int:
    """A counter summed over jobs, from their progress or, where progress lacks it, their result."""
    return sum(job["data"]["progress"][counter] if counter in job["data"]["progress"] else job["result"][counter] for job in jobs)


class Client:
    def __init__(self, base_url: str, token: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=300, headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self.http.close()

    def create_kb(self, name: str) -> str:
        response = self.http.post("/api/v2/knowledge-bases", json={"name": name})
        response.raise_for_status()
        return response.json()["id"]

    def submit(self, body: bytes, content_type: str = "application/json") -> str:
        response = self.http.post(JOBS, content=body, headers={"content-type": content_type})
        if response.status_code != 202:
            raise RuntimeError(f"submission refused: {response.status_code} {response.text[:500]}")
        return response.json()["jobId"]

    def submit_file(self, knowledge_base_id: str, data: bytes) -> str:
        """The multipart form upload a browser or `curl -F data=@export.json` sends."""
        response = self.http.post(
            JOBS,
            data={"adapterType": "generic-json", "knowledgeBaseId": knowledge_base_id},
            files={"data": ("export.json", data, "application/json")},
        )
        if response.status_code != 202:
            raise RuntimeError(f"upload refused: {response.status_code} {response.text[:500]}")
        return response.json()["jobId"]

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.http.get(f"{JOBS}/{job_id}")
        response.raise_for_status()
        return response.json()

    def wait(self, job_ids: list[str], *, timeout: float = 3600, until: set[str] = TERMINAL) -> list[dict[str, Any]]:
        """Poll each job, in submission order, until it reaches one of `until`."""
        deadline = time.monotonic() + timeout
        finished = []
        for job_id in job_ids:
            while (job := self.job(job_id))["status"] not in until:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"job {job_id} still {job['status']}: {job['data']['progress']}")
                time.sleep(0.1)  # every poll costs the API ~2 ms of CPU the workers could use
            finished.append(job)
        return finished

    def run(self, bodies: list[bytes], *, submitters: int = 1) -> Load:
        """Submit every body (`submitters` at a time), then wait for all: timed from the first POST to the last completion."""
        started_at, started = time.time(), time.perf_counter()
        with ThreadPoolExecutor(submitters) as pool:
            job_ids = list(pool.map(self.submit, bodies))
        jobs = self.wait_completed(job_ids)
        observed = time.perf_counter() - started
        # The service runs on this machine: its clock is ours.
        return Load(max(epoch(j["completed_at"]) for j in jobs) - started_at, observed, jobs)

    def wait_completed(self, job_ids: list[str]) -> list[dict[str, Any]]:
        """`wait`, and RuntimeError unless every job completed."""
        jobs = self.wait(job_ids)
        failed = [j for j in jobs if j["status"] != "completed"]
        if failed:
            raise RuntimeError(f"{len(failed)} jobs did not complete, e.g. {failed[0]['status']}: {failed[0].get('error')}")
        return jobs

    def cancel(self, job_id: str) -> float | None:
        """Seconds from sending DELETE until a GET shows the job cancelled; None when it had already finished (409)."""
        started = time.perf_counter()
        response = self.http.delete(f"{JOBS}/{job_id}")
        if response.status_code == 409:
            return None
        if response.status_code != 204:
            raise RuntimeError(f"cancel refused: {response.status_code} {response.text[:300]}")
        while self.job(job_id)["status"] != "cancelled":
            time.sleep(0.005)
        return time.perf_counter() - started


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p99_ms: float
    errors: int
    served_per_second: float
    requests: int


def epoch(timestamp: str) -> float:
    """A job's ISO 8601 timestamp (`started_at`, `completed_at`) as seconds since the epoch."""
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def poll_latency(base_url: str, token: str, job_ids: list[str], *, rate: float, seconds: float, connections: int = 32) -> Latency:
    """Open-loop GETs at `rate` per second, round robin over the jobs of a running load
    (pending, processing and completed ones, as a dashboard would).

    Open loop: each request's latency counts from the moment it was due, whether or not a
    connection was free, so a server slower than `rate` shows as growing latency, and
    `served_per_second` says how far short it fell. The client is bare HTTP/1.1 on
    keep-alive connections: httpx's async client spent more CPU per request (~4 ms) than
    the server, on the same two cores.
    """
    return asyncio.run(_poll(urlsplit(base_url), token, job_ids, rate, seconds, connections))


async def _poll(url: SplitResult, token: str, job_ids: list[str], rate: float, seconds: float, connections: int) -> Latency:
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(url.hostname, url.port))
    latencies: list[float] = []
    errors = 0

    async def one(job_id: str, due: float) -> None:
        nonlocal errors
        reader, writer = await pool.get()
        try:
            writer.write(f"GET {JOBS}/{job_id} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                errors += 1
        except (OSError, asyncio.IncompleteReadError, StopIteration):
            errors += 1
            reader, writer = await asyncio.open_connection(url.hostname, url.port)
        finally:
            pool.put_nowait((reader, writer))
        latencies.append((time.perf_counter() - due) * 1000)

    tasks = []
    start = time.perf_counter()
    for n in range(int(rate * seconds)):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(job_ids[n % len(job_ids)], due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait()[1].close()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return Latency(statistics.median(latencies), p99, errors, len(latencies) / elapsed, len(latencies))
