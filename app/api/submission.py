"""Turning a job submission (JSON body or multipart form) into a validated Submission."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import orjson
from litestar import Request

from adapters.base import Issue
from app.api.body import Form, read_body, read_form
from app.api.openapi import IDEMPOTENCY_KEY_PATTERN
from app.errors import InvalidInput, UnsupportedMediaType
from app.services.jobs import Submission
from app.services.record_checks import has_escaped_nul

REQUIRED = ("adapterType", "knowledgeBaseId", "data")
# orjson writes at most 254 nested levels; anything deeper cannot be stored.
MAX_DEPTH = 254
MAX_ADAPTER_TYPE_LENGTH = 100


def idempotency_key(request: Request) -> str | None:
    values = request.headers.getall("idempotency-key", [])
    if not values:
        return None
    if len(values) > 1 or not re.fullmatch(IDEMPOTENCY_KEY_PATTERN, values[0]):
        message = "must be one value of 1-255 printable ASCII characters, not starting or ending with a space"
        raise InvalidInput(f"Idempotency-Key {message}", [Issue("Idempotency-Key", message)])
    return values[0]


async def read_submission(request: Request, *, limit: int) -> Submission:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        form = await read_form(request, limit)
        try:
            return _from_form(form)
        finally:
            form.close()
    if media_type in ("", "application/json") or media_type.endswith("+json"):
        body = _parse_json(await read_body(request, limit), "body")
        if not isinstance(body, dict):
            raise InvalidInput("Request body must be a JSON object", [Issue("body", "must be a JSON object")])
        return _validated(body)
    raise UnsupportedMediaType(f"Content-Type {media_type!r} is not supported; use application/json or multipart/form-data")


def _from_form(form: Form) -> Submission:
    fields: dict[str, Any] = {name: _text(form.fields[name], name) for name in ("adapterType", "knowledgeBaseId") if name in form.fields}
    if "data" in form.files:
        upload = form.files["data"]
        upload.file_object.seek(0)
        fields["data"] = _parse_json(upload.file_object.read(), "data")
    elif "data" in form.fields:
        fields["data"] = _parse_json(form.fields["data"], "data")
    if "options" in form.fields:
        fields["options"] = _parse_json(form.fields["options"], "options")
    return _validated(fields)


def _validated(body: dict[str, Any]) -> Submission:
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
    if options is not None and has_escaped_nul(_encoded(options, "options")):
        raise InvalidInput("options must not contain NUL characters", [Issue("options", "must not contain NUL characters")])
    return Submission(
        adapter_type=adapter_type.strip(),
        knowledge_base_id=knowledge_base_id,  # type: ignore[arg-type]
        data=body["data"],
        payload=_encoded(body["data"], "data"),
        options=options,
    )


def _encoded(value: Any, where: str) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        message = f"is nested too deeply (more than {MAX_DEPTH} levels of arrays and objects)"
        raise InvalidInput(f"{where} {message}", [Issue(where, message)]) from None


def _parse_json(raw: bytes, where: str) -> Any:
    try:
        return orjson.loads(raw)
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
