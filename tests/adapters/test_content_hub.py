"""The content-hub adapter: payload shapes, identity, fingerprint and normalized records."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from adapters import PayloadError, RecordError, registry
from adapters.content_hub import ContentHubAdapter

ADAPTER = ContentHubAdapter()
OPTIONS = ADAPTER.parse_options(None)


def attribute(key: str, kind: str | None, **value: Any) -> dict[str, Any]:
    return {"key": key, "value": ({"type": kind} if kind else {}) | value}


def document(
    identifier: Any = "kb-1",
    html: Any = "<h1>Reset your password</h1><p>Open <b>Settings</b>.</p>",
    attributes: list[Any] | None = None,
    **content: Any,
) -> dict[str, Any]:
    return {
        "content": {
            "documentIdentifier": identifier,
            "deleted": False,
            "parseImage": False,
            "inlineContent": {"type": "TEXT", "textContent": {"data": html}},
            **content,
        },
        "metadata": {"inlineAttributes": attributes or []},
    }


def issues_of(payload: Any) -> list[tuple[str, str]]:
    with pytest.raises(PayloadError) as caught:
        ADAPTER.items(payload)
    return [(issue.path, issue.message) for issue in caught.value.issues]


def normalized(doc: dict[str, Any], options: dict[str, Any] | None = None):
    return ADAPTER.normalize(doc, ADAPTER.parse_options(options))


# --- registry and options -------------------------------------------------------------


def test_adapter_is_registered_beside_generic_json() -> None:
    assert registry.get("content-hub").describe() == {
        "name": "content-hub",
        "format": "content-hub-json",
        "version": "1.0.1",
    }
    assert [a.name for a in registry][:2] == ["generic-json", "content-hub"]


def test_options_default_to_keywords_as_the_tag_attribute() -> None:
    assert ADAPTER.parse_options(None) == {"tagAttributes": ["keywords"]}
    assert ADAPTER.parse_options({}) == {"tagAttributes": ["keywords"]}


def test_tag_attributes_option_is_trimmed_and_deduplicated() -> None:
    assert ADAPTER.parse_options({"tagAttributes": [" keywords", "topics", "keywords"]}) == {
        "tagAttributes": ["keywords", "topics"]
    }


def test_bad_options_are_refused_with_paths_under_options() -> None:
    with pytest.raises(PayloadError) as caught:
        ADAPTER.parse_options({"tagAttributes": ["ok", "", 3], "extra": True})
    assert sorted(i.path for i in caught.value.issues) == [
        "options.extra",
        "options.tagAttributes[1]",
        "options.tagAttributes[2]",
    ]
    with pytest.raises(PayloadError, match="options.tagAttributes"):
        ADAPTER.parse_options({"tagAttributes": "keywords"})
    with pytest.raises(PayloadError, match="options"):
        ADAPTER.parse_options(["keywords"])  # type: ignore[arg-type]


# --- payload shapes ---------------------------------------------------------------------


def test_documented_shape_of_documents_and_metadata_is_accepted() -> None:
    docs = [document("a"), document("b")]
    assert ADAPTER.items([docs, {"timeTaken": "250ms"}]) == docs


def test_bare_list_of_documents_is_accepted() -> None:
    docs = [document("a"), document("b")]
    assert ADAPTER.items(docs) == docs


def test_list_of_pages_is_accepted_in_order() -> None:
    pages = [[[document("a"), document("b")], {"timeTaken": "1ms"}], [[document("c")], {"timeTaken": "2ms"}]]
    assert [d["content"]["documentIdentifier"] for d in ADAPTER.items(pages)] == ["a", "b", "c"]


def test_pages_concatenated_flat_are_accepted_in_order() -> None:
    flat = [[document("a")], {"timeTaken": "1ms"}, [document("b"), document("c")], {"timeTaken": "2ms"}]
    assert [d["content"]["documentIdentifier"] for d in ADAPTER.items(flat)] == ["a", "b", "c"]


def test_page_without_metadata_is_accepted() -> None:
    assert len(ADAPTER.items([[document("a")]])) == 1
    assert len(ADAPTER.items([[[document("a")]]])) == 1


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"documents": []}, [("data", "must be [documents, metadata], a list of documents, or a list of [documents, metadata] pages")]),
        ([], [("data", "contains no documents")]),
        ([[], {"timeTaken": "0ms"}], [("data", "contains no documents")]),
        ([{"timeTaken": "1ms"}, [document()]], [("data[0]", "a metadata object must follow a list of documents")]),
        ([[document()], {}, {}], [("data[2]", "a metadata object must follow a list of documents")]),
        ([[document()], "meta"], [("data[1]", "expected a list of documents or a [documents, metadata] page")]),
        ([[[document()], "meta"]], [("data[0][1]", "page metadata must be an object")]),
        ([[[document()], {}, {}]], [("data[0][2]", "a page is [documents, metadata]; nothing may follow")]),
        ([[document(), "x"], {}], [("data[0][1]", "must be a document object")]),
        ([[{"content": None}], {}], [("data[0][0].content", "is required and must be an object")]),
    ],
)
def test_payloads_that_fit_no_shape_are_refused_with_a_path(payload: Any, expected: list) -> None:
    assert issues_of(payload) == expected


def test_missing_identifier_is_refused_at_submission_with_its_path() -> None:
    docs = [document("a"), document("b"), document("c"), document(None)]
    assert issues_of([docs, {"timeTaken": "250ms"}]) == [
        ("data[0][3].content.documentIdentifier", "documentIdentifier is required and must be a string or an integer")
    ]


def test_non_boolean_deleted_is_refused_at_submission() -> None:
    assert issues_of([document("a", deleted="yes")]) == [("data[0].content.deleted", "must be true or false")]


def test_a_huge_broken_export_lists_only_the_first_problems() -> None:
    issues = issues_of([document(None) for _ in range(80)])
    assert len(issues) == 51
    assert issues[-1] == ("data", "30 more problems not listed")


# --- identity and fingerprint ---------------------------------------------------------


def test_document_identifier_is_the_source_id_and_integers_become_text() -> None:
    assert ADAPTER.identify(document(" kb-7 ")).source_id == "kb-7"
    assert ADAPTER.identify(document(1234)).source_id == "1234"


def test_deleted_true_asks_for_deletion() -> None:
    identity = ADAPTER.identify(document("kb-9", deleted=True, inlineContent=None))
    assert (identity.source_id, identity.deleted) == ("kb-9", True)


@pytest.mark.parametrize("item", [None, [], {"content": "x"}, {"content": {}}, document(True)])
def test_unidentifiable_document_fails_on_its_own(item: Any) -> None:
    with pytest.raises(RecordError):
        ADAPTER.identify(item)


def test_fingerprint_is_stable_and_follows_html_attributes_images_and_options() -> None:
    base = document(attributes=[attribute("keywords", "STRING", stringValue="a")])
    print_ = ADAPTER.fingerprint(base, OPTIONS)
    assert ADAPTER.fingerprint(copy.deepcopy(base), OPTIONS) == print_
    changed_html = document(html="<p>other</p>", attributes=base["metadata"]["inlineAttributes"])
    changed_attr = document(attributes=[attribute("keywords", "STRING", stringValue="b")])
    changed_image = copy.deepcopy(base)
    changed_image["content"]["parseImage"] = True
    other_options = ADAPTER.parse_options({"tagAttributes": ["topics"]})
    assert ADAPTER.fingerprint(changed_html, OPTIONS) != print_
    assert ADAPTER.fingerprint(changed_attr, OPTIONS) != print_
    assert ADAPTER.fingerprint(changed_image, OPTIONS) != print_
    assert ADAPTER.fingerprint(base, other_options) != print_
    assert print_["adapter"] == ADAPTER.version


def test_fingerprint_does_not_convert_html(monkeypatch: pytest.MonkeyPatch) -> None:
    import adapters.content_hub as module

    monkeypatch.setattr(module, "html_to_markdown", lambda *a, **k: pytest.fail("converted"))
    ADAPTER.fingerprint(document(), OPTIONS)


# --- normalize ------------------------------------------------------------------------


def test_double_encoded_html_becomes_markdown_with_its_heading_as_title() -> None:
    record = normalized(document(html="&amp;lt;h1&amp;gt;Title&amp;lt;/h1&amp;gt;&amp;lt;p&amp;gt;Body&amp;lt;/p&amp;gt;"))
    assert (record.source_id, record.title, record.content) == ("kb-1", "Title", "# Title\n\nBody")
    assert record.content_type == "markdown"


def test_inline_attributes_become_typed_metadata() -> None:
    record = normalized(
        document(
            attributes=[
                attribute("author", "STRING", stringValue="Ada"),
                attribute("products", "STRING_LIST", stringListValue=["kb", "api"]),
                attribute("views", "LONG", longValue="42"),
                attribute("rank", "LONG", longValue=7),
                attribute("published", "DATE", dateValue="2024-03-01T10:00:00Z"),
                attribute("day", "DATE", dateValue="2024-03-01"),
                attribute("epoch", "DATE", dateValue=1709287200000),
                attribute("untyped", None, stringValue="inferred"),
                attribute("flag", "BOOLEAN", booleanValue=True),
            ]
        )
    )
    assert record.metadata == {
        "author": "Ada",
        "products": ["kb", "api"],
        "views": 42,
        "rank": 7,
        "published": "2024-03-01T10:00:00+00:00",
        "day": "2024-03-01",
        "epoch": "2024-03-01T10:00:00+00:00",
        "untyped": "inferred",
        "flag": {"type": "BOOLEAN", "booleanValue": True},
    }


@pytest.mark.parametrize(
    ("attr", "message"),
    [
        (attribute("n", "LONG", longValue="many"), r"metadata.inlineAttributes\[0\].value.longValue \('n'\) must be an integer"),
        (attribute("d", "DATE", dateValue="yesterday"), "must be an ISO 8601 date"),
        (attribute("s", "STRING", stringValue=3), "stringValue .* must be a string"),
        (attribute("l", "STRING_LIST", stringListValue=["a", 1]), "must be an array of strings"),
        (attribute("s", "STRING"), "has type STRING but no stringValue"),
        ({"key": "", "value": {}}, r"metadata.inlineAttributes\[0\].key is required"),
        ({"key": "k", "value": "v"}, "value must be an object"),
        ("keywords=a", r"metadata.inlineAttributes\[0\] must be an object"),
    ],
)
def test_malformed_attribute_fails_the_document_with_a_clear_message(attr: Any, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        normalized(document(attributes=[attr]))


def test_title_attribute_wins_over_the_first_heading_whatever_its_case() -> None:
    record = normalized(document(attributes=[attribute("TITLE", "STRING", stringValue="  Password   reset ")]))
    assert record.title == "Password reset"
    assert normalized(document()).title == "Reset your password"


def test_without_heading_the_title_is_the_first_line_as_plain_text() -> None:
    record = normalized(document(html="<p>See <a href='/x'>the <b>guide</b></a> first.</p><p>More</p>"))
    assert record.title == "See the guide first."


def test_heading_inside_code_is_not_taken_for_the_title() -> None:
    record = normalized(document(html="<pre># not a title</pre><p>Real first line</p>"))
    assert record.title == "Real first line"


def test_keywords_become_tags_split_trimmed_deduplicated_in_order() -> None:
    record = normalized(document(attributes=[attribute("keywords", "STRING", stringValue=" billing; login , billing,, 2FA ")]))
    assert record.tags == ["billing", "login", "2FA"]


def test_tag_attributes_option_adds_string_and_list_attributes_but_not_others() -> None:
    attrs = [
        attribute("Keywords", "STRING_LIST", stringListValue=["a", "b;c"]),
        attribute("topics", "STRING", stringValue="c, d"),
        attribute("views", "LONG", longValue=3),
        attribute("audience", "STRING", stringValue="admins"),
    ]
    options = {"tagAttributes": ["keywords", "topics", "views"]}
    assert normalized(document(attributes=attrs), options).tags == ["a", "b", "c", "d"]
    assert normalized(document(attributes=attrs), {"tagAttributes": []}).tags == []


@pytest.mark.parametrize(
    ("key", "values", "expected"),
    [
        ("contentType", ["FAQ"], "qa_pair"),
        ("_category", ["Support", "Q&A"], "qa_pair"),
        ("taxonomy", ["Help Center > Questions and Answers"], "qa_pair"),
        ("contentType", ["Code samples"], "code"),
        ("_category", ["code_snippet"], "code"),
        ("taxonomy", ["Policies/Code of Conduct"], "markdown"),
        ("contentType", ["text"], "text"),
        ("contentType", ["How-to guide"], "markdown"),
        ("audience", ["FAQ"], "markdown"),
    ],
)
def test_taxonomy_maps_onto_a_content_type(key: str, values: list[str], expected: str) -> None:
    record = normalized(document(attributes=[attribute(key, "STRING_LIST", stringListValue=values)]))
    assert record.content_type == expected


def test_url_attribute_becomes_the_record_url() -> None:
    record = normalized(document(attributes=[attribute("sourceUrl", "STRING", stringValue="https://hub/kb-1")]))
    assert record.url == "https://hub/kb-1"


def test_images_are_kept_only_when_parse_image_is_true() -> None:
    html = '<p>Diagram: <img src="/d.png" alt="Flow"></p>'
    assert normalized(document(html=html, parseImage=True)).content == "Diagram: ![Flow](/d.png)"
    assert normalized(document(html=html, parseImage=False)).content == "Diagram: Flow"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (document(html=None), "textContent.data is required"),
        (document(html="   "), "no usable content"),
        (document(html="<script>track()</script><nav>Menu</nav>"), "no usable content"),
        (document(html="<div>" * 5000), "could not be converted: HTML is nested too deeply"),
        (document(inlineContent={"type": "BYTE", "byteContent": "AAAA"}), "inlineContent.type is 'BYTE'"),
        (document(parseImage="no"), "parseImage must be true or false"),
        ({**document(), "metadata": []}, "metadata must be an object"),
    ],
)
def test_document_without_usable_content_fails_on_its_own(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(RecordError, match=message):
        normalized(doc)


def test_a_document_failing_after_its_identifier_was_read_keeps_it() -> None:
    with pytest.raises(RecordError) as failure:
        ADAPTER.identify({"content": {"documentIdentifier": "page-1", "deleted": "no"}})
    assert (str(failure.value), failure.value.source_id) == ("content.deleted must be true or false", "page-1")
