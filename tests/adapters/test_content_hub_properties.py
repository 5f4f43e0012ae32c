"""The content-hub adapter never crashes a job: whatever arrives, each document ends as a
record or a recorded failure (RecordError), and a payload is either taken or refused
(PayloadError)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.base import CONTENT_TYPES, PayloadError, RecordError
from adapters.content_hub import ContentHubAdapter

ADAPTER = ContentHubAdapter()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FRAGMENTS = [
    "<h1>", "</h1>", "<p>", "</p>", "<ul><li>", "</li></ul>", "<pre><code class='language-py'>", "</code></pre>",
    "<table><tr><td>", "</td></tr></table>", "<img src='x.png' alt='pic'>", "<a href='javascript:x'>", "</a>",
    "<script>", "</script>", "<!--", "-->", "&lt;", "&gt;", "&amp;", "&amp;lt;", "&#0;", "&#x110000;", "<br>",
    "*", "_", "#", "`", "|", "\\", "\x00", "\r", "text", " ", "\n", "<div>" * 40, "<nav>", "</nav>",
]
html = st.one_of(st.text(max_size=40), st.lists(st.sampled_from(FRAGMENTS), max_size=25).map("".join))
KINDS = ["STRING", "STRING_LIST", "LONG", "DATE", "BOOLEAN", "string", None]
FIELD_OF = {"STRING": "stringValue", "STRING_LIST": "stringListValue", "LONG": "longValue", "DATE": "dateValue"}
KEYS = ["Title", "title", "keywords", "Keywords", "topics", "contentType", "_category", "taxonomy", "sourceUrl", "x"]


@st.composite
def typed_value(draw) -> dict[str, Any]:
    value: dict[str, Any] = {}
    kind = draw(st.sampled_from(KINDS))
    if kind is not None:
        value["type"] = kind
    fields = ["stringValue", "stringListValue", "longValue", "dateValue", "booleanValue"]
    matching = FIELD_OF.get(str(kind).upper())
    field = matching if matching and draw(st.booleans()) else draw(st.sampled_from(fields))
    value[field] = draw(
        st.one_of(
            st.text(max_size=20),
            st.lists(st.text(max_size=10), max_size=3),
            st.integers(min_value=-(10**20), max_value=10**20),
            st.sampled_from(["2024-03-01", "2024-03-01T10:00:00Z", "1709287200000", "FAQ; Code samples", "Q&A"]),
            json_values,
        )
    )
    return value


well_formed = st.fixed_dictionaries({"key": st.sampled_from(KEYS), "value": typed_value()})
junk_attribute = st.fixed_dictionaries({"key": json_values, "value": json_values}) | json_values
attributes = st.lists(st.sampled_from(range(10)).flatmap(lambda n: junk_attribute if n == 9 else well_formed), max_size=4)


def mostly(draw, valid: st.SearchStrategy, junk: st.SearchStrategy = json_values) -> Any:
    """A valid value most of the time, so documents get past submission and into normalize."""
    return draw(junk) if draw(st.sampled_from(range(8))) == 7 else draw(valid)


@st.composite
def documents(draw) -> Any:
    if draw(st.sampled_from(range(20))) == 19:
        return draw(json_values)
    text = st.fixed_dictionaries({"data": html})
    inline = st.fixed_dictionaries({"type": st.sampled_from(["TEXT", "HTML", "BYTE"]), "textContent": text})
    content = {
        "documentIdentifier": mostly(draw, st.text(min_size=1, max_size=8) | st.integers()),
        "deleted": mostly(draw, st.sampled_from([False, False, False, True])),
        "parseImage": mostly(draw, st.booleans()),
        "inlineContent": mostly(draw, inline),
    }
    metadata = mostly(draw, st.fixed_dictionaries({"inlineAttributes": attributes}))
    return {"content": content, "metadata": metadata}


meta = st.one_of(st.fixed_dictionaries({"timeTaken": st.just("250ms")}), json_values)
pages = st.lists(st.tuples(st.lists(documents(), max_size=3), meta).map(list), min_size=1, max_size=3)
payloads = st.one_of(
    st.tuples(st.lists(documents(), max_size=4), meta).map(list),
    st.lists(documents(), max_size=4),
    pages,
    pages.map(lambda ps: [part for page in ps for part in page]),
    json_values,
)
options = st.one_of(st.none(), st.fixed_dictionaries({"tagAttributes": st.lists(st.sampled_from(KEYS))}), json_values)


def outcome(item: Any, job_options: dict[str, Any]) -> str:
    """What a worker would record for one document."""
    try:
        identity = ADAPTER.identify(item)
        if identity.deleted:
            return "deleted"
        json.dumps(ADAPTER.fingerprint(item, job_options))
        record = ADAPTER.normalize(item, job_options)
    except RecordError as exc:
        assert str(exc), "a failure must say why"
        return "failed"
    assert record.content.strip() and record.content_type in CONTENT_TYPES
    assert record.source_id == identity.source_id
    json.dumps(record.as_dict())
    return "stored"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(payloads, options)
def test_every_submitted_document_ends_as_a_record_or_a_recorded_failure(payload: Any, raw_options: Any) -> None:
    try:
        job_options = ADAPTER.parse_options(raw_options)
    except PayloadError as exc:
        assert exc.issues and all(issue.path.startswith("options") for issue in exc.issues)
        job_options = ADAPTER.parse_options(None)
    json.dumps(job_options)
    try:
        items = ADAPTER.items(payload)
    except PayloadError as exc:
        assert exc.issues and all(issue.path.startswith("data") for issue in exc.issues)
        return
    assert items
    for item in items:
        assert outcome(item, job_options) in ("stored", "failed", "deleted")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_documents_that_skipped_submission_checks_still_only_fail_on_their_own(item: Any) -> None:
    assert outcome(item, ADAPTER.parse_options(None)) in ("stored", "failed", "deleted")
