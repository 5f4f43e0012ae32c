"""`kbi` against a live service: what a migration script or a CI job would run, and its exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import fields
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from kb_client import Client
from kb_client.cli import config as cli_config
from kb_client.cli import kbi
from tests.client.records import articles, content_hub_documents


def write_lines(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_submit_with_wait_batches_the_lines_and_exits_zero_when_every_job_completes(kbi_run, kb_id, tmp_path) -> None:
    source = write_lines(tmp_path / "articles.jsonl", articles(25))
    result = kbi_run("submit", str(source), "--kb", kb_id, "--batch-size", "10", "--wait", "--max-interval", "0.2", "--json")
    assert result.exit_code == 0, result.stderr
    jobs = json.loads(result.stdout)["jobs"]
    assert [j["status"] for j in jobs] == ["completed"] * 3
    assert [j["data"]["progress"]["successful"] for j in jobs] == [10, 10, 5]
    assert "completed: 5/5 processed" in result.stderr


def test_submit_uploads_a_json_document_whole_and_prints_its_job_id(kbi_run, client: Client, kb_id, tmp_path) -> None:
    source = tmp_path / "export.json"
    source.write_text(json.dumps({"records": articles(4)}))
    result = kbi_run("submit", str(source), "--kb", kb_id)
    assert result.exit_code == 0, result.stderr
    (job_id,) = result.stdout.split()
    assert "(whole file)" in result.stderr
    assert client.wait(job_id).progress.successful == 4


def test_submit_reads_json_lines_from_standard_input(kbi_run, client: Client, kb_id) -> None:
    lines = "".join(json.dumps(r) + "\n" for r in articles(3))
    result = kbi_run("submit", "-", "--kb", kb_id, input=lines)
    assert result.exit_code == 0, result.stderr
    (job_id,) = result.stdout.split()
    assert client.wait(job_id).progress.successful == 3


def test_a_bad_line_stops_the_submit_and_names_the_line_after_printing_what_was_sent(kbi_run, kb_id, tmp_path) -> None:
    source = tmp_path / "broken.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in articles(3)) + "{not json\n")
    result = kbi_run("submit", str(source), "--kb", kb_id, "--batch-size", "2")
    assert result.exit_code == 2  # the input file's fault, not the service's
    assert len(result.stdout.split()) == 1
    assert f"{source}:4: not valid JSON" in result.stderr
    assert "records from index 2 on were not submitted" in result.stderr


@pytest.mark.parametrize(("ending", "code"), [("completed", 0), ("failed", 3), ("cancelled", 4), ("pending", 6)])
def test_status_exit_code_says_how_the_job_ended(live_server, kbi_run, client: Client, kb_id, ending, code) -> None:
    if ending != "completed":
        live_server.pause_worker()
    job_id = client.submit_job(kb_id, {"records": articles(1)}).job_id
    if ending == "failed":
        live_server.fail_job(job_id, "adapter generic-json is no longer available")
    elif ending == "cancelled":
        client.cancel_job(job_id)
    elif ending == "completed":
        client.wait(job_id)
    result = kbi_run("status", job_id)
    assert result.exit_code == code
    assert f"Job {job_id}: {ending}" in result.stdout


def test_watch_exits_three_when_a_job_fails_and_five_when_time_runs_out(live_server, kbi_run, client: Client, kb_id) -> None:
    live_server.pause_worker()
    failing, waiting = (client.submit_job(kb_id, {"records": articles(2, start=n)}).job_id for n in (0, 10))
    live_server.fail_job(failing, "adapter generic-json is no longer available")
    failed = kbi_run("watch", failing, "--max-interval", "0.2", "--json")
    assert failed.exit_code == 3
    assert json.loads(failed.stdout)["jobs"][0]["result"]["error"] == "adapter generic-json is no longer available"
    timed_out = kbi_run("watch", waiting, "--timeout", "0.5", "--max-interval", "0.2")
    assert timed_out.exit_code == 5
    assert "0/2 processed" in timed_out.stderr


def test_with_wait_and_json_the_jobs_sent_before_a_bad_line_are_still_printed(kbi_run, client: Client, kb_id, tmp_path) -> None:
    source = tmp_path / "broken.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in articles(5)) + "{not json\n")
    result = kbi_run("submit", str(source), "--kb", kb_id, "--batch-size", "2", "--wait", "--json")
    assert result.exit_code == 2
    jobs = json.loads(result.stdout)["jobs"]
    assert [(j["firstRecord"], j["records"]) for j in jobs] == [(0, 2), (2, 2)]
    assert all(client.wait(j["jobId"]).progress.successful == 2 for j in jobs)


def test_a_byte_order_mark_and_crlf_lines_are_read(kbi_run, client: Client, kb_id, tmp_path) -> None:
    """Windows exports; the BOM is also stripped from standard input."""
    lines = "".join(json.dumps(r) + "\r\n" for r in articles(3))
    source = tmp_path / "windows.jsonl"
    source.write_bytes(b"\xef\xbb\xbf" + lines.encode())
    document = tmp_path / "windows.json"
    document.write_bytes(b"\xef\xbb\xbf" + json.dumps({"records": articles(2, start=3)}).encode())
    cases = (((str(source),), None, 3), (("-",), "\ufeff" + lines, 3), ((str(document), "--batch-size", "5"), None, 2), ((str(document),), None, 2))
    for args, input, count in cases:
        result = kbi_run("submit", *args, "--kb", kb_id, input=input)
        assert result.exit_code == 0, result.stderr
        assert sum(client.wait(j).progress.processed for j in result.stdout.split()) == count


def test_an_input_without_records_is_a_usage_error(kbi_run, kb_id, tmp_path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n")
    result = kbi_run("submit", str(empty), "--kb", kb_id, "--wait")
    assert result.exit_code == 2
    assert "holds no records" in result.stderr


@pytest.mark.parametrize(("adapter", "document"), [
    ("generic-json", {"records": []}), ("content-hub", [[], {}]), ("content-hub", []), ("content-hub", [[[], {}], [[]]]),
])
def test_a_document_without_records_is_a_usage_error_whole_or_split(kbi_run, client: Client, kb_id, tmp_path, adapter,
                                                                     document) -> None:
    """Sent whole, it was the service's 400 and exit 1."""
    source = tmp_path / "empty.json"
    source.write_text(json.dumps(document))
    for flags in ([], ["--batch-size", "5"]):
        result = kbi_run("submit", str(source), "--kb", kb_id, "--adapter", adapter, *flags)
        assert result.exit_code == 2, (flags, result.stderr)
        assert "empty.json holds no records: nothing was submitted" in result.stderr
    assert client.list_jobs().total == 0


def test_a_document_that_is_not_json_or_not_generic_json_is_a_usage_error_whole_or_split(kbi_run, client: Client, kb_id,
                                                                                          tmp_path) -> None:
    broken, latin, other = tmp_path / "broken.json", tmp_path / "latin.json", tmp_path / "other.json"
    broken.write_text('{"records": [')
    latin.write_bytes(json.dumps({"records": [{"id": "é", "content": "café"}]}, ensure_ascii=False).encode("latin-1"))
    other.write_text(json.dumps({"items": articles(2)}))
    for flags in ([], ["--batch-size", "5"]):
        assert f"{broken}: not valid JSON" in kbi_run("submit", str(broken), "--kb", kb_id, *flags).stderr
        unreadable = kbi_run("submit", str(latin), "--kb", kb_id, *flags)
        assert unreadable.exit_code == 2 and f"{latin}: not UTF-8 text" in unreadable.stderr
        result = kbi_run("submit", str(other), "--kb", kb_id, *flags)
        assert result.exit_code == 2
        assert f'{other} is not a generic-json document: it must be {{"records": [...]}}' in " ".join(result.stderr.split())
    assert kbi_run("submit", str(broken), "--kb", kb_id).exit_code == 2
    assert client.list_jobs().total == 0


def test_another_adapters_records_are_never_cut_into_jobs_a_document_goes_whole(kbi_run, client: Client, kb_id, tmp_path) -> None:
    """A plug-in's envelope is unknown to kbi: JSON lines crashed with a ValueError traceback (exit 1)."""
    lines = write_lines(tmp_path / "export.jsonl", articles(2))
    document = tmp_path / "export.json"
    document.write_text(json.dumps({"records": articles(2)}))
    marked = tmp_path / "marked.json"
    marked.write_bytes(b"\xef\xbb\xbf" + document.read_bytes())
    cases = [((str(lines),), "it is JSON lines"), (("-",), "it is JSON lines"),
             ((str(document), "--batch-size", "1"), "--batch-size was given"),
             ((str(marked),), "it starts with a byte-order mark"),
             (("--max-body-bytes", "100", str(document)), "it is over the 100-byte request limit")]
    for args, why in cases:
        before, after = (args[:2], args[2:]) if args[0] == "--max-body-bytes" else ((), args)
        result = kbi_run(*before, "submit", *after, "--kb", kb_id, "--adapter", "plug-in", input=lines.read_text())
        assert result.exit_code == 2, result.stderr
        assert f"kbi cannot cut the records of adapter 'plug-in' into jobs ({why}" in " ".join(result.stderr.split())
    assert client.list_jobs().total == 0
    whole = kbi_run("submit", str(document), "--kb", kb_id, "--adapter", "plug-in")
    assert whole.exit_code == 1  # sent as it is: the service judges it, and knows no such adapter
    assert "Unknown adapter: plug-in" in whole.stderr


def test_files_of_one_name_in_two_folders_get_their_own_idempotency_keys(kbi_run, client: Client, kb_id, tmp_path) -> None:
    paths = []
    for folder, start in (("eu", 0), ("us", 10)):
        (tmp_path / folder).mkdir()
        paths.append(str(write_lines(tmp_path / folder / "export.jsonl", articles(2, start=start))))
    first = kbi_run("submit", *paths, "--kb", kb_id, "--idempotency-prefix", "nightly", "--json")
    assert first.exit_code == 0, first.stderr
    jobs = json.loads(first.stdout)["jobs"]
    assert len({j["idempotencyKey"] for j in jobs}) == 2
    again = kbi_run("submit", *paths, "--kb", kb_id, "--idempotency-prefix", "nightly", "--json")
    assert [j["jobId"] for j in json.loads(again.stdout)["jobs"]] == [j["jobId"] for j in jobs]  # replayed
    assert all(client.wait(j["jobId"]).progress.successful == 2 for j in jobs)


@pytest.mark.parametrize("server_settings", [{"max_body_bytes": 20_000}])
def test_a_document_just_under_the_size_limit_is_split_not_refused(kbi_run, client: Client, kb_id, tmp_path) -> None:
    """The form around the file adds a few hundred bytes: a file of 19,950 bytes made a 413."""
    records, document = [], tmp_path / "near.json"
    while len(json.dumps({"records": records})) < 19_900:
        records.append({"id": f"r{len(records)}", "content": "x" * 40})
    document.write_text(json.dumps({"records": records}))
    result = kbi_run("--max-body-bytes", "20000", "submit", str(document), "--kb", kb_id)
    assert result.exit_code == 0, result.stderr
    assert sum(client.wait(j).progress.successful for j in result.stdout.split()) == len(records)


def test_the_records_of_failed_results_are_the_ones_that_failed_when_ids_repeat(kbi_run, client: Client, kb_id) -> None:
    job_id = client.submit_job(kb_id, {"records": [{"id": "dup", "content": "good v1"}, {"id": "dup", "content": 7}]}).job_id
    client.wait(job_id)
    result = kbi_run("results", job_id, "--failed", "--records")
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"id": "dup", "content": 7}]


def test_superseded_records_are_left_out_of_the_records_of_results(kbi_run, client: Client, kb_id) -> None:
    """Resubmitting one would bring back the content its job replaced."""
    job_id = client.submit_job(kb_id, {"records": [{"id": "dup", "content": "old"}, {"id": "dup", "content": "new"}]}).job_id
    client.wait(job_id)
    result = kbi_run("results", job_id, "--records")
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"id": "dup", "content": "new"}]
    assert "1 results are of records superseded" in result.stderr
    skipped = kbi_run("results", job_id, "--status", "skipped", "--records")
    assert skipped.stdout == ""


def test_the_records_of_failed_results_include_those_without_a_usable_id(kbi_run, client: Client, kb_id) -> None:
    """Found by their position in the payload: matched by id, they were left out."""
    records = [{"id": "ok", "content": "x"}, {"content": "no id"}, {"id": True, "content": "bool id"}, {"id": "bad", "content": 1}]
    job_id = client.submit_job(kb_id, {"records": records}).job_id
    client.wait(job_id)
    result = kbi_run("results", job_id, "--failed", "--records")
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == records[1:]


def test_failed_records_are_exported_fixed_and_resubmitted(kbi_run, client: Client, kb_id, tmp_path) -> None:
    broken = [{"id": f"bad-{i}", "title": f"Broken {i}"} for i in range(3)]
    job_id = client.submit_job(kb_id, {"records": articles(2) + broken}).job_id
    client.wait(job_id)
    report = kbi_run("results", job_id, "--failed")
    assert report.exit_code == 0
    lines = report.stdout.splitlines()
    assert lines[0] == "sourceId,status,action,entryId,error,detail,recordIndex"
    assert [line.split(",")[0] for line in lines[1:]] == ["bad-0", "bad-1", "bad-2"]
    retry = tmp_path / "retry.jsonl"
    assert kbi_run("results", job_id, "--failed", "--records", "-o", str(retry)).exit_code == 0
    exported = [json.loads(line) for line in retry.read_text().splitlines()]
    assert exported == broken
    write_lines(retry, [{**record, "content": "Fixed."} for record in exported])
    resubmitted = kbi_run("submit", str(retry), "--kb", kb_id, "--wait", "--max-interval", "0.2")
    assert resubmitted.exit_code == 0, resubmitted.stderr
    assert len(list(client.iter_entries(kb_id))) == 5


def test_results_as_json_lines(kbi_run, client: Client, kb_id) -> None:
    job_id = client.submit_job(kb_id, {"records": articles(3)}).job_id
    client.wait(job_id)
    result = kbi_run("results", job_id, "--json")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["sourceId"], r["status"], r["action"]) for r in rows] == [(f"doc-{i}", "success", "created") for i in range(3)]


def test_cancel_reports_each_job_and_exits_one_if_any_could_not_be_cancelled(live_server, kbi_run, client: Client, kb_id) -> None:
    done = client.wait(client.submit_job(kb_id, {"records": articles(1)}).job_id).id
    live_server.pause_worker()
    running = client.submit_job(kb_id, {"records": articles(1, start=5)}).job_id
    result = kbi_run("cancel", running, done, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["jobs"] == [
        {"jobId": running, "cancelled": True},
        {"jobId": done, "cancelled": False, "statusCode": 409, "message": f"Job {done} is already completed"},
    ]
    assert client.get_job(running).status == "cancelled"


def test_list_filters_jobs_by_status(live_server, kbi_run, client: Client, kb_id) -> None:
    live_server.pause_worker()
    pending = client.submit_job(kb_id, {"records": articles(1)}).job_id
    client.cancel_job(client.submit_job(kb_id, {"records": articles(1, start=1)}).job_id)
    listed = json.loads(kbi_run("list", "--status", "pending", "--json").stdout)
    assert listed["total"] == 1 and [j["id"] for j in listed["jobs"]] == [pending]
    table = kbi_run("list", "--all")
    assert table.exit_code == 0 and "2 of 2 jobs" in table.stdout and pending in table.stdout


def test_knowledge_bases_are_created_listed_and_their_entries_shown(kbi_run, client: Client) -> None:
    created = kbi_run("kb", "create", "handbook", "--description", "staff handbook")
    assert created.exit_code == 0
    kb_id = created.stdout.strip()
    assert kbi_run("kb", "create", "handbook", "--existing").stdout.strip() == kb_id
    client.wait(client.submit_job(kb_id, {"records": articles(2)}).job_id)
    listed = json.loads(kbi_run("kb", "list", "--json").stdout)
    assert [(k["name"], k["entryCount"]) for k in listed["knowledgeBases"]] == [("handbook", 2)]
    entries = json.loads(kbi_run("kb", "entries", kb_id, "--source-id", "doc-1", "--json").stdout)["entries"]
    assert [e["title"] for e in entries] == ["Article 1"]
    assert "generic-json" in kbi_run("adapters").stdout


def test_usage_errors_exit_two(kbi_run, kb_id, tmp_path) -> None:
    assert kbi_run("submit", str(tmp_path / "missing.json"), "--kb", kb_id).exit_code == 2
    assert kbi_run("submit", "-", "--kb", kb_id, "--options", "[1]").exit_code == 2
    assert kbi_run("status").exit_code == 2
    assert kbi_run("list", "--status", "lost").exit_code == 2


def test_with_json_a_usage_error_is_json_on_stderr_and_exits_two(kbi_run, client: Client, kb_id, tmp_path) -> None:
    """They came as click's plain "Usage: … Error: …" text, wherever --json stood."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    config = tmp_path / "kbi.toml"
    config.write_text("[profiles.local]\n")
    job_id = client.submit_job(kb_id, [content_hub_documents(1), {}], adapter="content-hub").job_id
    client.wait(job_id)
    cases = [
        (("submit", str(tmp_path / "nope.jsonl"), "--kb", kb_id, "--json"), "nope.jsonl is not a readable file"),
        (("--json", "submit", str(empty), "--kb", kb_id), "empty.jsonl holds no records"),
        (("results", job_id, "--records", "--json"), "--records knows generic-json jobs only"),
        (("--json", "--config", str(config), "--profile", "nope", "status", job_id), "has no [profiles.nope]"),
        (("status", "--json"), "Missing argument 'JOB_ID'"),
        (("--json", "list", "--status", "lost"), "Invalid value for '--status'"),
        (("--json", "frob"), "No such command 'frob'"),
        (("--json", "--max-body-bytes", "lots", "adapters"), "Invalid value for '--max-body-bytes'"),
    ]
    for args, message in cases:
        result = kbi_run(*args)
        assert result.exit_code == 2, args
        assert json.loads(result.stdout or "{}") in ({}, {"jobs": []}), args  # submit lists the jobs it sent: none
        error = json.loads(result.stderr)
        assert error["error"] == "UsageError" and message in error["message"], (args, error)
    plain = kbi_run("submit", str(tmp_path / "nope.jsonl"), "--kb", kb_id)
    assert plain.exit_code == 2 and plain.stderr.startswith("Usage: kbi submit")


def test_a_service_error_exits_one_with_the_servers_message(kbi_run) -> None:
    missing = str(uuid.uuid4())
    result = kbi_run("status", missing, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stderr) == {"error": "NotFound", "message": f"404 Job {missing} not found", "statusCode": 404}


def test_settings_come_from_flags_then_environment_then_the_config_file(live_server, tmp_path) -> None:
    config = tmp_path / "kbi.toml"
    credentials = "".join(f'{name} = "{value}"\n' for name, value in live_server.credentials.items())
    config.write_text(f'url = "http://127.0.0.1:1"\n{credentials}\n[profiles.local]\nurl = "{live_server.url}"\n')
    runner = CliRunner()
    by_profile = runner.invoke(kbi, ["--config", str(config), "--profile", "local", "adapters", "--json"])
    assert by_profile.exit_code == 0, by_profile.stderr
    by_env = runner.invoke(kbi, ["adapters"], env={"KBI_URL": live_server.url, "KBI_CONFIG": str(config)})
    assert by_env.exit_code == 0, by_env.stderr
    by_flag = runner.invoke(kbi, ["--url", live_server.url, "adapters"], env={**live_server.env, "KBI_URL": "http://127.0.0.1:1"})
    assert by_flag.exit_code == 0, by_flag.stderr
    unknown = runner.invoke(kbi, ["--config", str(config), "--profile", "prod", "adapters"])
    assert unknown.exit_code == 2 and "no [profiles.prod]" in unknown.stderr


def test_every_config_file_key_is_read_with_http_timeout_named_as_its_flag(live_server, tmp_path) -> None:
    """`http_timeout = 5` was refused as an unknown key: the file only knew the undocumented `timeout`."""
    config = tmp_path / "kbi.toml"
    credentials = "".join(f'{name} = "{value}"\n' for name, value in live_server.credentials.items())
    config.write_text(f'url = "{live_server.url}"\n{credentials}scope = "data-ingestion:read"\nhttp_timeout = 5\n'
                      'max_body_bytes = 20000\nmax_records_per_job = 50\n[profiles.slow]\ntimeout = 90\n')
    result = CliRunner().invoke(kbi, ["--config", str(config), "adapters"])
    assert result.exit_code == 0, result.stderr
    settings = cli_config.load({}, config=config, profile=None)
    assert (settings.http_timeout, settings.max_body_bytes, settings.max_records_per_job) == (5.0, 20_000, 50)
    assert settings.client_options()["timeout"] == 5.0
    assert cli_config.load({}, config=config, profile="slow").http_timeout == 90.0  # the older name, still read
    assert cli_config.load({"http_timeout": 2.0}, config=config, profile="slow").http_timeout == 2.0  # the flag wins
    config.write_text("http_timeout = 5\ntimeout = 6\n")
    both = CliRunner().invoke(kbi, ["--config", str(config), "adapters"])
    assert both.exit_code == 2 and "sets both timeout and http_timeout" in both.stderr


def test_the_readme_lists_every_config_file_key() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    table = readme[readme.index("The file's keys, each named as its flag is"):]
    rows = table[: table.index("\n\n", table.index("| key |"))].splitlines()
    documented = [[cell.strip().strip("`") for cell in row.split("|")[1:4]] for row in rows if row.startswith("| `")]
    assert [key for key, _, _ in documented] == [f.name for f in fields(cli_config.CliSettings)]
    assert all((flag, variable) == ("--" + key.replace("_", "-"), "KBI_" + key.upper()) for key, flag, variable in documented)


def test_a_token_from_the_environment_replaces_the_config_files_credentials(live_server, client: Client, tmp_path) -> None:
    """How to authenticate is one setting: it was 'give client credentials or a token, not both'."""
    config = tmp_path / "kbi.toml"
    config.write_text(f'url = "{live_server.url}"\nclient_id = "{uuid.uuid4()}"\nclient_secret = "wrong"\n')
    form = {"grant_type": "client_credentials", **live_server.credentials}
    token = httpx.post(f"{live_server.url}/api/v2/auth/token", data=form).json()["access_token"]
    result = CliRunner().invoke(kbi, ["adapters"], env={"KBI_CONFIG": str(config), "KBI_TOKEN": token})
    assert result.exit_code == 0, result.stderr


def test_the_installed_kbi_command_pipes_job_ids_into_watch(live_server, kb_id, tmp_path) -> None:
    kbi_bin = str(Path(sys.executable).parent / "kbi")
    source = write_lines(tmp_path / "a.jsonl", articles(6))
    env = {**live_server.env, "KBI_KNOWLEDGE_BASE": kb_id, "PATH": "/usr/bin:/bin"}
    submitted = subprocess.run([kbi_bin, "submit", str(source), "--batch-size", "4"], env=env, capture_output=True,
                               text=True, timeout=60)
    assert submitted.returncode == 0, submitted.stderr
    job_ids = submitted.stdout.split()
    assert len(job_ids) == 2
    watched = subprocess.run([kbi_bin, "watch", *job_ids, "--max-interval", "0.2"], env=env, capture_output=True,
                             text=True, timeout=60)
    assert watched.returncode == 0, watched.stderr
    assert all(job_id in watched.stdout for job_id in job_ids)


def test_idempotency_key_prefixes_stay_as_they_were_for_one_file_and_fit_a_header() -> None:
    from kb_client.cli.jobs import _key_prefix

    assert _key_prefix("nightly", "exports/export.jsonl", ("exports/export.jsonl",)) == "nightly:export.jsonl"  # unchanged
    assert _key_prefix("nightly", "eu/export.jsonl", ("eu/export.jsonl", "us/export.jsonl")) == "nightly:eu/export.jsonl"
    for name in ("données.jsonl", "x" * 300 + ".jsonl"):
        key = _key_prefix("nightly", name, (name,))
        assert key.isascii() and key.isprintable() and len(key) < 40
        assert key == _key_prefix("nightly", name, (name,))  # the same on a re-run
