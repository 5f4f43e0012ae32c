"""Real processes for the crash and outage tests: `kb-ingest-worker`, `kb-ingest serve`, and
throwaway Redis and PostgreSQL servers on spare ports, so that killing or restarting them
never disturbs anyone else using the machine's shared services.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], object], *, timeout: float, what: str, every: float = 0.05) -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except Exception:  # noqa: BLE001 - not up yet
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


class Process:
    """A child in its own process group, so that a kill reaches its whole tree (Dramatiq forks)."""

    def __init__(self, argv: list[str], *, env: Mapping[str, str], log: Path) -> None:
        self.argv = argv
        self.env = {**os.environ, **env}
        self.log = log
        self.popen: subprocess.Popen[bytes] | None = None
        self.stopped = False

    def start(self) -> Process:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def died(self) -> bool:
        """Exited without being told to."""
        return self.popen is not None and not self.stopped and self.popen.poll() is not None

    def kill(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a pulled plug would: no cleanup of any kind."""
        self._signal(signal.SIGKILL)
        self._wait(10)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)
        if not self._wait(30):
            self.kill()

    def _signal(self, sig: signal.Signals) -> None:
        self.stopped = True
        if self.popen is not None:
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                pass

    def _wait(self, timeout: float) -> bool:
        if self.popen is None:
            return True
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def worker(env: Mapping[str, str], log: Path, *, threads: int = 2) -> Process:
    return Process([str(BIN / "kb-ingest-worker"), "--processes", "1", "--threads", str(threads)], env=env, log=log)


def api(env: Mapping[str, str], log: Path, port: int) -> Process:
    return Process([str(BIN / "kb-ingest"), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, log=log)


def wait_for_api(port: int, timeout: float = 30) -> None:
    wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200, timeout=timeout, what="the API")


class RedisServer:
    """`redis-server` without persistence: a restart loses every message, as a real one would."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed")
        argv = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]
        self.process = Process(argv, env={}, log=self.workdir / f"redis-{self.port}.log").start()
        wait_until(lambda: redis.Redis.from_url(self.url).ping(), timeout=10, what="redis-server")
        return self

    def crash(self) -> None:
        assert self.process is not None
        self.process.kill()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


class PostgresServer:
    """A throwaway cluster (initdb) in a temporary directory, trust auth, on a spare port.

    PostgreSQL refuses to run as root, so as root it runs as the `postgres` OS user.
    """

    def __init__(self) -> None:
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
        if not versions:
            raise FileNotFoundError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = Path(versions[-1])
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="kbi-pg-", dir="/tmp"))
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresServer:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run(
            "pg_ctl", "-D", str(self.dir / "data"), "-o", options, "-l", str(self.dir / "server.log"), "-w", "start"
        )
        return self

    def crash(self) -> None:
        """Immediate shutdown: no checkpoint, every connection cut, recovery on the next start."""
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")

    def create_database(self, name: str) -> str:
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return make_url(self.url(name)).render_as_string(hide_password=False)

    def destroy(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_postgres, str(self.bin / tool), *args], check=True, capture_output=True, timeout=60)
