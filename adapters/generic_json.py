"""generic-json: records that already have the knowledge base's flat shape.

Input: `{"records": [{"id", "content", "title"?, "contentType"?, "metadata"?, "url"?,
"tags"?, "deleted"?}]}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.base import CONTENT_TYPES, Adapter, Identity, Issue, PayloadError, Record, RecordError
from adapters.titles import derive_title

MAX_ID_LENGTH = 512
DEFAULT_CONTENT_TYPE = "markdown"


def source_id_of(value: Any, field: str = "id") -> str:
    """Source ids are non-empty strings; integers are accepted and kept as their decimal text."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RecordError(f"{field} is required and must be a string or an integer")
    text = str(value).strip()
    if not text:
        raise RecordError(f"{field} must not be empty")
    if len(text) > MAX_ID_LENGTH:
        raise RecordError(f"{field} is longer than {MAX_ID_LENGTH} characters")
    return text


def clean_tags(values: Any, field: str = "tags") -> list[str]:
    """Trimmed, de-duplicated (first occurrence wins), order kept, empties dropped."""
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise RecordError(f"{field} must be an array of strings")
    seen: dict[str, None] = {}
    for value in values:
        tag = value.strip()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


class GenericJsonAdapter(Adapter):
    name = "generic-json"
    format = "json"
    # Part of the fingerprint: bump it when normalize's output changes. 1.1.0: a derived
    # title skips fenced code; null `deleted` is false; a wrong-typed `metadata` or
    # `contentType` fails whatever its value (but `[]` and `""`, which clients send for
    # empty, still mean absent).
    version = "1.1.0"

    def items(self, payload: Any) -> list[Any]:
        if not isinstance(payload, dict):
            raise PayloadError([Issue("data", "must be an object with a `records` array")])
        records = payload.get("records")
        if records is None:
            raise PayloadError([Issue("data.records", "is required")])
        if not isinstance(records, list):
            raise PayloadError([Issue("data.records", "must be an array")])
        if not records:
            raise PayloadError([Issue("data.records", "must contain at least one record")])
        return records

    def identify(self, item: Any) -> Identity:
        if not isinstance(item, dict):
            raise RecordError("record must be an object")
        source_id = source_id_of(item.get("id"))
        deleted = item.get("deleted")
        if deleted is None:  # absent or null, like every other optional field
            deleted = False
        elif not isinstance(deleted, bool):
            raise RecordError("deleted must be true or false", source_id=source_id)
        return Identity(source_id, deleted)

    def normalize(self, item: Any, options: Mapping[str, Any]) -> Record:
        source_id = self.identify(item).source_id
        content = item.get("content")
        if not isinstance(content, str):
            raise RecordError("content is required and must be a string")
        if not content.strip():
            raise RecordError("content must not be empty")
        title = item.get("title")
        if title is not None and not isinstance(title, str):
            raise RecordError("title must be a string")
        content_type = item.get("contentType")
        if content_type is None or content_type == "":  # a form's empty field
            content_type = DEFAULT_CONTENT_TYPE
        elif not isinstance(content_type, str) or content_type not in CONTENT_TYPES:
            raise RecordError(f"contentType must be one of {', '.join(CONTENT_TYPES)}")
        metadata = item.get("metadata")
        if metadata is None or metadata == []:  # PHP's json_encode writes an empty map as []
            metadata = {}
        elif not isinstance(metadata, dict):
            raise RecordError("metadata must be an object")
        url = item.get("url")
        if url is not None and not isinstance(url, str):
            raise RecordError("url must be a string")
        return Record(
            source_id=source_id,
            title=" ".join(title.split()) if title and title.strip() else derive_title(content),
            content=content,
            content_type=content_type,
            metadata=metadata,
            tags=clean_tags(item.get("tags")),
            url=url or None,
        )
