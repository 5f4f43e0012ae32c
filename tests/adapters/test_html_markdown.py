"""html_to_markdown on the kinds of HTML that CMS exports and documentation sites carry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from bs4.element import Tag

from adapters import html_to_markdown
from markdown_oracle import lines_outside_code, outline, render, visible_text

# (case, html, expected markdown)
CASES = [
    (
        "escaped_wordpress_post_is_decoded_into_markup",
        "&lt;h1&gt;Getting started&lt;/h1&gt;\n&lt;p&gt;Install the &lt;strong&gt;CLI&lt;/strong&gt; &amp;amp; log in.&lt;/p&gt;",
        "# Getting started\n\nInstall the **CLI** & log in.",
    ),
    (
        "double_encoded_heading_becomes_atx_heading",
        "&amp;lt;h2&amp;gt;Release notes&amp;lt;/h2&amp;gt;&amp;lt;p&amp;gt;Fixed &amp;amp;quot;save&amp;amp;quot;&amp;lt;/p&amp;gt;",
        '## Release notes\n\nFixed "save"',
    ),
    (
        "named_and_numeric_entities_in_real_markup_are_decoded_once",
        "<p>Caf&eacute; &amp; cr&#232;me &mdash; 5&nbsp;&lt;&nbsp;6 &copy; 2024</p>",
        "Café & crème — 5\xa0<\xa06 © 2024",
    ),
    (
        "escaped_markup_inside_real_code_stays_literal",
        '<pre><code class="language-html">&lt;div class=&quot;x&quot;&gt;&amp;amp;&lt;/div&gt;</code></pre>',
        '```html\n<div class="x">&amp;</div>\n```',
    ),
    (
        "literal_tags_and_entities_in_prose_are_escaped_not_rendered",
        "<p>Use the &lt;br&gt; tag and the &amp;copy; entity.</p>",
        "Use the \\<br> tag and the \\&copy; entity.",
    ),
    (
        "headings_are_atx_with_inline_markup_and_collapsed_whitespace",
        "<h1>Title</h1><h2>Section <em>one</em></h2><h3>  Spaced\n  heading </h3><h4></h4><h6>Issue #</h6><p>Body</p>",
        "# Title\n\n## Section *one*\n\n### Spaced heading\n\n###### Issue \\#\n\nBody",
    ),
    (
        "nested_ordered_and_unordered_lists_keep_their_nesting",
        "<ul><li>Fruits<ul><li>Apple</li><li>Pear<ol><li>Conference</li><li>Williams</li></ol></li></ul></li>"
        '<li>Vegetables</li></ul><p>Then:</p><ol start="9"><li>Ninth</li><li>Tenth<ul><li>Sub</li></ul></li></ol>',
        "- Fruits\n  * Apple\n  * Pear\n    1. Conference\n    2. Williams\n- Vegetables\n\nThen:\n\n"
        "9. Ninth\n10. Tenth\n    - Sub",
    ),
    (
        "list_items_with_paragraphs_stay_in_their_item",
        "<ul><li><p>First paragraph</p><p>Second paragraph</p></li><li><p>Next item</p></li></ul>",
        "- First paragraph\n\n  Second paragraph\n- Next item",
    ),
    (
        "adjacent_lists_get_different_markers_so_they_stay_apart",
        "<ul><li>a</li></ul><ul><li>b</li></ul><ol><li>c</li></ol><ol><li>d</li></ol>",
        "- a\n\n* b\n\n1. c\n\n1) d",
    ),
    (
        "prism_code_keeps_language_and_exact_text",
        '<pre class="language-javascript"><code class="language-javascript">const x = 1;\nif (x &lt; 2) {\n  log(`tick`);\n}\n</code></pre>',
        "```javascript\nconst x = 1;\nif (x < 2) {\n  log(`tick`);\n}\n```",
    ),
    (
        "highlightjs_code_keeps_its_blank_lines",
        '<pre><code class="hljs lang-python">def f():\n    return 1\n\n\n\ndef g():\n    pass</code></pre>',
        "```python\ndef f():\n    return 1\n\n\n\ndef g():\n    pass\n```",
    ),
    (
        "sphinx_highlight_wrapper_gives_the_language",
        '<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span>'
        '<span class="gp">&gt;&gt;&gt; </span><span class="kn">import</span> <span class="nn">json</span>\n</pre></div></div>',
        "```python3\n>>> import json\n```",
    ),
    (
        "github_highlight_source_class_gives_the_language",
        '<div class="highlight highlight-source-shell"><pre>pip install kb-ingest</pre></div>',
        "```shell\npip install kb-ingest\n```",
    ),
    (
        "code_with_backtick_fences_and_br_lines_gets_a_longer_fence",
        '<pre><code class="language-markdown">```py<br>x<br>```</code></pre>',
        "````markdown\n```py\nx\n```\n````",
    ),
    (
        "inline_code_is_a_code_span_even_with_backticks",
        "<p>Call <code>json.dumps(obj)</code> or <code>a `b` c</code>.</p>",
        "Call `json.dumps(obj)` or `` a `b` c ``.",
    ),
    (
        "table_with_thead_becomes_gfm_pipe_table_with_escaped_pipes",
        "<table><thead><tr><th>Name</th><th>Type</th></tr></thead><tbody><tr><td>id</td><td><code>int</code></td></tr>"
        "<tr><td>tags</td><td>list | None</td></tr></tbody></table>",
        "| Name | Type |\n| --- | --- |\n| id | `int` |\n| tags | list \\| None |",
    ),
    (
        "table_without_header_uses_first_row_and_pads_colspans",
        '<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td colspan="2">d</td></tr></table>',
        "| a | b |  |\n| --- | --- | --- |\n| c | d |  |",
    ),
    (
        "sphinx_table_paragraph_cells_become_plain_cells",
        '<table class="docutils"><thead><tr><th class="head"><p>JSON</p></th><th class="head"><p>Python</p></th></tr></thead>'
        "<tbody><tr><td><p>object</p></td><td><p>dict</p></td></tr></tbody></table>",
        "| JSON | Python |\n| --- | --- |\n| object | dict |",
    ),
    (
        "layout_table_of_lists_is_unwrapped_into_its_blocks",
        "<table><tr><td><ul><li>left</li></ul></td><td><ul><li>right</li></ul></td></tr></table>",
        "- left\n\n* right",
    ),
    (
        "links_keep_href_and_title_and_unsafe_links_keep_only_text",
        '<p>See <a href="https://example.com/docs" title="Docs">the docs</a>, <a href="https://example.com">https://example.com</a>, '
        '<a href="/a b(c)">odd url</a>, <a href="javascript:void(0)">js</a> and <a name="top">anchor</a>.</p>',
        'See [the docs](https://example.com/docs "Docs"), <https://example.com>, [odd url](</a b(c)>), js and anchor.',
    ),
    (
        "backslashes_in_hrefs_stay_backslashes",
        '<p><a href="a\\">one</a> <a href="b\\(c)">two</a> <img src="d\\" alt="three"></p>',
        "[one](a\\\\) [two](<b\\\\(c)>) ![three](d\\\\)",
    ),
    (
        "images_are_kept_and_data_uri_images_become_alt_text",
        '<p><img src="/img/arch.png" alt="Architecture diagram" title="Arch"> <img src="data:image/png;base64,AAAA" alt="inline"></p>',
        '![Architecture diagram](/img/arch.png "Arch") inline',
    ),
    (
        "scripts_styles_comments_and_noscript_never_reach_the_output",
        "<style>p { color: red }</style><p>Visible<!-- hidden comment --> text</p><script>alert('x')</script><noscript>Enable JS</noscript>",
        "Visible text",
    ),
    (
        "page_chrome_is_dropped_but_the_article_with_its_header_is_kept",
        '<html><head><title>T</title></head><body><header><nav><a href="/">Home</a></nav></header>'
        '<div role="navigation">Menu</div><form><input><button>Go</button></form>'
        "<article><header><h1>Post</h1></header><p>Body</p></article><aside>Related</aside>"
        '<footer>(c) ACME</footer><iframe src="x"></iframe></body></html>',
        "# Post\n\nBody",
    ),
    (
        "sphinx_chrome_and_headerlinks_are_dropped_around_the_main_content",
        '<div class="related" role="navigation"><h3>Navigation</h3></div><div class="document"><div class="body" role="main">'
        '<section><h1>json<a class="headerlink" href="#json">¶</a></h1><aside class="sidebar"><p>Hello</p></aside><p>Text</p></section>'
        '</div></div><div class="sphinxsidebar"><h3>Table of Contents</h3></div><div class="footer">© Copyright</div>',
        "# json\n\nHello\n\nText",
    ),
    (
        "runs_of_blank_lines_empty_paragraphs_and_trailing_spaces_are_removed",
        "<div>\n\n  <p>  Lots   of\n\n spaces\t here  </p>\n\n\n\n<p>&nbsp;</p><p></p><br><p>Next<br>line<br></p>\n</div>",
        "Lots of spaces here\n\nNext\\\nline",
    ),
    (
        "text_that_looks_like_markdown_is_escaped_only_where_it_would_matter",
        "<p>1. not a list</p><p>- not a bullet</p><p># not a heading</p>"
        "<p>*not emphasis* and snake_case and __dunder__</p><p>[not](a link) but [1] stays</p>",
        "1\\. not a list\n\n\\- not a bullet\n\n\\# not a heading\n\n"
        "\\*not emphasis\\* and snake_case and \\_\\_dunder\\_\\_\n\n[not\\](a link) but [1] stays",
    ),
    (
        "blockquote_paragraphs_stay_in_the_quote",
        "<blockquote><p>Quoted</p><p>Second</p></blockquote>",
        "> Quoted\n>\n> Second",
    ),
    (
        "word_paste_spans_and_office_tags_reduce_to_text",
        '<p class="MsoNormal"><span style="font-family:Calibri">Hello </span><b><span>world</span></b><o:p></o:p></p>',
        "Hello **world**",
    ),
]

# Cases whose source HTML (as given: not escaped, no chrome, no layout table) is a fair oracle.
NOT_AN_ORACLE = ("escaped_", "double_encoded", "page_chrome", "sphinx_chrome", "scripts_", "layout_table")
RENDER_BACK = [(case, html) for case, html, _ in CASES if not case.startswith(NOT_AN_ORACLE)]


@pytest.mark.parametrize(("case", "html", "expected"), CASES, ids=[c[0] for c in CASES])
def test_converts_real_world_html(case: str, html: str, expected: str) -> None:
    assert html_to_markdown(html) == expected


@pytest.mark.parametrize(("case", "html"), RENDER_BACK, ids=[c[0] for c in RENDER_BACK])
def test_markdown_renders_back_to_the_same_structure_and_text(case: str, html: str) -> None:
    rendered = render(html_to_markdown(html))
    assert outline(rendered) == outline(html)
    assert visible_text(rendered) == visible_text(html)


def test_double_encoded_document_renders_back_like_its_decoded_html() -> None:
    decoded = "<h2>Release notes</h2><ul><li>Fixed &quot;save&quot; &amp; load</li></ul>"
    encoded = decoded.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    twice = encoded.replace("&", "&amp;")
    for html in (encoded, twice):
        rendered = render(html_to_markdown(html))
        assert outline(rendered) == outline(decoded) == ["h2", "ul", "li", "/ul"]
        assert visible_text(rendered) == visible_text(decoded)


def test_layout_table_renders_back_as_two_separate_lists() -> None:
    html = "<table><tr><td><ul><li>left</li></ul></td><td><ul><li>right</li></ul></td></tr></table>"
    rendered = render(html_to_markdown(html))
    assert outline(rendered) == ["ul", "li", "/ul", "ul", "li", "/ul"]
    assert visible_text(rendered) == "leftright"


def test_images_become_alt_text_when_images_are_not_kept() -> None:
    html = '<p>Before <img src="/a.png" alt="A [chart]"> after</p>'
    assert html_to_markdown(html, keep_images=False) == "Before A \\[chart\\] after"


def test_output_has_no_trailing_spaces_and_no_blank_line_runs_outside_code() -> None:
    html = "".join(case_html for _, case_html, _ in CASES)
    markdown = html_to_markdown(html)
    assert all(line == line.rstrip() for line in markdown.split("\n"))
    assert "\n\n\n" not in "\n".join(lines_outside_code(markdown))


def test_deeply_nested_html_is_refused_with_a_value_error() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        html_to_markdown("<div>" * 5000 + "x" + "</div>" * 5000)


def test_non_string_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        html_to_markdown(b"<p>x</p>")  # type: ignore[arg-type]


def test_empty_and_chrome_only_documents_convert_to_empty_markdown() -> None:
    assert html_to_markdown("") == ""
    assert html_to_markdown("<nav><a href='/'>Home</a></nav><script>x()</script>") == ""


HEADING = re.compile(r"^h[1-6]$")


# --- real documentation pages (Debian's python3.11-doc), when installed -----------------

DOCS = Path("/usr/share/doc/python3.11/html")
PAGES = ["library/json.html", "library/stdtypes.html", "library/asyncio.html", "tutorial/controlflow.html",
         "howto/logging.html", "reference/expressions.html", "faq/programming.html", "c-api/typeobj.html"]


@pytest.mark.skipif(not DOCS.is_dir(), reason="apt-get install python3.11-doc for the documentation corpus")
@pytest.mark.parametrize("page", PAGES)
def test_python_docs_page_keeps_headings_code_and_tables_and_drops_chrome(page: str) -> None:
    html = (DOCS / page).read_text(encoding="utf-8")
    markdown = html_to_markdown(html)
    main = BeautifulSoup(html, "html.parser").find(attrs={"role": "main"})
    rendered = BeautifulSoup(render(markdown), "html.parser")

    def headings(soup: Tag) -> list[tuple[str, str]]:
        return [(h.name, " ".join(h.get_text().replace("¶", "").split())) for h in soup.find_all(HEADING)]

    assert headings(rendered) == headings(main)
    assert [outline(str(pre)) for pre in rendered.find_all("pre")] == [
        outline(str(pre.parent.parent)) if "highlight" in (pre.parent.get("class") or []) else outline(str(pre))
        for pre in main.find_all("pre")
    ]
    assert len(rendered.find_all("table")) == len(main.find_all("table"))
    assert "¶" not in markdown and "Quick search" not in markdown and "previous chapter" not in markdown
    assert all(line == line.rstrip() for line in markdown.split("\n"))
