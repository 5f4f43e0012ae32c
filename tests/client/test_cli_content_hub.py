"""`kbi submit --adapter content-hub` against a live service: every accepted shape of an export
(docs/content-hub.md), sent whole or split into jobs, arrives with every document, in order."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

from kb_client import Client
from tests.client.records import content_hub_documents

META = {"timeTaken": "1ms"}
DOCS = content_hub_documents(5, size=200)
SOURCE_IDS = [f"ch-{i}" for i in range(5)]
SHAPES: dict[str, Any] = {
    "documents then metadata": [DOCS, META],
    "a bare list of documents": DOCS,
    "a list of pages": [[DOCS[:2], META], [DOCS[2:], META]],
    "pages concatenated flat": [DOCS[:2], META, DOCS[2:], META],
    "pages without metadata": [[DOCS[:2]], [DOCS[2:]]],
    "flat without metadata": [DOCS[:2], DOCS[2:]],
}
# Each way `kbi submit` takes to a document: flags before the command, after it, a leading
# byte-order mark, and the jobs' (firstRecord, records) expected.
ROUTES: dict[str, tuple[list[str], list[str], bool, list[tuple[int | None, int | None]]]] = {
    "whole": ([], [], False, [(None, None)]),
    "--batch-size": ([], ["--batch-size", "2"], False, [(0, 2), (2, 2), (4, 1)]),
    "over the size limit": (["--max-body-bytes", "1200"], [], False, [(0, 2), (2, 2), (4, 1)]),
    "byte-order mark": ([], [], True, [(0, 5)]),
}


def write_export(path: Path, export: Any, *, bom: bool = False) -> Path:
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + json.dumps(export).encode())
    return path


def landed(client: Client, job_ids: list[str]) -> list[str]:
    """The source ids the jobs wrote, in the order of the jobs and of the records in each."""
    client.wait_all(job_ids)
    rows = [sorted(client.iter_results(job_id), key=lambda row: row["recordIndex"]) for job_id in job_ids]
    return [row["sourceId"] for job_rows in rows for row in job_rows]


@pytest.mark.parametrize("shape", SHAPES)
def test_every_accepted_shape_arrives_whole_or_split_with_every_document(kbi_run, client: Client, kb_id, tmp_path, shape) -> None:
    """It was split as `document[0]`: the flat shape lost all pages but the first, a list of
    pages became a 400, and a bare list of documents a usage error."""
    for route, (before, after, bom, spans) in ROUTES.items():
        source = write_export(tmp_path / f"{route}.json", SHAPES[shape], bom=bom)
        result = kbi_run(*before, "submit", str(source), "--kb", kb_id, "--adapter", "content-hub", *after, "--json")
        assert result.exit_code == 0, (route, result.stderr)
        jobs = json.loads(result.stdout)["jobs"]
        assert [(j["firstRecord"], j["records"]) for j in jobs] == spans, route
        assert landed(client, [j["jobId"] for j in jobs]) == SOURCE_IDS, route
    assert sorted(e["sourceId"] for e in client.iter_entries(kb_id)) == SOURCE_IDS


def test_the_documented_example_of_a_flat_export_waits_to_one_job_of_five(kbi_run, client: Client, kb_id, tmp_path) -> None:
    """The audit's reproduction: exit 0 with one job of 2 records, ch-2..ch-4 dropped."""
    source = write_export(tmp_path / "ch_flat.json", [DOCS[:2], META, DOCS[2:], META])
    result = kbi_run("submit", str(source), "--kb", kb_id, "--adapter", "content-hub", "--batch-size", "10", "--wait",
                     "--max-interval", "0.2", "--json")
    assert result.exit_code == 0, result.stderr
    assert [j["data"]["progress"]["successful"] for j in json.loads(result.stdout)["jobs"]] == [5]


@pytest.mark.parametrize(("export", "problem"), [
    ([DOCS[:1], META, META], "[2] is an object that follows no list of documents"),
    ([META, DOCS[:1]], "[0] is an object that follows no list of documents"),
    ([DOCS[:1], "1ms"], "[1] is a JSON string"),
    ([[DOCS[:1], META, META]], "[0][2]: a page is [documents, metadata]"),
    ([[DOCS[:1], "1ms"]], "[0][1]: a page's metadata must be an object"),
    ([[DOCS[0], [DOCS[1]]], META], "[0][1] is a JSON array, not a document object"),
    ({"records": DOCS}, "it is a JSON object; an export is a list"),
])
def test_an_export_out_of_shape_is_a_usage_error_and_nothing_is_sent(kbi_run, client: Client, kb_id, tmp_path, export,
                                                                      problem) -> None:
    source = write_export(tmp_path / "odd.json", export)
    for flags in (["--batch-size", "2"], []):  # split, or sent whole (where the service refused it: exit 1)
        result = kbi_run("submit", str(source), "--kb", kb_id, "--adapter", "content-hub", *flags)
        assert result.exit_code == 2, (flags, result.stderr)
        assert f"{source} is not a content-hub export: {problem}" in " ".join(result.stderr.split())
    assert client.list_jobs().total == 0


def test_a_content_hub_line_that_is_not_a_document_object_stops_the_submit(kbi_run, client: Client, kb_id, tmp_path) -> None:
    """Sent as `[[line], {}]`, a line holding a list of documents was read as a page of them."""
    source = tmp_path / "export.jsonl"
    source.write_text(f"{json.dumps(DOCS[0])}\n{json.dumps(DOCS[1])}\n{json.dumps(DOCS[2:])}\n")
    result = kbi_run("submit", str(source), "--kb", kb_id, "--adapter", "content-hub", "--batch-size", "1")
    assert result.exit_code == 2
    assert f"{source}:3: a content-hub document must be a JSON object, not a JSON array" in result.stderr
    assert landed(client, result.stdout.split()) == ["ch-0", "ch-1"]
