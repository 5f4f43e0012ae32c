"""Settings that cannot make a working deployment are refused when a process starts.

The commands run as an operator runs them, in a subprocess with the bad environment: each
must stop at once with exit 2 and one line on stderr naming the variable, never a traceback;
one whose database is out of reach, with exit 1 and one line saying which and why.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from sqlalchemy import make_url

from app import db
from app.main import create_app
from app.settings import ConfigurationError, Settings, allowed_range
from tests import services

README = Path(__file__).resolve().parent.parent / "README.md"
RANGED = [f for f in fields(Settings) if allowed_range(f) is not None]
# Whatever the shell running the tests holds, the commands see only what a test gives them.
SETTINGS_VARIABLES = {f.name.upper() for f in fields(Settings)}
# Where a command that wrongly started would go: a database no test creates, Redis db 15.
MISSING_DATABASE = "kbi_never_created"
NEVER_CREATED = f"postgresql://postgres@127.0.0.1:5432/{MISSING_DATABASE}"
COMMANDS = {
    "serve": ["kb-ingest", "serve", "--port", "0"],
    "migrate": ["kb-ingest", "migrate"],
    "workspaces list": ["kb-ingest", "workspaces", "list"],
    "clients create": ["kb-ingest", "clients", "create", "--workspace", "00000000-0000-0000-0000-000000000001", "--scope", "*"],
    "worker": ["kb-ingest-worker", "--processes", "1"],
}


def run(command: str, environment: dict[str, str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`command` with only `environment` of the service's settings; the worker also gets a
    broker and a database URL, which it needs to get as far as starting. A command that
    wrongly starts is stopped, with every process it started, after 30 s."""
    program, *args = COMMANDS[command]
    base = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES} | {"DATA_DIR": str(data_dir)}
    if program == "kb-ingest-worker":
        base |= {"DATABASE_URL": NEVER_CREATED, "REDIS_URL": services.REDIS_URL, "REDIS_NAMESPACE": "kbi-test-refused-worker"}
    argv = [str(Path(sys.executable).parent / program), *args]
    process = subprocess.Popen(argv, env=base | environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        stop(process)
        pytest.fail(f"{command} started with {environment}, where it should have refused to")
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM first: uvicorn and Dramatiq's main process then stop (and wait for) their own children."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


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


def test_every_numeric_setting_has_a_range_which_the_readme_states():
    numeric = [f.name for f in fields(Settings) if f.type == "int"]
    assert numeric and [f.name for f in RANGED] == numeric
    rows = {m[1]: m[2] for m in re.finditer(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", README.read_text(), re.MULTILINE)}
    for setting in RANGED:
        least, most = allowed_range(setting)  # type: ignore[misc]
        assert rows[setting.name.upper()].startswith(f"{least}–{most}"), setting.name


@pytest.mark.parametrize("setting", RANGED, ids=lambda f: f.name.upper())
def test_a_number_outside_its_range_is_refused_naming_the_variable_and_the_range(setting):
    name, (least, most) = setting.name.upper(), allowed_range(setting)
    for value in (least - 1, most + 1):
        with pytest.raises(ConfigurationError, match=f"^{name}={value} is out of range: it must be from {least} to {most}"):
            Settings.from_env({name: str(value)})
    assert [getattr(Settings.from_env({name: str(v)}), setting.name) for v in (least, most)] == [least, most]


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        ("serve", "EMBEDDED_WORKER_THREADS", "0"),  # started, and every job stayed pending for ever
        ("worker", "SWEEP_INTERVAL_SECONDS", "0"),  # the sweeper looped without a pause
        ("serve", "BATCH_SIZE", "0"),  # batches unlimited in records
        ("worker", "MAX_BATCH_ATTEMPTS", "0"),  # every job failed at once
        ("clients create", "SECRET_HASH_COST", "0"),  # a traceback from scrypt
        ("serve", "SECRET_HASH_COST", "40"),  # an ExceptionGroup traceback at the embedded start
        ("migrate", "WORKER_NICENESS", "-1"),
    ],
)
def test_a_harmful_number_stops_the_command_at_start(tmp_path, command, variable, value):
    result = run(command, {variable: value}, tmp_path)
    assert_one_line(result, f"{variable}={value} is out of range: it must be from ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["serve", "migrate", "workspaces list", "worker"])
def test_an_unknown_log_level_stops_every_command_at_start(tmp_path, command):
    """The API and the worker processes failed in logging with a 37-line traceback each;
    migrate and the admin commands, which log nothing, ran on."""
    result = run(command, {"LOG_LEVEL": "LOUD"}, tmp_path)
    assert_one_line(result, "LOG_LEVEL='LOUD' is not a log level: use DEBUG, INFO, WARNING, ERROR or CRITICAL")
    assert list(tmp_path.iterdir()) == []


def test_log_levels_are_python_s_names_in_any_case():
    assert [Settings.from_env({"LOG_LEVEL": name}).log_level for name in ("debug", "Warning", "WARN", "CRITICAL")] == ["debug", "Warning", "WARN", "CRITICAL"]


@pytest.mark.parametrize(
    ("command", "variable", "value", "found"),
    [
        ("serve", "DATABASE_URL", "mysql://kb:hunter2@db/kb", "it starts with mysql://"),  # ModuleNotFoundError: MySQLdb
        ("migrate", "DATABASE_URL", "mysql://kb:hunter2@db/kb", "it starts with mysql://"),
        ("workspaces list", "DATABASE_URL", "garbage", "it has no scheme"),  # sqlalchemy's ArgumentError
        ("worker", "DATABASE_URL", "mysql://kb:hunter2@db/kb", "it starts with mysql://"),
        ("serve", "REDIS_URL", "notaurl", "it has no scheme"),  # ValueError: Redis URL must specify ...
        ("worker", "REDIS_URL", "notaurl", "it has no scheme"),
        ("serve", "BROKER_URL", "http://kb:hunter2@x", "it starts with http://"),  # ... misleading for BROKER_URL
        ("worker", "BROKER_URL", "http://kb:hunter2@x", "it starts with http://"),
    ],
)
def test_a_url_of_another_kind_stops_the_command_at_start_without_showing_the_url(tmp_path, command, variable, value, found):
    line = assert_one_line(run(command, {variable: value}, tmp_path), f"{variable} must be a ")
    assert line.endswith(found) and "hunter2" not in line
    assert list(tmp_path.iterdir()) == []


def test_the_urls_each_setting_accepts():
    # Passwords with `/`, `#`, `?` (base64 secrets) connect, and were refused by urlsplit's reading.
    passwords = ("postgresql://kb:Xk9/Lq+3vR@db:5432/kb", "postgresql://kb:ab#c/d@db/kb", "postgresql://kb:a?b@db/kb")
    for url in ("postgresql://kb:pw@db:5432/kb?sslmode=require", "postgres://db/kb", "postgresql+psycopg://db/kb", "postgresql://", *passwords):
        assert Settings(database_url=url).database_url == url
    assert Settings(redis_url="REDIS://cache:6379/0").redis_url == "REDIS://cache:6379/0"  # as redis-py takes it
    # What the benchmarks run with: every request counted, none refused.
    assert Settings.from_env({"RATE_LIMIT_PER_MINUTE": "100000000"}).rate_limit_per_minute == 100_000_000
    for url in ("redis://cache:6379/0", "rediss://:pw@cache/1", "unix:///run/redis.sock"):
        assert Settings(redis_url=url).redis_url == Settings(broker_url=url).broker_url == url
    for url in ("amqp://guest:guest@mq:5672/", "amqps://mq/kb"):
        assert Settings(broker_url=url).broker_url == url
    for bad in ("postgresql://db:abc/kb", "sqlite:///kb.db", "postgresql+psycopg2://db/kb"):
        with pytest.raises(ConfigurationError, match="^DATABASE_URL must be a PostgreSQL URL"):
            Settings(database_url=bad)



NO_SUCH_DATABASE = make_url(services.ADMIN_URL).set(database=MISSING_DATABASE)
NO_SERVER = make_url("postgresql://postgres:hunter2@127.0.0.1:1").set(database=MISSING_DATABASE)


@pytest.mark.parametrize(
    ("command", "url", "reason"),
    [
        ("migrate", NO_SUCH_DATABASE, f'"{MISSING_DATABASE}" does not exist'),
        ("workspaces list", NO_SUCH_DATABASE, f'"{MISSING_DATABASE}" does not exist'),
        ("serve", NO_SUCH_DATABASE, f'"{MISSING_DATABASE}" does not exist'),
        ("migrate", NO_SERVER, "Connection refused"),
        ("workspaces list", NO_SERVER, "Connection refused"),
    ],
    ids=["migrate-no-such-database", "workspaces-list-no-such-database", "serve-no-such-database", "migrate-no-server", "workspaces-list-no-server"],
)
def test_a_database_out_of_reach_ends_the_command_with_one_line_saying_where_and_why(tmp_path, command, url, reason):
    """migrate and the admin commands printed 114-121 lines of traceback; serve, which
    migrates the database at an embedded start, one 10 KB log line of it, and exited 3."""
    environment = {"DATABASE_URL": url.render_as_string(hide_password=False), "SECRET_KEY": "k" * 40}
    line = assert_one_line(run(command, environment, tmp_path), "error: cannot connect to PostgreSQL database", code=1)
    assert f'"{MISSING_DATABASE}" on {url.host}' in line and reason in line
    assert not url.password or url.password not in line


def test_a_url_naming_no_database_is_said_to_mean_the_default_one():
    assert db._where(make_url("postgresql://postgres@127.0.0.1:1")) == "the default PostgreSQL database on 127.0.0.1:1"


@pytest.mark.parametrize("command", ["migrate", "workspaces list", "clients create"])
def test_migrate_and_the_admin_commands_refuse_a_broker_without_a_database_url(tmp_path, command):
    """As serve and the worker do: they went on with a SQLite file of their own in DATA_DIR,
    and `migrate` reported success on a database no process of the deployment uses."""
    assert_one_line(run(command, {"REDIS_URL": services.REDIS_URL}, tmp_path), "DATABASE_URL is not")
    assert list(tmp_path.iterdir()) == []
