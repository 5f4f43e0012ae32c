"""Reading request bodies as streams, so size limits hold without a Content-Length.

A multipart upload's file parts are spooled to disk past 1 MB by python-multipart, so a
30 MB upload is never held whole in memory while it arrives.

A body must arrive whole. python-multipart's `finalize()` does not check that the form's
closing boundary came (its own TODO), and fires a field only at the end of its part: a
form cut off inside its `options` part parsed as a complete form without options, and
the job ran with the defaults. A client that goes away mid-body is its own mistake, not
a server error (Litestar raises a 500 for it).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import python_multipart
from litestar import Request
from litestar.exceptions import InternalServerException
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import Field, File, FormParser, MultipartParser, MultipartState

from adapters.base import Issue
from app.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from app.settings import Settings

log = logging.getLogger(__name__)

SPOOL_TO_DISK_AFTER = 1024 * 1024
# What Litestar's InternalServerException says when the client went away mid-body.
DISCONNECTED = "client disconnected prematurely"


@dataclass
class Form:
    fields: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, File] = field(default_factory=dict)

    def close(self) -> None:
        for f in self.files.values():
            f.close()


@dataclass(frozen=True)
class BodyLimits:
    """How long a body waits for its next part is app/api/stalled_bodies.py's, for every endpoint."""

    max_bytes: int

    @classmethod
    def of(cls, settings: Settings) -> BodyLimits:
        return cls(settings.max_body_bytes)


async def read_body(request: Request, limits: BodyLimits, *, feed: Callable[[bytes], object] | None = None) -> list[bytes]:
    """The body's chunks as they arrived, each also handed to `feed` on arrival."""
    chunks = []
    async for chunk in _limited(request, limits):
        if feed is not None:
            feed(chunk)
        chunks.append(chunk)
    return chunks


async def read_form(request: Request, limits: BodyLimits) -> Form:
    form = Form()

    def on_field(f: Field) -> None:
        form.fields[_name(f.field_name)] = f.value or b""

    def on_file(f: File) -> None:
        form.files[_name(f.field_name)] = f

    parser = None
    try:
        parser = python_multipart.create_form_parser(
            {"Content-Type": request.headers.get("content-type", "").encode("latin-1")},
            on_field,
            on_file,
            config={"MAX_MEMORY_FILE_SIZE": SPOOL_TO_DISK_AFTER},
        )
        async for chunk in _limited(request, limits):
            parser.write(chunk)
        parser.finalize()
        if not isinstance(parser.parser, MultipartParser) or parser.parser.state != MultipartState.END:
            raise ValueError("the body ended before the form's closing boundary (was the upload cut off?)")
    except (FormParserError, ValueError) as error:
        _abandon(form, parser)
        raise InvalidInput(f"Malformed multipart body: {error}", [Issue("body", f"is not a valid multipart form: {error}")]) from None
    except BaseException:  # also when the client went away
        _abandon(form, parser)
        raise
    return form


def _abandon(form: Form, parser: FormParser | None) -> None:
    """Close a form's files, also the part being written when the body stopped: that one
    is held only by the parser's callbacks, closures that refer to each other, which left
    alone only the cycle collector would free. Aborted uploads' spooled parts stayed open,
    and on disk, while the API ran. Dropping the callbacks breaks the cycle, and the part's
    file is closed (and deleted) at once."""
    form.close()
    if parser is not None and isinstance(parser.parser, MultipartParser):
        parser.parser.callbacks.clear()


# Charsets a JSON body may name and still be read as UTF-8 (ASCII is a subset of it).
_UTF8_CHARSETS = {"utf-8", "utf8", "us-ascii", "ascii"}


def check_coding(request: Request) -> None:
    """415 for a compressed body (RFC 9110 §15.5.16), which was parsed as JSON and
    blamed on "surrogates"."""
    coding = request.headers.get("content-encoding", "").strip().lower()
    if coding not in ("", "identity"):
        raise UnsupportedMediaType(f"Content-Encoding {coding!r} is not supported; send the body uncompressed")


def check_charset(request: Request) -> None:
    """415 for JSON said to be in a charset it is not read in: JSON is UTF-8 (RFC 8259 §8.1)."""
    charset = request.content_type[1].get("charset", "utf-8").strip().lower()
    if charset not in _UTF8_CHARSETS:
        raise UnsupportedMediaType(f"charset {charset!r} is not supported; JSON is sent as UTF-8")


def is_json(media_type: str) -> bool:
    """`media_type`: the Content-Type without parameters, lowercased; none is read as JSON."""
    return media_type in ("", "application/json") or media_type.endswith("+json")


async def require_json(request: Request) -> None:
    """A route's `before_request`, for bodies Litestar decodes: a body that says it is not
    JSON (text/plain, a form, compressed, another charset) is a 415, as a job's is,
    rather than being parsed as JSON all the same."""
    check_coding(request)
    media_type = request.content_type[0]
    if not is_json(media_type):
        raise UnsupportedMediaType(f"Content-Type {media_type!r} is not supported; use application/json")
    check_charset(request)


async def _limited(request: Request, limits: BodyLimits) -> AsyncIterator[bytes]:
    """The body's chunks, within its size limit."""
    limit = limits.max_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(_too_large(limit))
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(_too_large(limit))
            yield chunk
    except InternalServerException as error:
        if error.detail != DISCONNECTED:
            raise
        log.info("the client went away after sending %d bytes of the body", size)
        raise ClientDisconnected(f"The client disconnected after {size} bytes, before the whole body arrived") from None


class ClientDisconnected(InvalidInput):
    """The body stopped half way: nothing is created, and no one is left to answer (400)."""


def _too_large(limit: int) -> str:
    return f"Request body exceeds the maximum of {limit} bytes ({limit / 1024 / 1024:g} MB); split the payload into several jobs"


def _name(raw: bytes | None) -> str:
    return (raw or b"").decode("utf-8", "replace")
