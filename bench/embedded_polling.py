"""Job polling latency in the embedded mode (SQLite, in-process worker) while a load runs.

    .venv/bin/python -m bench.embedded_polling               # 60,000 records
    .venv/bin/python -m bench.embedded_polling --records 20000

Starts the API under uvicorn with no DATABASE_URL (a fresh data directory, its bootstrap
client), submits the records as jobs of at most 30 MB, polls the first job and then the
last with `GET /jobs/{id}` until the last completes, and prints the polls' latency. No
target: the figure shows whether polls wait for the in-process worker's writes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.data import RecordFactory, job_body, payloads
from bench.stack import BIN, ROOT, free_port, wait_ready

MAX_JOB_BYTES = 30 * 1024 * 1024 - 1024


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.embedded_polling", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=60_000)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="kb-bench-embedded-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "BROKER_URL")}
    env.update(DATA_DIR=str(data_dir), LOG_LEVEL="WARNING", RATE_LIMIT_PER_MINUTE="100000000")
    command = [str(BIN / "uvicorn"), "app.main:create_app", "--factory", "--port", str(port), "--log-level", "warning"]
    log = data_dir / "api.log"
    with log.open("wb") as output:
        api = subprocess.Popen(command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_ready(f"http://127.0.0.1:{port}", api, log)
        latencies = _run(f"http://127.0.0.1:{port}", data_dir, args.records)
    finally:
        api.terminate()
        api.wait()
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(f"embedded mode, {args.records:,} records: {len(latencies)} polls, p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")


def _run(base: str, data_dir: Path, records: int) -> list[float]:
    credentials = json.loads((data_dir / "bootstrap-credentials.json").read_text())
    form = {"grant_type": "client_credentials", "client_id": credentials["client_id"], "client_secret": credentials["client_secret"]}
    token = httpx.post(f"{base}/api/v2/auth/token", data=form, timeout=30).json()["access_token"]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
        kb = http.post("/api/v2/knowledge-bases", json={"name": "polling"}).json()["id"]
        job_ids = []
        for data in payloads(RecordFactory().records(records), max_bytes=MAX_JOB_BYTES):
            response = http.post("/api/v2/data-ingestion/jobs", content=job_body(kb, data), headers={"content-type": "application/json"})
            response.raise_for_status()
            job_ids.append(response.json()["jobId"])
        latencies = []
        while True:
            for job_id in (job_ids[0], job_ids[-1]):
                started = time.perf_counter()
                job = http.get(f"/api/v2/data-ingestion/jobs/{job_id}").json()
                latencies.append(time.perf_counter() - started)
            if job["status"] in ("completed", "failed", "cancelled"):
                return latencies
            time.sleep(0.05)


if __name__ == "__main__":
    main()
