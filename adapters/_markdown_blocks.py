"""Block-level pieces for `adapters._html_converter`: code blocks, tables, list separation."""

from __future__ import annotations

import re

from bs4.element import NavigableString, PreformattedString, Tag
from markdownify import re_extract_newlines

_LIST_ITEM = re.compile(r"(\d{1,9}(?=[.)])|(?![.)]))([-*+.)]) ")
_OTHER_MARKER = {"-": "*", "*": "-", "+": "-", ".": ")", ")": "."}
_LANGUAGE_CLASS = re.compile(r"^(?:language|lang|highlight(?:-source)?)-([\w+#.-]+)$")
_NO_LANGUAGE = frozenset({"default", "none", "nohighlight"})
_LAYOUT_BLOCKS = ["ul", "ol", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "table", "pre", "blockquote"]


def join_blocks(strings: list[str]) -> str:
    """Concatenate children, collapsing the newlines where two blocks meet to at most two."""
    parts = [""]
    for string in strings:
        leading, content, trailing = re_extract_newlines.match(string).groups()
        if parts[-1] and leading:
            leading = "\n" * min(2, max(len(parts.pop()), len(leading)))
        if len(leading or parts[-1]) == 2 and _LIST_ITEM.match(content):
            content = _unmerge_list("".join(parts), content)
        parts += (leading, content, trailing)
    return "".join(parts)


def _unmerge_list(before: str, content: str) -> str:
    """Give a list the other marker when it follows one of its kind, or both would merge.

    CommonMark reads `- a`, a blank line, `- b` as one loose list; `- a` then `* b` stays two.
    """
    last = next((line for line in reversed(before.split("\n")) if line[:1].strip()), "")
    previous = _LIST_ITEM.match(last)
    if previous is None or _marker(previous) != _marker(_LIST_ITEM.match(content)):
        return content
    lines = content.split("\n")
    for i, line in enumerate(lines):
        item = _LIST_ITEM.match(line)
        if item:
            lines[i] = item.group(1) + _OTHER_MARKER[item.group(2)] + line[item.end(2):]
        elif line[:1].strip():
            break  # the list has ended; what follows is not adjacent to anything
    return "\n".join(lines)


def _marker(item: re.Match[str]) -> str:
    return item.group(2)


def code_language(pre: Tag) -> str:
    """Language from the usual highlighter conventions, on the code, the pre or its wrappers."""
    parent = pre.parent
    for el in (pre.find("code", recursive=False), pre, parent, parent.parent if parent else None):
        for hint in _language_hints(el):
            match = _LANGUAGE_CLASS.match(hint)
            if match and match.group(1).lower() not in _NO_LANGUAGE:
                return match.group(1)
    return ""


def _language_hints(el: Tag | None) -> list[str]:
    if not isinstance(el, Tag):
        return []
    hints = [f"language-{el.get(a)}" for a in ("data-lang", "data-language") if el.get(a)]
    return hints + str(el.get("class") or "").split()


def pre_text(pre: Tag) -> str:
    """The code exactly as shown: every string, `<br>` as a newline, comments skipped."""
    parts = []
    for node in pre.descendants:
        if isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString):
                parts.append(node)
        elif node.name == "br":
            parts.append("\n")
    lines = "".join(parts).split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines).rstrip()


def table_rows(table: Tag) -> list[Tag]:
    """Rows of this table only (not of tables nested in its cells), thead first."""
    rows: list[Tag] = []
    head: list[Tag] = []
    for child in table.find_all(["thead", "tbody", "tfoot", "tr"], recursive=False):
        group = [child] if child.name == "tr" else child.find_all("tr", recursive=False)
        (head if child.name == "thead" else rows).extend(group)
    return head + rows


def is_layout_table(table: Tag, trs: list[Tag]) -> bool:
    """One cell, or header-less cells holding lists, headings or code: layout, not data."""
    cells = [cell for tr in trs for cell in tr.find_all(["td", "th"], recursive=False)]
    if len(cells) == 1:
        return True
    if any(cell.name == "th" for cell in cells) or table.find("thead", recursive=False):
        return False
    return any(cell.find(_LAYOUT_BLOCKS) for cell in cells)


def pipe_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
