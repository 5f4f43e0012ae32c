"""Receiving a job submission (JSON body or multipart form) and turning it into a validated Submission.

Receiving and parsing are two steps: before parsing 30 MB of JSON, job creation looks
for an earlier job of the very same request by a digest of its bytes
(app/services/resubmissions.py), and a request it finds is never parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import blake3
import orjson
from litestar import Request

from adapters.base import Issue
from app.api import json_parsing
from app.api.body import BodyLimits, Form, check_charset, check_coding, is_json, read_body, read_form
from app.api.openapi import IDEMPOTENCY_KEY_PATTERN
from app.errors import InvalidInput, UnsupportedMediaType
from app.services.jobs import Submission
from app.services.payload_json import MAX_DEPTH, check_depth
from app.services.record_checks import has_escaped_nul

REQUIRED = ("adapterType", "knowledgeBaseId", "data")
MAX_ADAPTER_TYPE_LENGTH = 100


def idempotency_key(request: Request) -> str | None:
    values = request.headers.getall("idempotency-key", [])
    if not values:
        return None
    if len(values) > 1 or not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, values[0]):
        message = "must be one value of 1-255 printable ASCII characters, not starting or ending with a space"
        raise InvalidInput(f"Idempotency-Key {message}", [Issue("Idempotency-Key", message)])
    return values[0]


# What Received.frames() is made of: a JSON body after this, or these form fields.
JSON_FRAME = b"json\n"
FORM_FIELDS = ("adapterType", "knowledgeBaseId", "options", "data")
_CHUNK = 1024 * 1024


@dataclass
class Received:
    """A submission as it arrived, not yet parsed: a JSON body (in the chunks it came in)
    or a multipart form; and its request digest, if that was taken while it arrived."""

    parts: list[bytes] = field(default_factory=list)
    form: Form | None = None
    digest: bytes | None = None

    def frames(self) -> Iterator[bytes]:
        """The bytes that make up the submission, framed so that two submissions give the
        same stream only if they parse alike: a JSON body whole, after its kind; a form by
        its kind and each field it is read for with its length, not by its bytes, since
        every client picks its own boundary."""
        if self.form is None:
            yield JSON_FRAME
            yield from self.parts
            return
        yield b"form\n"
        for name in FORM_FIELDS:
            upload = self.form.files.get(name) if name == "data" else None
            if upload is not None:
                stream = upload.file_object
                size = stream.seek(0, 2)
                stream.seek(0)
                yield b"%s %d\n" % (name.encode(), size)
                while chunk := stream.read(_CHUNK):
                    yield chunk
            elif name in self.form.fields:
                yield b"%s %d\n" % (name.encode(), len(self.form.fields[name]))
                yield self.form.fields[name]
            else:
                yield b"%s -\n" % name.encode()

    def parse(self) -> Submission:
        if self.form is not None:
            return _from_form(self.form)
        body, depth = _parse_json(self._take_body(), "body")
        if not isinstance(body, dict):
            raise InvalidInput("Request body must be a JSON object", [Issue("body", "must be a JSON object")])
        # `data` and `options` sit one level inside the body.
        return _validated(body, nested=None if depth is None else depth - 1)

    def _take_body(self) -> bytes:
        """The body whole, its chunks let go: while 30 MB are parsed, neither the chunks nor
        (the caller passing it straight on) the joined bytes outlive their use."""
        joined = b"".join(self.parts)
        self.parts.clear()
        return joined

    def close(self) -> None:
        if self.form is not None:
            self.form.close()


async def read_submission(request: Request, *, limits: BodyLimits, digest: blake3.blake3 | None = None) -> Received:
    """The body or form, within `limits`; the caller closes it (spooled files).

    `digest` (app/api/job_creation.request_hasher) takes in a JSON body's frames
    while it arrives, overlapping the client still sending: hashed afterwards, 30 MB kept
    the client waiting 30 ms more with SHA-256 (5 ms with BLAKE3). A form's fields are hashed later, from its frames."""
    check_coding(request)
    media_type = request.content_type[0]  # lowercased, without parameters
    if media_type == "multipart/form-data":
        return Received(form=await read_form(request, limits))
    if is_json(media_type):
        check_charset(request)
        if digest is None:
            return Received(await read_body(request, limits))
        digest.update(JSON_FRAME)
        parts = await read_body(request, limits, feed=digest.update)
        return Received(parts, digest=digest.digest())
    raise UnsupportedMediaType(f"Content-Type {media_type!r} is not supported; use application/json or multipart/form-data")


def _from_form(form: Form) -> Submission:
    # Only `data` may be a file (`curl -F data=@export.json`); a field sent as one would
    # otherwise be reported missing.
    as_files = [name for name in ("adapterType", "knowledgeBaseId", "options") if name in form.files and name not in form.fields]
    if as_files:
        raise InvalidInput(
            f"{', '.join(as_files)} must be sent as {'a text field, not a file' if len(as_files) == 1 else 'text fields, not files'}",
            [Issue(name, "must be a text field, not a file") for name in as_files],
        )
    fields: dict[str, Any] = {name: _text(form.fields[name], name) for name in ("adapterType", "knowledgeBaseId") if name in form.fields}
    depths: list[int | None] = []
    if "data" in form.files:
        upload = form.files["data"]
        upload.file_object.seek(0)
        fields["data"], depth = _parse_json(upload.file_object.read(), "data")
        depths.append(depth)
    elif "data" in form.fields:
        fields["data"], depth = _parse_json(form.fields["data"], "data")
        depths.append(depth)
    if "options" in form.fields:
        fields["options"], depth = _parse_json(form.fields["options"], "options")
        depths.append(depth)
    return _validated(fields, nested=None if None in depths else max(depths, default=0))


def _validated(body: dict[str, Any], *, nested: int | None) -> Submission:
    """`nested`: how deeply `data` and `options` nest at most, if parsing measured it."""
    missing = [name for name in REQUIRED if body.get(name) is None]
    if missing:
        raise InvalidInput(f"Missing required fields: {', '.join(missing)}", [Issue(name, "is required") for name in missing])
    issues = []
    adapter_type = body["adapterType"]
    if not isinstance(adapter_type, str) or not adapter_type.strip():
        issues.append(Issue("adapterType", "must be a non-empty string"))
    elif len(adapter_type) > MAX_ADAPTER_TYPE_LENGTH:
        issues.append(Issue("adapterType", f"must be at most {MAX_ADAPTER_TYPE_LENGTH} characters"))
    knowledge_base_id = _uuid(body["knowledgeBaseId"])
    if knowledge_base_id is None:
        issues.append(Issue("knowledgeBaseId", "must be a UUID"))
    options = body.get("options")
    if options is not None and not isinstance(options, dict):
        issues.append(Issue("options", "must be an object"))
    if issues:
        raise InvalidInput("Validation failed: " + "; ".join(f"{i.path} {i.message}" for i in issues), issues)
    if nested is None or nested > MAX_DEPTH:  # else neither can be too deep: no walk needed
        check_depth(body["data"], "data")
        if options is not None:
            check_depth(options, "options")
    # Within MAX_DEPTH, parsed JSON always serializes (orjson parses huge integers as floats).
    if options is not None and has_escaped_nul(orjson.dumps(options)):
        raise InvalidInput("options must not contain NUL characters", [Issue("options", "must not contain NUL characters")])
    return Submission(
        adapter_type=adapter_type.strip(),
        knowledge_base_id=knowledge_base_id,  # type: ignore[arg-type]
        data=body["data"],
        options=options,
    )


def _parse_json(raw: bytes, where: str) -> json_parsing.Parsed:
    try:
        return json_parsing.parse(raw)
    except orjson.JSONDecodeError as error:
        label = "Invalid JSON" if where == "body" else f"Invalid JSON in {where}"
        raise InvalidInput(f"{label}: {error}", [Issue(where, f"is not valid JSON: {error}")]) from None


def _text(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"Form field {name} is not valid UTF-8", [Issue(name, "is not valid UTF-8")]) from None


def _uuid(value: Any) -> UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return UUID(value)
    except ValueError:
        return None
