"""Property tests of the generic-json adapter: whatever JSON arrives, it fails only in the ways it promises.

`items` raises only PayloadError (the job is refused with a 400); `identify`,
`fingerprint` and `normalize` raise only RecordError (that record fails). Anything else
would surface as "internal error while processing this record".
"""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.base import PayloadError, Record, RecordError
from adapters.generic_json import GenericJsonAdapter
from app.services.hashing import content_hash
from app.services.record_checks import RecordLimits, check_record

adapter = GenericJsonAdapter()

# What orjson.loads can produce: 64-bit integers, finite floats, valid Unicode strings.
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)

FIELDS = ["id", "title", "content", "contentType", "metadata", "url", "tags", "deleted"]
field_values = st.one_of(
    json_values,
    st.sampled_from(["", " ", "a", "markdown", "code", "text", "qa_pair", "x" * 600, "# Heading\nbody", "\x00", "\u2028"]),
    st.lists(st.text(max_size=5), max_size=4),
)
# Nearly valid records (a usable id and content, any other field anything) reach normalize's later checks.
nearly_valid = st.fixed_dictionaries(
    {"id": st.text(min_size=1) | st.integers(0, 2**63), "content": st.text(min_size=1)},
    optional={name: field_values for name in FIELDS if name not in ("id", "content")} | {"title": st.text() | field_values},
)
records = nearly_valid | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), field_values, max_size=9) | json_values
payloads = json_values | st.fixed_dictionaries({"records": st.lists(records, max_size=5) | json_values})

CHECKS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@CHECKS
@given(payloads)
def test_items_raises_only_payload_error(payload):
    try:
        items = adapter.items(payload)
    except PayloadError as error:
        assert error.issues and all(issue.path.startswith("data") for issue in error.issues)
        return
    assert isinstance(items, list) and items


@CHECKS
@given(records)
def test_per_record_methods_raise_only_record_error(item):
    try:
        identity = adapter.identify(item)
    except RecordError as error:
        assert str(error)
        return
    assert identity.source_id.strip() and len(identity.source_id) <= 512
    for step in (lambda: content_hash(adapter.fingerprint(item, {})), lambda: adapter.normalize(item, {})):
        try:
            result = step()
        except RecordError as error:
            assert str(error)
            continue
        assert result is not None


@CHECKS
@given(records)
def test_a_normalized_record_is_json_has_a_title_and_fails_checks_only_with_record_error(item):
    try:
        record = adapter.normalize(item, {})
    except RecordError:
        return
    assert isinstance(record, Record)
    assert record.content.strip()
    if not (isinstance(item.get("title"), str) and item["title"].strip()):
        assert len(record.title) <= 300  # derived from the content
    assert orjson.loads(orjson.dumps(record.as_dict())) == record.as_dict()
    try:
        check_record(record, RecordLimits(max_fields=3, max_field_bytes=400, max_record_bytes=800))
    except RecordError as error:
        assert str(error)


@CHECKS
@given(st.lists(records, min_size=1, max_size=5))
def test_records_that_went_through_json_behave_the_same(items):
    """The API hands adapters what orjson parsed; a round trip through JSON changes nothing."""
    parsed = orjson.loads(orjson.dumps({"records": items}))
    assert adapter.items(parsed) == parsed["records"]
    for item in parsed["records"]:
        try:
            adapter.normalize(item, {})
        except RecordError:
            pass
