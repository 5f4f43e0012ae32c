"""Reading request bodies as streams, so size limits hold without a Content-Length.

A multipart upload's file parts are spooled to disk past 1 MB by python-multipart, so a
30 MB upload is never held whole in memory while it arrives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import python_multipart
from litestar import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import Field, File

from adapters.base import Issue
from app.errors import InvalidInput, PayloadTooLarge

SPOOL_TO_DISK_AFTER = 1024 * 1024


@dataclass
class Form:
    fields: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, File] = field(default_factory=dict)

    def close(self) -> None:
        for f in self.files.values():
            f.close()


async def read_body(request: Request, limit: int, *, feed: Callable[[bytes], object] | None = None) -> list[bytes]:
    """The body's chunks as they arrived, each also handed to `feed` on arrival."""
    chunks = []
    async for chunk in _limited(request, limit):
        if feed is not None:
            feed(chunk)
        chunks.append(chunk)
    return chunks


async def read_form(request: Request, limit: int) -> Form:
    form = Form()

    def on_field(f: Field) -> None:
        form.fields[_name(f.field_name)] = f.value or b""

    def on_file(f: File) -> None:
        form.files[_name(f.field_name)] = f

    try:
        parser = python_multipart.create_form_parser(
            {"Content-Type": request.headers.get("content-type", "").encode("latin-1")},
            on_field,
            on_file,
            config={"MAX_MEMORY_FILE_SIZE": SPOOL_TO_DISK_AFTER},
        )
        async for chunk in _limited(request, limit):
            parser.write(chunk)
        parser.finalize()
    except (FormParserError, ValueError) as error:
        form.close()
        raise InvalidInput(f"Malformed multipart body: {error}", [Issue("body", f"is not a valid multipart form: {error}")]) from None
    except PayloadTooLarge:
        form.close()
        raise
    return form


async def _limited(request: Request, limit: int) -> AsyncIterator[bytes]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(_too_large(limit))
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(_too_large(limit))
        yield chunk


def _too_large(limit: int) -> str:
    return f"Request body exceeds the maximum of {limit} bytes ({limit / 1024 / 1024:g} MB); split the payload into several jobs"


def _name(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", "replace")
