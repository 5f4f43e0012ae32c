"""The markdownify subclass behind `adapters.html_markdown.html_to_markdown`.

markdownify does the per-element conversions; this subclass fixes what matters for a
knowledge base: page chrome never reaches the output, code keeps its language and its exact
text, tables are real pipe tables, and literal text that happens to look like Markdown is
escaped just enough that the result renders back to the same document structure.
"""

from __future__ import annotations

import re

from bs4.element import NavigableString, PreformattedString, Tag
from markdownify import (
    ATX,
    MarkdownConverter,
    chomp,
    re_extract_newlines,
    should_remove_whitespace_inside,
    should_remove_whitespace_outside,
)

_DROP_TAGS = frozenset(
    "script style noscript template head title meta link nav form button iframe "
    "input select textarea label svg canvas object embed".split()
)
_DROP_ROLES = frozenset({"navigation", "search", "banner", "contentinfo"})
_DROP_CLASSES = {  # Sphinx chrome, as in the Python documentation
    "div": frozenset({"related", "sphinxsidebar", "sphinxsidebarwrapper", "footer"}),
    "a": frozenset({"headerlink"}),
    "span": frozenset({"linenos"}),
}
_SECTIONING = frozenset({"article", "main", "section"})
_PAGE_CHROME = frozenset({"header", "footer", "aside"})
_BLOCKS = frozenset(
    "p div section article main blockquote ul ol li dl dt dd table pre hr br "
    "h1 h2 h3 h4 h5 h6 figure figcaption header footer".split()
)
_LAYOUT_BLOCKS = ["ul", "ol", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "table", "pre", "blockquote"]
_INLINE_CONTEXT = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "td", "th"})
_NO_FORMAT = frozenset({"code", "kbd", "samp"})

# One pass of escapes for literal text: Markdown punctuation that would otherwise start
# emphasis, code, raw HTML, entities or links. `_` inside a word (snake_case) stays bare.
_INLINE_SPECIAL = re.compile(
    r"\\(?=[!-/:-@\[-`{-~])|[*`~]|(?<![^\W_])_|_(?![^\W_])|<(?=[A-Za-z/!?])|&(?=#?\w+;)|\](?=[(:])"
)
_LINK_TEXT_SPECIAL = re.compile(r"[\[\]]")
_LINE_START = re.compile(r"^(\s?)(#{1,6}(?=\s|$)|[-+]+(?=\s|$)|=+\s*$|>|\d{1,9}(?=[.)](?:\s|$)))")
_CONTENT_LINE = re.compile(r"(?<=\n)(?=.)")
_BACKTICKS = re.compile(r"`+")
_LANGUAGE_CLASS = re.compile(r"^(?:language|lang|highlight(?:-source)?)-([\w+#.-]+)$")
_NO_LANGUAGE = frozenset({"default", "none", "nohighlight"})
_URL_NEEDS_BRACKETS = re.compile(r"[\s()<>]")
_AUTOLINK_SCHEME = re.compile(r"^(?:https?|mailto):", re.IGNORECASE)
_UNSAFE_SCHEME = ("javascript:", "vbscript:", "data:")


class HtmlConverter(MarkdownConverter):
    """One per document: ordered-list numbers are counted as the items go by."""

    def __init__(self, keep_images: bool = True) -> None:
        super().__init__(heading_style=ATX, bullets="-*+", wrap=True, wrap_width=None,
                         newline_style="backslash", escape_asterisks=False,
                         escape_underscores=False, escape_misc=False)
        self.keep_images = keep_images
        self._ol_next: dict[int, int] = {}

    def process_tag(self, node, parent_tags=None):
        """markdownify's walk, without its per-element `find_parent('pre')` scan.

        That scan was a quarter of the conversion time, and it is moot here: `<pre>` is
        converted whole by `_fenced_code`, so nothing inside one is ever walked.
        """
        parent_tags = parent_tags if parent_tags is not None else set()
        name = node.name
        if name != "[document]":
            if _is_chrome(node):
                return ""
            if name == "pre":
                return self._fenced_code(node, parent_tags)
            if name == "table":
                return self._table(node, parent_tags)
        strip_inside = should_remove_whitespace_inside(node)
        child_tags = {*parent_tags, name}
        if name in _INLINE_CONTEXT:
            child_tags.add("_inline")
        if name in _NO_FORMAT:
            child_tags.add("_noformat")
        strings = []
        for child in node.children:
            if isinstance(child, Tag):
                text = self.process_tag(child, child_tags)
            elif _keeps_text(child, strip_inside):
                text = self.process_text(child, child_tags)
            else:
                continue
            if text:
                strings.append(text)
        convert = self.get_conv_fn_cached(name)
        text = _join_blocks(strings)
        return convert(node, text, parent_tags=parent_tags) if convert else text

    def process_text(self, el, parent_tags=None):
        if _at_line_start(el):
            parent_tags = {*(parent_tags or ()), "_line_start"}
        text = super().process_text(el, parent_tags)
        nxt = el.next_sibling
        if text.endswith("!") and isinstance(nxt, Tag) and nxt.name == "a":
            text = text[:-1] + "\\!"  # `!` right before a link would make it an image
        return text

    def escape(self, text, parent_tags):
        text = _INLINE_SPECIAL.sub(r"\\\g<0>", text)
        if "a" in parent_tags:
            text = _LINK_TEXT_SPECIAL.sub(r"\\\g<0>", text)
        if "_line_start" in parent_tags:
            text = _LINE_START.sub(_escape_line_start, text, count=1)
        return text

    def _fenced_code(self, pre: Tag, parent_tags) -> str:
        code = _pre_text(pre)
        if not code.strip():
            return ""
        longest = max((len(run) for run in _BACKTICKS.findall(code)), default=0)
        if "_inline" in parent_tags:  # a code block in a table cell or heading
            ticks = "`" * (longest + 1)
            return f" {ticks} {' '.join(code.split())} {ticks} "
        fence = "`" * max(3, longest + 1)
        return f"\n\n{fence}{_code_language(pre)}\n{code}\n{fence}\n\n"

    def _table(self, table: Tag, parent_tags) -> str:
        trs = _table_rows(table)
        if _is_layout_table(table, trs):
            return self._unboxed(trs, parent_tags)
        rows = [row for row in (self._row(tr, parent_tags) for tr in trs) if row]
        if "_inline" in parent_tags:  # a table nested in a cell: its text, flattened
            return " " + " ".join(cell for row in rows for cell in row if cell) + " "
        if not rows:
            return ""
        width = max(len(row) for row in rows)
        lines = [_pipe_row(row + [""] * (width - len(row))) for row in rows]
        lines.insert(1, _pipe_row(["---"] * width))
        caption = table.find("caption", recursive=False)
        title = self.process_tag(caption, parent_tags).strip() if caption else ""
        return "\n\n" + (title + "\n\n" if title else "") + "\n".join(lines) + "\n\n"

    def _unboxed(self, trs: list[Tag], parent_tags) -> str:
        """A layout table's cells, one after the other, as the blocks they are."""
        parts = []
        for tr in trs:
            for cell in tr.find_all(["td", "th"], recursive=False):
                cell.name = "div"
                parts.append(self.process_tag(cell, parent_tags).strip("\n"))
        return "\n\n" + "\n\n".join(part for part in parts if part) + "\n\n"

    def _row(self, tr: Tag, parent_tags) -> list[str]:
        cells: list[str] = []
        for cell in tr.find_all(["td", "th"], recursive=False):
            cells.append(self.process_tag(cell, {*parent_tags, "table", "tr"}))
            span = str(cell.get("colspan") or "1")
            cells.extend([""] * (min(int(span), 100) - 1 if span.isdigit() and int(span) > 1 else 0))
        return cells

    def convert_td(self, el, text, parent_tags):
        return " ".join(text.split()).replace("|", "\\|")

    convert_th = convert_td

    def convert_a(self, el, text, parent_tags):
        if "_noformat" in parent_tags:
            return text
        prefix, suffix, text = chomp(text)
        href = el.get("href")
        if not text or not isinstance(href, str) or not href.strip():
            return prefix + text + suffix
        if href.strip().lower().startswith(_UNSAFE_SCHEME):
            return prefix + text + suffix
        title = el.get("title")
        if text.replace("\\", "") == href and _AUTOLINK_SCHEME.match(href) and not title:
            return f"{prefix}<{href}>{suffix}"
        return f"{prefix}[{text}]({_link_destination(href)}{_title_part(title)}){suffix}"

    def convert_img(self, el, text, parent_tags):
        alt = self.escape(" ".join(str(el.get("alt") or "").split()), {"a"})
        src = str(el.get("src") or "").strip()
        in_heading = "_inline" in parent_tags and not {"td", "th"} & parent_tags
        if not self.keep_images or not src or src.lower().startswith("data:") or in_heading:
            return alt
        return f"![{alt}]({_link_destination(src)}{_title_part(el.get('title'))})"

    def convert_hN(self, n, el, text, parent_tags):
        if "_inline" in parent_tags:
            return text
        text = " ".join(text.split())
        if not text:
            return ""
        if text.endswith("#"):
            text = text[:-1] + "\\#"  # a trailing `#` run would be read as a closing sequence
        return f"\n\n{'#' * max(1, min(6, n))} {text}\n\n"

    def convert_br(self, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " "
        nxt = el.next_sibling
        while isinstance(nxt, NavigableString) and not nxt.strip():
            nxt = nxt.next_sibling
        if nxt is None or (isinstance(nxt, Tag) and nxt.name != "br" and nxt.name in _BLOCKS):
            return ""  # a break that ends a block would render as a literal backslash
        return "\\\n"

    def convert_li(self, el, text, parent_tags):
        parent = el.parent
        if parent is None or parent.name != "ol":
            return super().convert_li(el, text, parent_tags)
        start = str(parent.get("start") or "1")
        number = self._ol_next.get(id(parent), int(start) if start.isdigit() else 1)
        self._ol_next[id(parent)] = number + 1
        text = (text or "").strip()
        if not text:
            return "\n"
        bullet = f"{number}. "
        return bullet + _CONTENT_LINE.sub(" " * len(bullet), text) + "\n"

    def convert_dt(self, el, text, parent_tags):
        return self.convert_p(el, text, parent_tags)

    def convert_dd(self, el, text, parent_tags):
        return self.convert_div(el, text, parent_tags)


def _keeps_text(el: NavigableString, strip_inside: bool) -> bool:
    """markdownify's rule for which text to walk: none of comments, CDATA or edge whitespace."""
    if isinstance(el, PreformattedString):
        return False
    if el.strip():
        return True
    if strip_inside and (el.previous_sibling is None or el.next_sibling is None):
        return False
    return not (should_remove_whitespace_outside(el.previous_sibling)
                or should_remove_whitespace_outside(el.next_sibling))


def _join_blocks(strings: list[str]) -> str:
    """Concatenate children, collapsing the newlines where two blocks meet to at most two."""
    parts = [""]
    for string in strings:
        leading, content, trailing = re_extract_newlines.match(string).groups()
        if parts[-1] and leading:
            leading = "\n" * min(2, max(len(parts.pop()), len(leading)))
        parts += (leading, content, trailing)
    return "".join(parts)


def _is_chrome(node: Tag) -> bool:
    name = node.name
    if name in _DROP_TAGS or node.get("role") in _DROP_ROLES:
        return True
    if name in _PAGE_CHROME:  # the page's, not an article's own header or sidebar
        return node.find_parent(_is_sectioning) is None
    classes = _DROP_CLASSES.get(name)
    return bool(classes and classes.intersection(str(node.get("class") or "").split()))


def _is_sectioning(tag: Tag) -> bool:
    return tag.name in _SECTIONING or tag.get("role") == "main"


def _at_line_start(node: NavigableString | Tag) -> bool:
    """Whether text may open a Markdown line: first thing in its block, or after a break."""
    while (prev := node.previous_sibling) is None:
        node = node.parent
        if node is None or node.name in _BLOCKS or node.name == "[document]":
            return True
    return isinstance(prev, Tag) and prev.name in _BLOCKS


def _escape_line_start(match: re.Match[str]) -> str:
    space, marker = match.groups()
    if marker[0].isdigit():  # `1.` stays a number; only its delimiter is escaped
        return match.group(0) + "\\"
    return space + "\\" + marker


def _code_language(pre: Tag) -> str:
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


def _pre_text(pre: Tag) -> str:
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


def _table_rows(table: Tag) -> list[Tag]:
    """Rows of this table only (not of tables nested in its cells), thead first."""
    rows: list[Tag] = []
    head: list[Tag] = []
    for child in table.find_all(["thead", "tbody", "tfoot", "tr"], recursive=False):
        group = [child] if child.name == "tr" else child.find_all("tr", recursive=False)
        (head if child.name == "thead" else rows).extend(group)
    return head + rows


def _is_layout_table(table: Tag, trs: list[Tag]) -> bool:
    """One cell, or header-less cells holding lists, headings or code: layout, not data."""
    cells = [cell for tr in trs for cell in tr.find_all(["td", "th"], recursive=False)]
    if len(cells) == 1:
        return True
    if any(cell.name == "th" for cell in cells) or table.find("thead", recursive=False):
        return False
    return any(cell.find(_LAYOUT_BLOCKS) for cell in cells)


def _pipe_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _link_destination(href: str) -> str:
    href = href.strip().replace("\n", "")
    if _URL_NEEDS_BRACKETS.search(href):
        return "<" + href.replace("<", "%3C").replace(">", "%3E") + ">"
    return href


def _title_part(title: object) -> str:
    if not isinstance(title, str) or not title.strip():
        return ""
    return ' "%s"' % " ".join(title.split()).replace("\\", "\\\\").replace('"', '\\"')
