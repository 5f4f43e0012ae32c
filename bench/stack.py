"""The service under test, run for real: a fresh PostgreSQL database, a Redis namespace,
the API (uvicorn) and `kb-ingest-worker` processes, all removed again on exit.

Processes are started in their own sessions and stopped by process group, so Dramatiq's
forked worker processes go with their parent, even when the benchmark fails or is
interrupted.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import redis

from bench import usage

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def wait_ready(base_url: str, api: subprocess.Popen[bytes], log: Path | str) -> None:
    """Until the API at `base_url` answers /ready; RuntimeError if it exits or takes a minute."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if api.poll() is not None:
            raise RuntimeError(f"the API exited; see {log}")
        try:
            if httpx.get(f"{base_url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the API did not become ready; see {log}")


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process group, stopped with SIGTERM, then SIGKILL if it lingers."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def descendants(self) -> list[int]:
        """Every process in this group (the Dramatiq CLI forks its worker processes)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[2]) == self.pid and int(entry.name) != self.pid:
                    found.append(int(entry.name))
        return found

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.pid, signal.SIGTERM)
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait()
        except ProcessLookupError:
            pass


class Stack:
    """Database, namespace, API and workers for one benchmark run."""

    def __init__(self, *, admin_url: str, redis_url: str, batch_size: int, threads: int, workdir: Path) -> None:
        self.admin_url = admin_url
        self.redis_url = redis_url
        self.batch_size = batch_size
        self.threads = threads
        self.workdir = workdir
        self.database = f"kbi_bench_{uuid.uuid4().hex[:10]}"
        self.secret_key = secrets.token_urlsafe(48)
        self.token = ""
        self.workspace_id = ""
        self.namespace = f"kbi-bench-{uuid.uuid4().hex[:10]}"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api: Process | None = None
        self.workers: Process | None = None
        self.worker_processes = 0

    @property
    def database_url(self) -> str:
        return urlsplit(self.admin_url)._replace(path=f"/{self.database}").geturl()

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "BROKER_URL")}
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            REDIS_NAMESPACE=self.namespace,
            LOG_LEVEL="WARNING",
            SECRET_KEY=self.secret_key,
            BOOTSTRAP_CLIENT="false",
            ACCESS_TOKEN_LIFETIME="86400",
            # The limiter still counts every request (its cost is part of the figures) but
            # never refuses the benchmark's own polling and submissions.
            RATE_LIMIT_PER_MINUTE="100000000",
            **extra,
        )
        if self.batch_size:
            env["BATCH_SIZE"] = str(self.batch_size)
        return env

    def start(self, workers: int) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        subprocess.run([str(BIN / "kb-ingest"), "migrate"], env=self.env(), cwd=ROOT, check=True)
        credentials = self._new_client()
        self.workspace_id = credentials["workspace_id"]
        self.api = Process(
            "api",
            [str(BIN / "uvicorn"), "app.main:create_app", "--factory", "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            self.env(),
            self.workdir / "api.log",
        )
        self._wait_ready()
        self.token = self._token(credentials)
        self.start_workers(workers)

    def _new_client(self) -> dict[str, str]:
        """A workspace and a `*` client in it, made as an operator would (`kb-ingest clients create`)."""

        def admin(*args: str) -> dict[str, str]:
            out = subprocess.run([str(BIN / "kb-ingest"), *args, "--json"], env=self.env(), cwd=ROOT, check=True, capture_output=True)
            return json.loads(out.stdout)

        workspace = admin("workspaces", "create", "bench")["workspace_id"]
        return admin("clients", "create", "--workspace", workspace, "--scope", "*", "--name", "bench")

    def _token(self, credentials: dict[str, str]) -> str:
        form = {"grant_type": "client_credentials", "client_id": credentials["client_id"], "client_secret": credentials["client_secret"]}
        response = httpx.post(f"{self.base_url}/api/v2/auth/token", data=form, timeout=60)
        response.raise_for_status()
        return response.json()["access_token"]

    def stop_workers(self) -> None:
        if self.workers is not None:
            self.workers.stop()
            self.workers = None

    def start_workers(self, count: int) -> None:
        self.stop_workers()
        self.worker_processes = count
        self.workers = Process(
            "workers",
            [str(BIN / "kb-ingest-worker"), "--processes", str(count), "--threads", str(self.threads)],
            self.env(),
            self.workdir / "workers.log",
        )
        deadline = time.monotonic() + 60
        while len(self.worker_pids()) < count:
            if self.workers.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker processes did not start; see {self.workers.log}")
            time.sleep(0.2)
        time.sleep(1.0)  # let every worker process import the app and connect

    def worker_pids(self) -> list[int]:
        return self.workers.descendants() if self.workers else []

    def cpu_groups(self) -> dict[str, list[int]]:
        """The processes whose CPU time a phase is charged with."""
        return {
            "API": [self.api.pid] if self.api else [],
            "workers": self.worker_pids(),
            "PostgreSQL": usage.backends(self.admin_url, self.database),
        }

    def _wait_ready(self) -> None:
        assert self.api is not None
        wait_ready(self.base_url, self.api.popen, self.api.log)

    def stop(self) -> None:
        """Stop everything and drop what was created; safe to call twice and after a failure."""
        for process in (self.workers, self.api):
            if process is not None:
                process.stop()
        self.workers = self.api = None
        try:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            client = redis.Redis.from_url(self.redis_url)
            keys = list(client.scan_iter(match=f"{self.namespace}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
