"""Independent checks on converter output: block structure and text, via a CommonMark renderer.

The render-back tests parse the source HTML and the Markdown rendered by markdown-it (with
GFM tables) into the same coarse outline, so "the Markdown says the same thing" is checked
without trusting the converter's own view of the document.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from bs4.element import Tag
from markdown_it import MarkdownIt

_RENDERER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_HEADING_OR_P = re.compile(r"^(?:h[1-6]|p)$")
_LANGUAGE = re.compile(r"^(?:language|lang|highlight(?:-source)?)-(.+)$")
_FENCE = re.compile(r"^[ >]*(`{3,}|~{3,})")


def render(markdown: str) -> str:
    return _RENDERER.render(markdown)


def outline(html: str) -> list[str]:
    """Blocks in order: headings, paragraphs, nested lists, quotes, code (with language), tables."""
    out: list[str] = []
    _walk(BeautifulSoup(html, "html.parser"), out)
    return out


def visible_text(html: str) -> str:
    """All text, images as their alt text, with no whitespace at all.

    Whitespace is where HTML and Markdown legitimately differ (block boundaries, indentation,
    collapsed runs), so the comparison is on the characters a reader sees.
    """
    soup = BeautifulSoup(html, "html.parser")
    for img in soup.find_all("img"):
        img.replace_with(str(img.get("alt") or ""))
    return "".join(soup.get_text().split())


def lines_outside_code(markdown: str) -> list[str]:
    """The Markdown's lines, less the contents (not the fences) of fenced code blocks."""
    lines, fence = [], ""
    for line in markdown.split("\n"):
        match = _FENCE.match(line)
        if fence and match and match.group(1).startswith(fence):
            fence = ""
        elif fence:
            continue
        elif match:
            fence = match.group(1)
        lines.append(line)
    return lines


def _walk(node: Tag, out: list[str]) -> None:
    for child in node.children:
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name in ("ul", "ol", "blockquote"):
            out.append(name)
            _walk(child, out)
            out.append("/" + name)
        elif name == "li":
            out.append("li")
            _walk(child, out)
        elif _HEADING_OR_P.match(name):
            has_content = child.get_text(strip=True) or child.find("img")
            if has_content and not (name == "p" and child.parent.name == "li"):
                out.append(name)
        elif name == "pre":
            out.append("pre:" + _language(child))
        elif name in ("table", "hr"):
            out.append(name)
        else:
            _walk(child, out)


def _language(pre: Tag) -> str:
    code = pre.find("code")
    for el in (code, pre, pre.parent, pre.parent.parent if pre.parent else None):
        for cls in (el.get("class") or []) if isinstance(el, Tag) else []:
            match = _LANGUAGE.match(cls)
            if match and match.group(1) not in ("default", "none", "nohighlight"):  # "no language"
                return match.group(1)
    return ""
