"""Settings that cannot make a working deployment are refused when a process starts.

The commands run as an operator runs them, in a subprocess with the bad environment: each
must stop at once with exit 2 and one line on stderr naming the variable, never a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from app.main import create_app
from app.settings import ConfigurationError, Settings
from tests import services

# Whatever the shell running the tests holds, the commands see only what a test gives them.
SETTINGS_VARIABLES = {f.name.upper() for f in fields(Settings)}
# Where a command that wrongly started would go: a database no test creates, Redis db 15.
NEVER_CREATED = "postgresql://postgres@127.0.0.1:5432/kbi_never_created"
COMMANDS = {
    "serve": ["kb-ingest", "serve", "--port", "0"],
    "migrate": ["kb-ingest", "migrate"],
    "workspaces list": ["kb-ingest", "workspaces", "list"],
    "clients create": ["kb-ingest", "clients", "create", "--workspace", "00000000-0000-0000-0000-000000000001", "--scope", "*"],
    "worker": ["kb-ingest-worker", "--processes", "1"],
}


def run(command: str, environment: dict[str, str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`command` with only `environment` of the service's settings; the worker also gets a
    broker and a database URL, which it needs to get as far as starting."""
    program, *args = COMMANDS[command]
    base = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES} | {"DATA_DIR": str(data_dir)}
    if program == "kb-ingest-worker":
        base |= {"DATABASE_URL": NEVER_CREATED, "REDIS_URL": services.REDIS_URL, "REDIS_NAMESPACE": "kbi-test-refused-worker"}
    script = Path(sys.executable).parent / program
    return subprocess.run([str(script), *args], env=base | environment, capture_output=True, text=True, timeout=30)


def assert_one_line(result: subprocess.CompletedProcess[str], expected: str, *, code: int = 2) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert result.returncode == code, result.stderr
    return lines[0]


@pytest.mark.parametrize("broker", [{"redis_url": "redis://127.0.0.1:6379/15"}, {"broker_url": "amqp://guest:guest@127.0.0.1:5672/"}])
def test_an_api_with_a_broker_but_no_database_url_refuses_to_start(tmp_path, broker):
    """Its jobs would go to a SQLite file that no separate worker process shares."""
    with pytest.raises(ConfigurationError, match="DATABASE_URL is not"):
        create_app(Settings(data_dir=tmp_path, secret_key="k" * 40, **broker))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["serve", "migrate", "workspaces list", "worker"])
def test_a_value_that_is_not_a_number_stops_every_command_with_exit_2(tmp_path, command):
    result = run(command, {"BATCH_SIZE": "abc"}, tmp_path)
    assert_one_line(result, "BATCH_SIZE='abc' is not a valid int")
    assert list(tmp_path.iterdir()) == []
