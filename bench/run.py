"""Benchmark the service end to end and print each figure beside its target.

    .venv/bin/python -m bench.run            # full: 100,000 records, 1,000 documents
    .venv/bin/python -m bench.run --quick    # smoke run: 10,000 records, 100 documents

It creates its own PostgreSQL database and Redis namespace, starts the API (uvicorn) and
`kb-ingest-worker` processes against them, and removes all of it on exit, also on
failure or Ctrl-C. Throughput targets are ratios to ceilings measured in the same run
where the issue defines them so, which keeps them meaningful on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench import report
from bench.ceiling import copy_records
from bench.client import Client, poll_latency
from bench.data import RecordFactory, job_body, payloads
from bench.memory import peak_mb, reset_peak
from bench.report import Figure
from bench.stack import Stack

MB = 1024 * 1024
MAX_JOB_BYTES = 30 * MB


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small smoke run (10,000 records, 100 documents)")
    parser.add_argument("--records", type=int, help="generic-json records (default 100,000; 10,000 with --quick)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for the generic-json runs (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process (default 4)")
    parser.add_argument("--batch-size", type=int, help="BATCH_SIZE for the service (default: the service's default)")
    parser.add_argument("--poll-seconds", type=float, help="length of the polling-latency run (default 10; 3 with --quick)")
    parser.add_argument("--admin-url", default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--only", choices=("generic-json", "content-hub"), help="run one part only")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown to this file")
    args = parser.parse_args(argv)
    args.records = args.records or (10_000 if args.quick else 100_000)
    args.poll_seconds = args.poll_seconds or (3.0 if args.quick else 10.0)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    load_before = report.load_average()
    print(f"kb-ingest benchmark, {report.stamp()}; {report.machine()}; load average {load_before}; logs in {workdir}", flush=True)
    stack = Stack(
        admin_url=args.admin_url, redis_url=args.redis_url, batch_size=args.batch_size or 0, threads=args.threads, workdir=workdir
    )
    figures: list[Figure] = []
    try:
        stack.start(workers=args.workers)
        if args.only in (None, "generic-json"):
            figures += generic_json(stack, args)
    finally:
        stack.stop()
    figures.append(report.info("Load average (1/5/15 min) at start / end", f"{load_before} / {report.load_average()}"))
    print()
    print(report.table(figures))
    if args.markdown:
        args.markdown.write_text(report.markdown(figures) + "\n")
    return 0 if all(f.passed is not False for f in figures) else 1


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _say(message: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {message}", flush=True)


def _checkpoint(stack: Stack) -> None:
    """Start each timed phase with no dirty pages left over from the one before."""
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


def generic_json(stack: Stack, args: argparse.Namespace) -> list[Figure]:
    n = args.records
    factory = RecordFactory()
    client = Client(stack.base_url)
    try:
        _say(f"generating {n:,} records")
        records = list(factory.records(n))
        data = payloads(records, max_bytes=MAX_JOB_BYTES - 1024)
        changed = payloads(
            (factory.record(i, revision=2) if i % 10 == 0 else r for i, r in enumerate(records)), max_bytes=MAX_JOB_BYTES - 1024
        )
        _say(f"{len(data)} jobs of at most {max(len(d) for d in data) / MB:.1f} MB; COPY ceiling")
        rows, seconds = copy_records(stack.database_url, client.create_kb("ceiling"), records)
        del records
        ceiling = rows / seconds
        with psycopg.connect(stack.database_url, autocommit=True) as conn:
            conn.execute("TRUNCATE entries")
        return [
            Figure("COPY ceiling (one COPY into entries)", f"{ceiling:,.0f} records/s"),
            *_loads(stack, client, data, changed, n, ceiling),
            *_upload(stack, client, data[0]),
            *_polling_and_cancel(stack, client, data, args.poll_seconds),
        ]
    finally:
        client.close()


def _loads(stack: Stack, client: Client, data: list[bytes], changed: list[bytes], n: int, ceiling: float) -> list[Figure]:
    kb = client.create_kb("articles")
    pids = [stack.api.pid, *stack.worker_pids()]  # type: ignore[union-attr]
    _checkpoint(stack)
    reset_peak(pids)
    _say("first load")
    first = client.run([job_body(kb, d) for d in data])
    _expect(first.total("entriesCreated"), n, "created in the first load")
    api_peak, worker_peak = peak_mb([stack.api.pid]), peak_mb(stack.worker_pids())  # type: ignore[union-attr]
    _checkpoint(stack)
    _say("re-run, unchanged")
    unchanged = client.run([job_body(kb, d) for d in data])
    _expect(unchanged.total("skipped"), n, "skipped in the unchanged re-run")
    _checkpoint(stack)
    _say("re-run, 10% changed")
    partly = client.run([job_body(kb, d) for d in changed])
    _expect(partly.total("entriesUpdated"), len(range(0, n, 10)), "updated in the 10% re-run")
    first_rate = n / first.seconds
    return [
        Figure(f"generic-json first load ({n:,} records, {stack.worker_processes} workers)", f"{first_rate:,.0f} records/s"),
        report.ratio("  first load / COPY ceiling", first_rate / ceiling, 0.70),
        report.at_least("generic-json re-run, unchanged", n / unchanged.seconds, "records/s", 30_000),
        report.at_least("generic-json re-run, 10% changed", n / partly.seconds, "records/s", 20_000),
        report.below("API peak RSS over the first load (30 MB JSON bodies)", api_peak, "MB", 300),
        report.below("Worker peak RSS over the first load (30 MB jobs)", worker_peak, "MB", 300),
    ]


def _upload(stack: Stack, client: Client, data: bytes) -> list[Figure]:
    kb = client.create_kb("upload")
    reset_peak([stack.api.pid, *stack.worker_pids()])  # type: ignore[union-attr]
    _say(f"multipart upload of {len(data) / MB:.1f} MB")
    job_id = client.submit_file(kb, data)
    api_peak = peak_mb([stack.api.pid])  # type: ignore[union-attr]
    client.wait([job_id])
    return [
        report.below(f"API peak RSS receiving a {len(data) / MB:.0f} MB multipart upload", api_peak, "MB", 300),
        report.below("Worker peak RSS on that job", peak_mb(stack.worker_pids()), "MB", 300),
    ]


def _polling_and_cancel(stack: Stack, client: Client, data: list[bytes], seconds: float) -> list[Figure]:
    kb = client.create_kb("cancel")
    _say("load for polling and cancellation")
    job_ids = [client.submit(job_body(kb, d)) for d in data]
    client.wait(job_ids[:1], until={"processing", "completed"})
    _say(f"polling at 200 requests/s for {seconds:g} s")
    p50, p99, errors = poll_latency(stack.base_url, job_ids, rate=200, seconds=seconds)
    running = next((j for j in job_ids if client.job(j)["status"] == "processing"), None)
    figures = [
        Figure("Job polling latency at 200 requests/s, p50", f"{p50:.1f} ms"),
        report.below("Job polling latency at 200 requests/s, p99", p99, "ms", 50),
    ]
    if errors:
        figures.append(Figure("  polling errors", str(errors), "0", False))
    if running is None:
        figures.append(Figure("DELETE to cancelled on a running load", "no job was running", "< 1 s", False))
    else:
        _say("cancelling the running job")
        cancel_seconds = client.cancel(running)
        before = client.job(running)["data"]["progress"]
        time.sleep(1.0)
        frozen = client.job(running)["data"]["progress"] == before
        figures += [
            report.below("DELETE to status cancelled on a running load", cancel_seconds * 1000, "ms", 1000),
            Figure("  counters frozen after cancel", "yes" if frozen else "no", "yes", frozen),
        ]
    for job_id in job_ids:
        client.http.delete(f"/api/v2/data-ingestion/jobs/{job_id}")
    return figures


def _expect(actual: int, expected: int, what: str) -> None:
    if actual != expected:
        raise RuntimeError(f"expected {expected:,} {what}, got {actual:,}")


if __name__ == "__main__":
    sys.exit(main())
