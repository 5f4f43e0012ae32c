"""`kb-ingest-worker`: batch work yields the CPU to the API on a shared machine."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import fields
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from app import migrations
from app.queue import QUEUE_NAME
from app.settings import Settings
from tests import services
from workers import cli


@pytest.mark.parametrize("niceness", [0, 7])
def test_worker_lowers_its_cpu_priority_by_the_configured_niceness(niceness):
    code = f"import os; from workers.cli import _yield_cpu_to_the_api as y; before = os.nice(0); y({niceness}); print(os.nice(0) - before)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(out) == niceness


@pytest.mark.skipif(not Path("/proc/self/autogroup").exists(), reason="no autogroup scheduling on this kernel")
def test_worker_leading_its_session_lowers_the_session_priority_too():
    code = "from pathlib import Path; from workers.cli import _yield_cpu_to_the_api as y; y(7); print(Path('/proc/self/autogroup').read_text())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, start_new_session=True).stdout
    assert out.strip().endswith("nice 7")


def test_worker_sharing_a_session_leaves_the_session_priority_alone():
    before = Path("/proc/self/autogroup").read_text() if Path("/proc/self/autogroup").exists() else ""
    code = "from workers.cli import _yield_cpu_to_the_api as y; y(7)"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (Path("/proc/self/autogroup").read_text() if before else "") == before


def test_worker_refuses_to_start_without_a_broker(monkeypatch, capsys):
    for name in ("REDIS_URL", "BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main([]) == 2
    assert "needs REDIS_URL" in capsys.readouterr().err


def test_worker_refuses_to_start_on_a_database_of_its_own(monkeypatch, capsys, tmp_path):
    """A broker without DATABASE_URL: it would have opened an empty SQLite file in DATA_DIR."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    assert cli.main([]) == 2
    assert "DATABASE_URL is not" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "threads", "processes"),
    [([], 1, os.cpu_count()), (["--processes", "3"], 1, 3), (["--threads", "4"], 4, os.cpu_count()), (["-t", "2", "-p", "1"], 2, 1)],
)
def test_workers_run_one_thread_per_process_unless_told_otherwise(args, threads, processes):
    """Parsed by Dramatiq's own command line, as `kb-ingest-worker` hands it over."""
    from dramatiq.cli import make_argument_parser

    parsed = make_argument_parser().parse_args(cli.dramatiq_argv(args)[1:])
    assert (parsed.threads, parsed.processes) == (threads, processes)
    assert parsed.broker == "workers.entry:broker" and parsed.queues == [QUEUE_NAME]


@pytest.mark.parametrize(("environment", "expected"), [({}, cli.WORKER_TIMEOUT_MS), ({"dramatiq_worker_timeout": "250"}, 250)])
def test_idle_workers_look_for_new_batches_every_100_ms_unless_the_operator_says_otherwise(environment, expected):
    """What the worker processes Dramatiq forks from `kb-ingest-worker` are built with."""
    code = "import workers.cli, inspect, dramatiq; print(inspect.signature(dramatiq.Worker).parameters['worker_timeout'].default)"
    env = {k: v for k, v in os.environ.items() if k != "dramatiq_worker_timeout"} | environment
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert int(out) == expected


def _worker(database_url: str, extra: list[str] | None = None) -> subprocess.Popen[str]:
    """`kb-ingest-worker --processes 1` on `database_url`, with only the settings given here."""
    settings = {f.name.upper() for f in fields(Settings)}
    environment = {k: v for k, v in os.environ.items() if k not in settings} | {
        "DATABASE_URL": database_url,
        "REDIS_URL": services.REDIS_URL,
        "REDIS_NAMESPACE": f"kbi-test-worker-{uuid.uuid4().hex[:8]}",
    }
    program = str(Path(sys.executable).parent / "kb-ingest-worker")
    return subprocess.Popen(
        [program, "--processes", "1", *(extra or [])], env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def test_worker_refuses_a_database_whose_schema_is_behind_this_release(postgres, redis_server):
    """Started before `kb-ingest migrate`, it logged a failed sweep every 30 s and failed every batch."""
    url = postgres.create()
    engine = create_engine(url)
    try:
        services.alembic(engine, "downgrade", "0014_failed_results_index")
        worker = _worker(url)
        try:
            _, err = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            pytest.fail("the worker started on a schema behind its release")
        assert worker.returncode == 1
        assert err.splitlines() == [
            f"kb-ingest-worker: database schema: 0014_failed_results_index, this release needs {migrations._scripts()[0]}; run kb-ingest migrate"
        ]
    finally:
        engine.dispose()
        postgres.drop(url)


def test_every_line_the_worker_logs_is_json_dramatiq_s_main_process_too(postgres, redis_server):
    """Dramatiq's main process ("booting up", "Sending signal", a worker process that exited)
    wrote plain text between the JSON lines."""
    url = postgres.create()
    worker = _worker(url)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while not any("Worker process is ready for action" in line for line in lines) and time.monotonic() < deadline:
            lines.append(worker.stderr.readline())  # type: ignore[union-attr]
        os.killpg(worker.pid, signal.SIGTERM)
        _, rest = worker.communicate(timeout=30)
        logged = [json.loads(line) for line in [*lines, *rest.splitlines()] if line.strip()]
        loggers = {entry["logger"] for entry in logged}
        assert "dramatiq.MainProcess" in loggers and any(name.startswith("dramatiq.WorkerProcess") for name in loggers), loggers
        assert any("booting up" in entry["message"] for entry in logged)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.communicate()
        postgres.drop(url)


def test_with_a_log_file_dramatiq_s_main_process_still_writes_to_it(postgres, redis_server, tmp_path):
    """Dramatiq's main process writes --log-file itself; the service's logging in that
    process would have sent its lines to stderr instead."""
    url = postgres.create()
    log_file = tmp_path / "worker.log"
    worker = _worker(url, extra=["--log-file", str(log_file)])
    try:
        deadline = time.monotonic() + 30
        while "ready for action" not in (log_file.read_text() if log_file.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.2)
        os.killpg(worker.pid, signal.SIGTERM)
        worker.communicate(timeout=30)
        written = log_file.read_text()
        assert "booting up" in written and "ready for action" in written, written
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.communicate()
        postgres.drop(url)
