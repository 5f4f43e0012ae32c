"""HTML (from CMS exports and documentation sites) to clean CommonMark + GFM tables.

The walk itself lives in `adapters._html_converter`; this module owns what happens around
it: undoing escaped markup, finding the page's main content, and the final whitespace tidy.
"""

from __future__ import annotations

import html as html_lib
import re

from bs4 import BeautifulSoup
from bs4.element import Tag

from adapters._html_converter import HtmlConverter

PARSER = "html.parser"  # stdlib, so output never depends on which optional parser is installed

# Escaped markup (`&lt;h1&gt;`, or `&amp;lt;h1&amp;gt;` when encoded twice) is decoded only
# while the text has no real tag and starts with an escaped one.
_REAL_TAG = re.compile(r"<[A-Za-z!/?]")
_ESCAPED_START = re.compile(r"\s*&(?:amp;)*lt;[!/]?[A-Za-z]")
MAX_DECODE_ROUNDS = 4

_NEWLINE = re.compile(r"\r\n?")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # junk in a knowledge base; NUL breaks renderers
_MAIN_HINT = re.compile(r"<main[\s>/]|role\s*=\s*[\"']?main\b", re.IGNORECASE)
_FENCE = re.compile(r"^[ >]*(`{3,}|~{3,})")


def html_to_markdown(html: str, *, keep_images: bool = True) -> str:
    """Convert one HTML document or fragment; `keep_images=False` leaves only alt text.

    Raises ValueError only for HTML nested too deeply to walk (hundreds of levels).
    """
    if not isinstance(html, str):
        raise TypeError("html must be a str")
    html = decode_escaped_markup(_CONTROL.sub("", _NEWLINE.sub("\n", html)))
    soup = BeautifulSoup(html, PARSER, multi_valued_attributes=None)  # class stays one string
    root = _main_content(soup, html) or soup
    try:
        markdown = HtmlConverter(keep_images).convert_soup(root)
    except RecursionError:
        raise ValueError("HTML is nested too deeply to convert") from None
    return tidy_markdown(markdown)


def decode_escaped_markup(text: str) -> str:
    """Undo whole-document HTML escaping, never touching entities inside real markup."""
    for _ in range(MAX_DECODE_ROUNDS):
        if _REAL_TAG.search(text) or not _ESCAPED_START.match(text):
            break
        text = html_lib.unescape(text)
    return text


def tidy_markdown(markdown: str) -> str:
    """No trailing spaces anywhere; at most one blank line in a row, except inside code."""
    out: list[str] = []
    fence = ""
    for line in markdown.split("\n"):
        line = line.rstrip()
        match = _FENCE.match(line)
        if fence:
            if match and match.group(1).startswith(fence) and line.strip(" >") == match.group(1):
                fence = ""
        elif match:
            fence = match.group(1)
        elif not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip("\n")


def _main_content(soup: BeautifulSoup, html: str) -> Tag | None:
    """A page that marks its main content (`<main>`, role=main) has chrome all around it.

    The raw-text count keeps the common case (no such marker) free of a tree search, and
    the usual one (a single marker) down to a search that stops at the first hit.
    """
    hints = len(_MAIN_HINT.findall(html))
    if hints == 0:
        return None
    if hints == 1:
        return soup.find(_is_main)
    found = soup.find_all(_is_main)
    ids = {id(tag) for tag in found}
    outermost = [tag for tag in found if not any(id(parent) in ids for parent in tag.parents)]
    return outermost[0] if len(outermost) == 1 else None


def _is_main(tag: Tag) -> bool:
    return tag.name == "main" or tag.get("role") == "main"
