"""Inline Markdown for `adapters._html_converter`: escaping, emphasis and code runs, links.

Everything here exists so that what CommonMark reads back is what the HTML said: literal
text stays literal, and emphasis or code is only written where a renderer will see it.
"""

from __future__ import annotations

import re
import unicodedata

from bs4.element import NavigableString, Tag

BLOCKS = frozenset(
    "p div section article main blockquote ul ol li dl dt dd table pre hr br "
    "h1 h2 h3 h4 h5 h6 figure figcaption header footer".split()
)

# One pass of escapes for literal text: Markdown punctuation that would otherwise start
# emphasis, code, raw HTML, entities or links. `_` inside a word (snake_case) stays bare,
# and a backslash is doubled only where it would escape what follows.
_INLINE_SPECIAL = re.compile(
    r"\\(?=[!-/:-@\[-`{-~]|$)|[*`~]|(?<![^\W_])_|_(?![^\W_])|<(?=[A-Za-z/!?])|&(?=#?\w+;)|\](?=[(:])"
)
_LINK_TEXT_SPECIAL = re.compile(r"[\[\]]")
_LINE_START = re.compile(r"^(\s?)(#{1,6}(?=\s|$)|[-+]+(?=\s|$)|=+\s*$|>|\d{1,9}(?=[.)](?:\s|$)))")
_BACKTICKS = re.compile(r"`+")
_URL_NEEDS_BRACKETS = re.compile(r"[\s()<>]")

EMPHASIS_KIND = {"em": "em", "i": "em", "strong": "strong", "b": "strong", "del": "del", "s": "del"}
CODE_KIND = {"code": "code", "kbd": "code", "samp": "code"}


def escape_text(text: str, *, in_link: bool, at_line_start: bool) -> str:
    text = _INLINE_SPECIAL.sub(r"\\\g<0>", text)
    if in_link:
        text = _LINK_TEXT_SPECIAL.sub(r"\\\g<0>", text)
    return escape_line_start(text) if at_line_start else text


def escape_line_start(text: str) -> str:
    """Escape a leading `#`, `-`, `+`, `>`, `=` or `1.` that would open a block."""
    return _LINE_START.sub(_escape_line_start, text, count=1)


def _escape_line_start(match: re.Match[str]) -> str:
    space, marker = match.groups()
    if marker[0].isdigit():  # `1.` stays a number; only its delimiter is escaped
        return match.group(0) + "\\"
    return space + "\\" + marker


def at_line_start(node: NavigableString | Tag) -> bool:
    """Whether text may open a Markdown line: first thing in its block, or after a break."""
    while (prev := node.previous_sibling) is None:
        node = node.parent
        if node is None or node.name in BLOCKS or node.name == "[document]":
            return True
    return isinstance(prev, Tag) and prev.name in BLOCKS


def inline_run(el: Tag, kinds: dict[str, str]) -> list[Tag]:
    """`el` with its directly adjacent siblings of the same kind (`<b>a</b><b>b</b>`).

    Such a run is written as one span: `**a****b**` would not read back as bold.
    """
    kind = kinds[el.name]

    def same(sibling: object) -> bool:
        return isinstance(sibling, Tag) and kinds.get(sibling.name) == kind and bool(sibling.get_text().strip())

    run = [el]
    while same(run[0].previous_sibling):
        run.insert(0, run[0].previous_sibling)
    while same(run[-1].next_sibling):
        run.append(run[-1].next_sibling)
    return run


def emphasis(el: Tag, text: str, marker: str) -> str:
    """`marker`-delimited text, or bare text where CommonMark could not read it as emphasis.

    `**Note:**text` is not bold in CommonMark (a closing run after punctuation needs space or
    punctuation after it), so such a span keeps its text and loses the markers.
    """
    run = inline_run(el, EMPHASIS_KIND)
    prefix, inner, suffix = _split_run_edges(el, text, run)
    if not inner.strip() or not _can_delimit(run):
        return prefix + inner + suffix
    opener = marker if el is run[0] else ""
    closer = marker if el is run[-1] else ""
    return prefix + opener + inner + closer + suffix


def code_span(el: Tag, text: str) -> str:
    """A code span over the whole run of adjacent code elements, fenced to fit its backticks."""
    run = inline_run(el, CODE_KIND)
    prefix, inner, suffix = _split_run_edges(el, text, run)
    if not inner.strip():
        return prefix + inner + suffix
    whole = "".join(tag.get_text() for tag in run) if len(run) > 1 else inner
    longest = max((len(ticks) for ticks in _BACKTICKS.findall(whole)), default=0)
    delimiter = "`" * (longest + 1)
    pad = " " if longest else ""
    opener = delimiter + pad if el is run[0] else ""
    closer = pad + delimiter if el is run[-1] else ""
    return prefix + opener + inner + closer + suffix


def _split_run_edges(el: Tag, text: str, run: list[Tag]) -> tuple[str, str, str]:
    """Move whitespace at the run's outer edges outside the delimiters; keep inner spaces."""
    prefix = suffix = ""
    if el is run[0] and text[:1].isspace():
        prefix, text = " ", text.lstrip()
    if el is run[-1] and text[-1:].isspace():
        suffix, text = " ", text.rstrip()
    return prefix, text, suffix


def _can_delimit(run: list[Tag]) -> bool:
    head = run[0].get_text()
    tail = run[-1].get_text()
    first, last = head.lstrip()[:1], tail.rstrip()[-1:]
    before = " " if head[:1].isspace() else _edge_char(run[0].previous_sibling, -1)
    after = " " if tail[-1:].isspace() else _edge_char(run[-1].next_sibling, 0)
    return not (_is_punct(first) and _is_word(before)) and not (_is_punct(last) and _is_word(after))


def _edge_char(sibling: object, index: int) -> str:
    """The character a reader sees next to an inline element ("" at a block edge)."""
    if sibling is None:
        return ""
    if isinstance(sibling, NavigableString):
        text = str(sibling)
    elif sibling.name == "img":
        text = str(sibling.get("alt") or "")
    elif sibling.name in BLOCKS:
        return ""
    else:
        text = sibling.get_text()
    return text[index] if text else ""


def _is_punct(char: str) -> bool:
    return bool(char) and unicodedata.category(char)[0] in "PS"


def _is_word(char: str) -> bool:
    return bool(char) and not char.isspace() and not _is_punct(char)


def link_destination(href: str) -> str:
    # A backslash escapes the punctuation after it, also in a destination: `(a\)` lost
    # its closing parenthesis and the link with it. Doubled, each stays a backslash.
    href = href.strip().replace("\n", "").replace("\\", "\\\\")
    if _URL_NEEDS_BRACKETS.search(href):
        return "<" + href.replace("<", "%3C").replace(">", "%3E") + ">"
    return href


def title_part(title: object) -> str:
    if not isinstance(title, str) or not title.strip():
        return ""
    return ' "%s"' % " ".join(title.split()).replace("\\", "\\\\").replace('"', '\\"')
