"""content-hub: document exports from the content hub, HTML bodies with typed attributes.

Input, as documented: `[[document, ...], {"timeTaken": "250ms"}]`. Also accepted, because
exports often come paged: a bare `[document, ...]`, a list of `[documents, metadata]` pages,
and pages concatenated flat (`[documents, metadata, documents, metadata]`). A document:

    {"content": {"documentIdentifier": "kb-42", "deleted": false, "parseImage": false,
                 "inlineContent": {"type": "TEXT", "textContent": {"data": "<h1>…</h1>"}}},
     "metadata": {"inlineAttributes": [{"key": "keywords",
                                        "value": {"type": "STRING", "stringValue": "a, b"}}]}}

See docs/content-hub.md for the field mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters._content_hub_fields import (
    content_type_from,
    metadata_of,
    tags_from,
    title_from,
    title_from_markdown,
    typed_attributes,
    url_from,
)
from adapters.base import Adapter, Identity, Issue, PayloadError, Record, RecordError
from adapters.generic_json import source_id_of
from adapters.html_markdown import html_to_markdown

DEFAULT_TAG_ATTRIBUTES = ("keywords",)
MAX_ISSUES = 50  # a broken export of 100k documents needs the first problems, not all of them
SHAPE_HELP = "must be [documents, metadata], a list of documents, or a list of [documents, metadata] pages"


class ContentHubAdapter(Adapter):
    name = "content-hub"
    format = "content-hub-json"
    version = "1.0.1"  # part of the fingerprint: bump it when conversion output changes

    def parse_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        if options is None:
            return {"tagAttributes": list(DEFAULT_TAG_ATTRIBUTES)}
        if not isinstance(options, Mapping):
            raise PayloadError([Issue("options", "must be an object")])
        issues = [
            Issue(f"options.{key}", "is not an option of content-hub (it takes tagAttributes)")
            for key in options
            if key != "tagAttributes"
        ]
        keys = options.get("tagAttributes", list(DEFAULT_TAG_ATTRIBUTES))
        if not isinstance(keys, list):
            issues.append(Issue("options.tagAttributes", "must be an array of attribute keys"))
        else:
            issues += [
                Issue(f"options.tagAttributes[{i}]", "must be a non-empty string")
                for i, key in enumerate(keys)
                if not isinstance(key, str) or not key.strip()
            ]
        if issues:
            raise PayloadError(issues)
        return {"tagAttributes": list(dict.fromkeys(key.strip() for key in keys))}

    def items(self, payload: Any) -> list[Any]:
        documents, issues = _documents_in(payload)
        if not issues and not documents:
            issues.append(Issue("data", "contains no documents"))
        if issues:
            shown = issues[:MAX_ISSUES]
            if len(issues) > MAX_ISSUES:
                shown.append(Issue("data", f"{len(issues) - MAX_ISSUES} more problems not listed"))
            raise PayloadError(shown)
        return documents

    def identify(self, item: Any) -> Identity:
        if not isinstance(item, dict):
            raise RecordError("document must be an object")
        content = item.get("content")
        if not isinstance(content, dict):
            raise RecordError("content is required and must be an object")
        source_id = source_id_of(content.get("documentIdentifier"), "documentIdentifier")
        deleted = content.get("deleted")
        if deleted is not None and not isinstance(deleted, bool):
            raise RecordError("content.deleted must be true or false", source_id=source_id)
        return Identity(source_id, bool(deleted))

    def fingerprint(self, item: Any, options: Mapping[str, Any]) -> Any:
        """The raw document's parts that shape the record, so unchanged HTML is never reconverted."""
        self.identify(item)
        content = item["content"]
        return {
            "adapter": self.version,
            "options": {"tagAttributes": _tag_keys(options)},
            "html": _dig(content, "inlineContent", "textContent", "data"),
            "type": _dig(content, "inlineContent", "type"),
            "parseImage": content.get("parseImage"),
            "attributes": _dig(item, "metadata", "inlineAttributes"),
        }

    def normalize(self, item: Any, options: Mapping[str, Any]) -> Record:
        source_id = self.identify(item).source_id
        content = item["content"]
        parse_image = content.get("parseImage", False)
        if parse_image is not None and not isinstance(parse_image, bool):
            raise RecordError("content.parseImage must be true or false")
        metadata = item.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise RecordError("metadata must be an object")
        attributes = typed_attributes((metadata or {}).get("inlineAttributes"))
        markdown = _markdown(content, keep_images=bool(parse_image))
        return Record(
            source_id=source_id,
            title=title_from(attributes) or title_from_markdown(markdown),
            content=markdown,
            content_type=content_type_from(attributes),
            metadata=metadata_of(attributes),
            tags=tags_from(attributes, _tag_keys(options)),
            url=url_from(attributes),
        )


def _markdown(content: dict[str, Any], *, keep_images: bool) -> str:
    """The document's HTML as Markdown; RecordError when there is nothing usable."""
    inline = content.get("inlineContent")
    html = _dig(content, "inlineContent", "textContent", "data")
    if not isinstance(html, str):
        kind = inline.get("type") if isinstance(inline, dict) else None
        detail = f" (inlineContent.type is {kind!r}; only text content is supported)" if kind else ""
        raise RecordError(f"content.inlineContent.textContent.data is required and must be an HTML string{detail}")
    try:
        markdown = html_to_markdown(html, keep_images=keep_images)
    except ValueError as exc:
        raise RecordError(f"content could not be converted: {exc}") from exc
    except Exception as exc:  # third-party parsing of untrusted HTML: fail this document only
        raise RecordError(f"content could not be converted ({type(exc).__name__})") from exc
    if not markdown.strip():
        raise RecordError(
            "document has no usable content: its HTML is empty or holds only markup, scripts or navigation"
        )
    return markdown


def _documents_in(payload: Any) -> tuple[list[Any], list[Issue]]:
    """Walk the accepted shapes, collecting documents and every shape problem with its path."""
    if not isinstance(payload, list):
        return [], [Issue("data", SHAPE_HELP)]
    if all(isinstance(element, dict) for element in payload):  # a bare list of documents
        return _checked(payload, "data")
    documents: list[Any] = []
    issues: list[Issue] = []
    after_documents = False
    for i, element in enumerate(payload):
        path = f"data[{i}]"
        if isinstance(element, list) and element and isinstance(element[0], list):
            found, problems = _page(element, path)
        elif isinstance(element, list):
            found, problems = _checked(element, path)
        elif isinstance(element, dict) and after_documents:
            found, problems = [], []  # the metadata object that follows a page's documents
        elif isinstance(element, dict):
            found, problems = [], [Issue(path, "a metadata object must follow a list of documents")]
        else:
            found, problems = [], [Issue(path, "expected a list of documents or a [documents, metadata] page")]
        after_documents = isinstance(element, list) and not (element and isinstance(element[0], list))
        documents += found
        issues += problems
    return documents, issues


def _page(page: list[Any], path: str) -> tuple[list[Any], list[Issue]]:
    documents, issues = _checked(page[0], f"{path}[0]")
    if len(page) > 1 and not isinstance(page[1], dict):
        issues.append(Issue(f"{path}[1]", "page metadata must be an object"))
    if len(page) > 2:
        issues.append(Issue(f"{path}[2]", "a page is [documents, metadata]; nothing may follow"))
    return documents, issues


def _checked(documents: list[Any], path: str) -> tuple[list[Any], list[Issue]]:
    """Documents whose identity is readable; anything else is a shape problem at submission."""
    issues = []
    for i, document in enumerate(documents):
        where = f"{path}[{i}]"
        if not isinstance(document, dict):
            issues.append(Issue(where, "must be a document object"))
        elif not isinstance(document.get("content"), dict):
            issues.append(Issue(f"{where}.content", "is required and must be an object"))
        else:
            issues += _identity_issues(document["content"], f"{where}.content")
    return documents, issues


def _identity_issues(content: dict[str, Any], where: str) -> list[Issue]:
    issues = []
    try:
        source_id_of(content.get("documentIdentifier"), "documentIdentifier")
    except RecordError as exc:
        issues.append(Issue(f"{where}.documentIdentifier", str(exc)))
    deleted = content.get("deleted")
    if deleted is not None and not isinstance(deleted, bool):
        issues.append(Issue(f"{where}.deleted", "must be true or false"))
    return issues


def _tag_keys(options: Mapping[str, Any] | None) -> list[str]:
    keys = options.get("tagAttributes") if isinstance(options, Mapping) else None
    if isinstance(keys, list) and all(isinstance(key, str) for key in keys):
        return keys
    return list(DEFAULT_TAG_ATTRIBUTES)


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
