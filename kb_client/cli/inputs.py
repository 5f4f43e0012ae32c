"""Reading the files `kbi submit` is given: JSON documents to upload whole, or records to batch.

A `.jsonl`/`.ndjson` file (or `-`, standard input) holds one record per line and is
read lazily, so a migration of any size runs in the memory of one batch. A `.json`
document is read whole and its records taken out of the adapter's envelope, so a file that
is not JSON, out of shape or empty is refused before anything is sent; it is then uploaded
as it is (streamed from disk), unless it must be split: then its records are batched like
the lines of a `.jsonl`.
"""

from __future__ import annotations

import codecs
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from kb_client import errors
from kb_client.cli import content_hub

LINE_SUFFIXES = {".jsonl", ".ndjson"}


def is_lines(name: str) -> bool:
    return name == "-" or Path(name).suffix.lower() in LINE_SUFFIXES


def lines_of(name: str, adapter: str) -> Iterator[Any]:
    """Each non-blank line as JSON; a bad line is an `InvalidRecord` naming the file and line.

    A content-hub line must be a document object: the jobs wrap the lines as `[[line, …], {}]`,
    where a list would be read as a page of documents."""
    # utf-8-sig: exports made on Windows often start with a byte-order mark.
    stream: IO[str] = sys.stdin if name == "-" else open(name, encoding="utf-8-sig")  # noqa: SIM115
    try:
        for number, line in enumerate(stream, start=1):
            if number == 1:
                line = line.removeprefix("\ufeff")  # standard input is not read with utf-8-sig
            if line.strip():
                yield _record(_parsed(line, f"{name}:{number}"), f"{name}:{number}", adapter)
    except UnicodeDecodeError as error:
        raise errors.InvalidRecord(f"{name}: not UTF-8 text: {error}") from None
    finally:
        if stream is not sys.stdin:
            stream.close()


def starts_with_bom(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8


def records_in_document(path: Path, adapter: str) -> list[Any]:
    """The records inside a JSON document's envelope: generic-json's `{"records": [...]}`, or
    the documents of a content-hub export in any shape the service accepts."""
    try:
        document = _parsed(path.read_text(encoding="utf-8-sig"), str(path))
    except UnicodeDecodeError as error:
        raise errors.InvalidRecord(f"{path}: not UTF-8 text: {error}") from None
    if adapter == "generic-json":
        if isinstance(document, dict) and isinstance(document.get("records"), list):
            return document["records"]
        raise click.UsageError(f'{path} is not a generic-json document: it must be {{"records": [...]}}')
    if adapter == "content-hub":
        try:
            return content_hub.documents_in(document)
        except content_hub.ShapeError as error:
            raise click.UsageError(f"{path} is not a content-hub export: {error}") from None
    raise ValueError(f"kbi does not know where the records of adapter {adapter!r} are")


def _record(value: Any, where: str, adapter: str) -> Any:
    if adapter == "content-hub" and not isinstance(value, dict):
        raise errors.InvalidRecord(f"{where}: a content-hub document must be a JSON object, not a JSON {content_hub.kind_of(value)}")
    return value


def _parsed(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise errors.InvalidRecord(f"{where}: not valid JSON: {error}") from None
