"""Properties of html_to_markdown over generated HTML, not just hand-picked pages."""

from __future__ import annotations

import html as html_lib

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters import html_to_markdown
from markdown_oracle import lines_outside_code, outline, render, visible_text

# Prose made mostly of the characters Markdown gives meaning to.
PUNCTUATION = list("*_#-+.>`[]()!<&|~\\=:;\"'{}") + ["&lt;b&gt;", "1.", "- ", "# ", "---", "&amp;"]
WORDS = st.sampled_from(["alpha", "beta", "x", "snake_case", "C:\\path", "42", "a_b_c", "__init__"])
ANY_CHARS = st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=3)
TOKENS = st.one_of(WORDS, st.sampled_from(PUNCTUATION), ANY_CHARS)
LANGUAGES = st.sampled_from(["", "python", "js", "c++", "shell-session"])


@st.composite
def prose(draw) -> str:
    """Escaped HTML text: words and punctuation joined by single spaces."""
    tokens = draw(st.lists(TOKENS, min_size=1, max_size=8))
    return html_lib.escape(" ".join(t.strip() or "x" for t in tokens), quote=False)


@st.composite
def inline(draw) -> str:
    """A run of text with inline elements, sometimes touching their neighbours (`a<b>b</b>c`)."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        text = draw(prose())
        kind = draw(st.sampled_from(["text", "em", "strong", "code", "a", "img"]))
        if kind == "a":
            text = f'<a href="https://example.com/{draw(WORDS)}">{text}</a>'
        elif kind == "img":
            text = f'<img src="/i/{draw(WORDS)}.png" alt="{html_lib.escape(draw(WORDS))}">'
        elif kind != "text":
            text = f"<{kind}>{text}</{kind}>"
        parts.append(text)
    return draw(st.sampled_from([" ", ""])).join(parts)


def code_block(draw) -> str:
    code = draw(st.text(st.sampled_from(list("ab `~\n\t#*<>&")), min_size=1, max_size=40))
    if not code.strip():
        code = "x"
    language = draw(LANGUAGES)
    cls = f' class="language-{language}"' if language else ""
    return f"<pre><code{cls}>{html_lib.escape(code.strip(chr(10)), quote=False)}</code></pre>"


def table(draw) -> str:
    width = draw(st.integers(1, 3))
    head = "".join(f"<th>{draw(prose())}</th>" for _ in range(width))
    rows = "".join(
        "<tr>" + "".join(f"<td>{draw(inline())}</td>" for _ in range(width)) + "</tr>"
        for _ in range(draw(st.integers(1, 3)))
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def a_list(draw, depth: int) -> str:
    tag = draw(st.sampled_from(["ul", "ol"]))
    items = []
    for _ in range(draw(st.integers(1, 3))):
        nested = a_list(draw, depth + 1) if depth < 2 and draw(st.booleans()) else ""
        items.append(f"<li>{draw(inline())}{nested}</li>")
    return f"<{tag}>{''.join(items)}</{tag}>"


@st.composite
def block(draw, depth: int = 0) -> str:
    kind = draw(st.sampled_from(["p", "h", "list", "pre", "table", "quote"] if depth < 1 else ["p", "list", "pre"]))
    if kind == "p":
        return f"<p>{draw(inline())}</p>"
    if kind == "h":
        level = draw(st.integers(1, 6))
        return f"<h{level}>{draw(inline())}</h{level}>"
    if kind == "list":
        return a_list(draw, 0)
    if kind == "pre":
        return code_block(draw)
    if kind == "table":
        return table(draw)
    return "<blockquote>" + "".join(draw(st.lists(block(depth + 1), min_size=1, max_size=3))) + "</blockquote>"


SOUP = list("<>/&;#! =\"'abpdiv-\n\r\x00`*_") + ["<p>", "</p>", "<li>", "<pre>", "<table>", "<td>", "&amp;lt;", "<!--"]
documents = st.lists(block(), min_size=1, max_size=6).map("\n".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
@example("<p>alpha</p>\n<h1>#</h1>")  # escaped twice, the heading showed `\#`
@example("<h1>a\\#</h1><h2>b ##</h2><h3>c\\</h3>")
def test_generated_documents_render_back_to_the_same_structure_and_text(html: str) -> None:
    rendered = render(html_to_markdown(html))
    assert outline(rendered) == outline(html)
    assert visible_text(rendered) == visible_text(html)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(SOUP)).map("".join))
def test_arbitrary_markup_soup_converts_without_raising_and_stays_tidy(soup: str) -> None:
    markdown = html_to_markdown(soup)
    assert all(line == line.rstrip() for line in markdown.split("\n"))
    assert "\n\n\n" not in "\n".join(lines_outside_code(markdown))
    assert markdown == markdown.strip("\n")
