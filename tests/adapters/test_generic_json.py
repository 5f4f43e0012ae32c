"""The generic-json adapter on its own: payload shape, identity, normalization, titles."""

import pytest

from adapters import PayloadError, RecordError, registry
from adapters.generic_json import GenericJsonAdapter
from adapters.titles import derive_title

ADAPTER = registry.get("generic-json")


def test_items_returns_records_in_order():
    assert ADAPTER.items({"records": [{"id": 1}, {"id": 2}]}) == [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize("payload", [None, [], "x", {"records": None}, {"records": {}}, {"records": []}])
def test_payloads_that_do_not_fit_raise_payload_error(payload):
    with pytest.raises(PayloadError):
        ADAPTER.items(payload)


def test_integer_ids_become_their_decimal_text():
    assert ADAPTER.identify({"id": 42}).source_id == "42"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({}, "id is required and must be a string or an integer"),
        ({"id": True}, "id is required and must be a string or an integer"),
        ({"id": "  "}, "id must not be empty"),
        ({"id": "x" * 513}, "id is longer than 512 characters"),
        ({"id": "a", "deleted": "yes"}, "deleted must be true or false"),
        ([1], "record must be an object"),
    ],
)
def test_unusable_identity_is_a_record_error(item, message):
    with pytest.raises(RecordError, match=message):
        ADAPTER.identify(item)


def test_deleted_records_need_no_content():
    assert ADAPTER.identify({"id": "a", "deleted": True}).deleted is True


def test_null_optional_fields_are_the_same_as_absent_ones():
    given = {"id": "a", "content": "Body", "title": None, "contentType": None, "metadata": None, "url": None, "tags": None, "deleted": None}
    assert ADAPTER.identify(given).deleted is False
    assert ADAPTER.normalize(given, {}) == ADAPTER.normalize({"id": "a", "content": "Body"}, {})


def test_empty_metadata_and_content_type_as_clients_send_them_mean_absent():
    """PHP's json_encode writes an empty map as [], a web form an unset field as ""."""
    assert ADAPTER.normalize({"id": "a", "content": "Body", "metadata": [], "contentType": ""}, {}) == ADAPTER.normalize(
        {"id": "a", "content": "Body"}, {}
    )


@pytest.mark.parametrize("metadata", [0, False, "", [1], 1, True, "s", [{}]])
def test_metadata_that_is_not_an_object_fails_whatever_its_value(metadata):
    with pytest.raises(RecordError, match="metadata must be an object"):
        ADAPTER.normalize({"id": "a", "content": "Body", "metadata": metadata}, {})


@pytest.mark.parametrize("content_type", [0, False, " ", 5, "Markdown", ["markdown"]])
def test_a_content_type_that_is_not_one_of_the_four_fails_whatever_its_value(content_type):
    with pytest.raises(RecordError, match="contentType must be one of"):
        ADAPTER.normalize({"id": "a", "content": "Body", "contentType": content_type}, {})


def test_normalize_fills_defaults_and_cleans_tags():
    record = ADAPTER.normalize({"id": "a", "content": "Body", "tags": ["b", " a ", "b", ""], "url": ""}, {})
    assert record.title == "Body"
    assert record.content_type == "markdown"
    assert record.tags == ["b", "a"]
    assert record.url is None
    assert record.metadata == {}


def test_fingerprint_ignores_key_order_but_not_content():
    from app.services.hashing import content_hash

    one = content_hash(ADAPTER.fingerprint({"id": "a", "content": "x", "metadata": {"a": 1, "b": 2}}, {}))
    two = content_hash(ADAPTER.fingerprint({"metadata": {"b": 2, "a": 1}, "content": "x", "id": "a"}, {}))
    three = content_hash(ADAPTER.fingerprint({"id": "a", "content": "y"}, {}))
    assert one == two != three


@pytest.mark.parametrize(
    ("content", "title"),
    [
        ("# Heading\nbody", "Heading"),
        ("intro\n\n## Second level ##\n", "Second level"),
        ("\n\n   first   line  \nsecond", "first line"),
        ("#hashtag is not a heading\nnext", "#hashtag is not a heading"),
        ("x" * 400, "x" * 299 + "…"),
        # Fenced code holds no headings (a shell comment) and is no first line.
        ("Install it:\n\n```bash\n# install the dependencies\npip install foo\n```\n\n# Getting started\n\nText.", "Getting started"),
        ("```python\n# a comment\nprint(1)\n```\nThen run it.", "Then run it."),
        ("~~~~\n# in code\n~~~\n# still in code\n~~~~\n## After", "After"),  # closed by a fence as long
        ("> ```\n> # quoted code\n> ```\n# Heading", "Heading"),
        ("```\n# only code\nline\n```", "# only code"),  # nothing but code: its first line
        ("```\nnever closed\n# heading in code", "never closed"),
        ("Inline ``` is not a fence\n# Heading", "Heading"),
    ],
)
def test_derived_title_is_the_first_heading_else_the_first_line(content, title):
    assert derive_title(content) == title


def test_a_record_failing_after_its_id_was_read_keeps_the_id() -> None:
    with pytest.raises(RecordError) as failure:
        GenericJsonAdapter().identify({"id": " doc-1 ", "deleted": "yes"})
    assert (str(failure.value), failure.value.source_id) == ("deleted must be true or false", "doc-1")
