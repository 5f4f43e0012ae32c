"""`kb-ingest-worker`: batch work yields the CPU to the API on a shared machine."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.queue import QUEUE_NAME
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
