"""content-hub inline attributes: typed metadata, title, tags, content type and URL.

Every function raises RecordError with a message meant for the person who made the export;
nothing here sees the HTML body except `title_from_markdown`, which reads converter output.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any, NamedTuple

from adapters.base import RecordError
from adapters.generic_json import clean_tags
from adapters.titles import MAX_TITLE_LENGTH, first_code_line, outside_fences

VALUE_FIELDS = {
    "STRING": "stringValue",
    "STRING_LIST": "stringListValue",
    "LONG": "longValue",
    "DATE": "dateValue",
}
TAXONOMY_KEYS = frozenset({"contenttype", "content_type", "_category", "category", "taxonomy", "_taxonomy"})
URL_KEYS = frozenset({"url", "sourceurl", "source_url", "_source_uri"})
EPOCH_MILLISECONDS_ABOVE = 100_000_000_000  # larger epoch numbers are milliseconds (after 1973)

_TAG_SEPARATORS = re.compile(r"[,;]")
_INTEGER = re.compile(r"^[+-]?\d{1,19}$")
_QA = re.compile(r"\bfaqs?\b|\bq\s*(?:&|and|/|n)\s*a\b|\bqna\b|\bqa\b|\bquestions?\s*(?:&|and)\s*answers?\b")
_CODE = re.compile(r"^code$|\bcode\s*(?:samples?|examples?|snippets?|blocks?|listings?)\b|\bsnippets?\b|\b(?:sample|source)\s*code\b")
_TEXT = frozenset({"text", "plain text", "plaintext", "txt"})
_ATX = re.compile(r"^ {0,3}#{1,6}\s+(.+?)(?:\s+#+)?\s*$")
_BLOCK_MARKERS = re.compile(r"^(?:\s*(?:>|[-*+]|\d{1,9}[.)]))+\s+")
_LINK = re.compile(r"!?\[((?:\\.|[^\]\\])*)\]\((?:<[^>]*>|[^)\s]*)(?:\s+\"(?:\\.|[^\"\\])*\")?\)")
_INLINE_MARKUP = re.compile(r"\\([!-/:-@\[-`{-~])|\*\*|\*|`+|~~")


class Attribute(NamedTuple):
    key: str
    type: str  # STRING, STRING_LIST, LONG, DATE, or what the export said for anything else
    value: Any


def typed_attributes(raw: Any) -> list[Attribute]:
    """`metadata.inlineAttributes` as typed values; unknown types are kept exactly as given."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise RecordError("metadata.inlineAttributes must be an array")
    return [_attribute(entry, f"metadata.inlineAttributes[{i}]") for i, entry in enumerate(raw)]


def _attribute(entry: Any, path: str) -> Attribute:
    if not isinstance(entry, dict):
        raise RecordError(f"{path} must be an object with key and value")
    key, value = entry.get("key"), entry.get("value")
    if not isinstance(key, str) or not key.strip():
        raise RecordError(f"{path}.key is required and must be a non-empty string")
    if not isinstance(value, dict):
        raise RecordError(f"{path}.value must be an object (attribute {key!r})")
    declared = value.get("type")
    kind = declared.upper() if isinstance(declared, str) else _inferred_type(value)
    if kind not in VALUE_FIELDS:
        return Attribute(key, str(declared) if declared is not None else "UNKNOWN", value)
    field = VALUE_FIELDS[kind]
    if value.get(field) is None:
        raise RecordError(f"{path} ({key!r}) has type {kind} but no {field}")
    return Attribute(key, kind, _CONVERTERS[kind](value[field], f"{path}.value.{field} ({key!r})"))


def _inferred_type(value: dict[str, Any]) -> str | None:
    """An attribute without `type` is typed by its only `*Value` field, if it has exactly one."""
    present = [kind for kind, field in VALUE_FIELDS.items() if field in value]
    return present[0] if len(present) == 1 else None


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise RecordError(f"{where} must be a string")
    return value


def _string_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecordError(f"{where} must be an array of strings")
    return list(value)


def _long(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value.strip())
    raise RecordError(f"{where} must be an integer")


def _date(value: Any, where: str) -> str:
    """ISO 8601 text; epoch numbers (seconds, or milliseconds when large) become UTC."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = value / 1000 if abs(value) >= EPOCH_MILLISECONDS_ABOVE else value
            return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()
        if isinstance(value, str):
            text = value.strip()
            if len(text) == 10:
                return date.fromisoformat(text).isoformat()
            return datetime.fromisoformat(text).isoformat()
    except (ValueError, OverflowError, OSError):
        pass
    raise RecordError(f"{where} must be an ISO 8601 date or an epoch timestamp")


_CONVERTERS = {"STRING": _string, "STRING_LIST": _string_list, "LONG": _long, "DATE": _date}


def metadata_of(attributes: list[Attribute]) -> dict[str, Any]:
    """Key to typed value; when a key repeats, the later attribute wins."""
    return {a.key: a.value for a in attributes}


def _texts(attribute: Attribute) -> list[str]:
    if attribute.type == "STRING":
        return [attribute.value]
    if attribute.type == "STRING_LIST":
        return attribute.value
    return []


def title_from(attributes: list[Attribute]) -> str:
    """The `Title` attribute (any case), if it has text."""
    for attribute in attributes:
        if attribute.key.casefold() == "title":
            for text in _texts(attribute):
                if text.strip():
                    return _clip(text)
    return ""


def tags_from(attributes: list[Attribute], tag_keys: list[str]) -> list[str]:
    """Values of the tag attributes, split on `,`/`;`, trimmed, first occurrence kept."""
    wanted = {key.casefold() for key in tag_keys}
    values = [
        part
        for attribute in attributes
        if attribute.key.casefold() in wanted
        for text in _texts(attribute)
        for part in _TAG_SEPARATORS.split(text)
    ]
    return clean_tags(values)


def content_type_from(attributes: list[Attribute]) -> str:
    """The first taxonomy value that says Q&A, code or plain text; markdown otherwise."""
    for attribute in attributes:
        if attribute.key.casefold().replace("-", "_") in TAXONOMY_KEYS:
            for text in _texts(attribute):
                kind = classify_taxonomy(text)
                if kind != "markdown":
                    return kind
    return "markdown"


def classify_taxonomy(value: str) -> str:
    words = " ".join(re.sub(r"[^\w&/]+|_", " ", value.casefold()).split())
    if words in ("qa pair", "qa_pair") or _QA.search(words):
        return "qa_pair"
    if _CODE.search(words):
        return "code"
    if words in _TEXT:
        return "text"
    return "markdown"


def url_from(attributes: list[Attribute]) -> str | None:
    for attribute in attributes:
        if attribute.key.casefold() in URL_KEYS and attribute.type == "STRING" and attribute.value.strip():
            return attribute.value.strip()
    return None


def title_from_markdown(markdown: str) -> str:
    """The first heading outside code, else the first line, as plain text."""
    first_line = ""
    for line in outside_fences(markdown):
        heading = _ATX.match(line)
        if heading:
            return _clip(_plain(heading.group(1)))
        if not first_line and line.strip():
            first_line = _plain(_BLOCK_MARKERS.sub("", line))
    if not first_line:  # nothing but code: its first line
        first_line = first_code_line(markdown)
    return _clip(first_line)


def _plain(markdown_line: str) -> str:
    text = _LINK.sub(r"\1", markdown_line)
    return _INLINE_MARKUP.sub(lambda m: m.group(1) or "", text)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > MAX_TITLE_LENGTH:
        text = text[: MAX_TITLE_LENGTH - 1].rstrip() + "…"
    return text
