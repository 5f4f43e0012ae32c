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
    should_remove_whitespace_inside,
    should_remove_whitespace_outside,
)

from adapters._markdown_blocks import (
    code_language,
    is_layout_table,
    join_blocks,
    pipe_row,
    pre_text,
    table_rows,
)
from adapters._markdown_inline import (
    BLOCKS,
    at_line_start,
    code_span,
    emphasis,
    escape_line_start,
    escape_text,
    link_destination,
    title_part,
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
_INLINE_CONTEXT = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "td", "th"})
_NO_FORMAT = frozenset({"code", "kbd", "samp"})

_CONTENT_LINE = re.compile(r"(?<=\n)(?=.)")
_BACKTICKS = re.compile(r"`+")
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
        child_tags = {*parent_tags, name}
        if name in _INLINE_CONTEXT:
            child_tags.add("_inline")
        if name in _NO_FORMAT:
            child_tags.add("_noformat")
        text = join_blocks(self._children(node, child_tags))
        convert = self.get_conv_fn_cached(name)
        return convert(node, text, parent_tags=parent_tags) if convert else text

    def _children(self, node: Tag, child_tags: set[str]) -> list[str]:
        strip_inside = should_remove_whitespace_inside(node)
        strings: list[str] = []
        for child in node.children:
            if isinstance(child, Tag):
                text = self.process_tag(child, child_tags)
                if child.name == "a" and text.startswith("[") and strings:
                    strings[-1] = _unbang(strings[-1])
            elif _keeps_text(child, strip_inside):
                text = self.process_text(child, child_tags)
            else:
                continue
            if text:
                strings.append(text)
        return strings

    def process_text(self, el, parent_tags=None):
        if at_line_start(el):
            parent_tags = {*(parent_tags or ()), "_line_start"}
        return super().process_text(el, parent_tags)

    def escape(self, text, parent_tags):
        return escape_text(text, in_link="a" in parent_tags, at_line_start="_line_start" in parent_tags)

    def _fenced_code(self, pre: Tag, parent_tags) -> str:
        code = pre_text(pre)
        if not code.strip():
            return ""
        longest = max((len(run) for run in _BACKTICKS.findall(code)), default=0)
        if "_inline" in parent_tags:  # a code block in a table cell or heading
            ticks = "`" * (longest + 1)
            return f" {ticks} {' '.join(code.split())} {ticks} "
        fence = "`" * max(3, longest + 1)
        return f"\n\n{fence}{code_language(pre)}\n{code}\n{fence}\n\n"

    def _table(self, table: Tag, parent_tags) -> str:
        trs = table_rows(table)
        if is_layout_table(table, trs):
            return self._unboxed(trs, parent_tags)
        rows = [row for row in (self._row(tr, parent_tags) for tr in trs) if row]
        if "_inline" in parent_tags:  # a table nested in a cell: its text, flattened
            return " " + " ".join(cell for row in rows for cell in row if cell) + " "
        if not rows:
            return ""
        width = max(len(row) for row in rows)
        lines = [pipe_row(row + [""] * (width - len(row))) for row in rows]
        lines.insert(1, pipe_row(["---"] * width))
        caption = table.find("caption", recursive=False)
        title = self.process_tag(caption, parent_tags).strip() if caption else ""
        return "\n\n" + (title + "\n\n" if title else "") + "\n".join(lines) + "\n\n"

    def _unboxed(self, trs: list[Tag], parent_tags) -> str:
        """A layout table's cells, one after the other, as the blocks they are."""
        parts = []
        for tr in trs:
            for cell in tr.find_all(["td", "th"], recursive=False):
                cell.name = "div"
                parts.append("\n\n" + self.process_tag(cell, parent_tags).strip("\n") + "\n\n")
        return join_blocks(parts)

    def _row(self, tr: Tag, parent_tags) -> list[str]:
        cells: list[str] = []
        for cell in tr.find_all(["td", "th"], recursive=False):
            cells.append(self.process_tag(cell, {*parent_tags, "table", "tr"}))
            span = str(cell.get("colspan") or "1")
            cells.extend([""] * (min(int(span), 100) - 1 if span.isdigit() and int(span) > 1 else 0))
        return cells

    def _emphasis(self, el, text, parent_tags, marker: str) -> str:
        return text if "_noformat" in parent_tags else emphasis(el, text, marker)

    def convert_code(self, el, text, parent_tags):
        return text if "_noformat" in parent_tags else code_span(el, text)

    convert_kbd = convert_code
    convert_samp = convert_code

    def convert_em(self, el, text, parent_tags):
        return self._emphasis(el, text, parent_tags, "*")

    def convert_strong(self, el, text, parent_tags):
        return self._emphasis(el, text, parent_tags, "**")

    def convert_del(self, el, text, parent_tags):
        return self._emphasis(el, text, parent_tags, "~~")

    convert_i = convert_em
    convert_b = convert_strong
    convert_s = convert_del

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
        autolink = _AUTOLINK_SCHEME.match(href) and link_destination(href) == href
        if autolink and not title and text.replace("\\", "") == href:
            return f"{prefix}<{href}>{suffix}"
        return f"{prefix}[{text}]({link_destination(href)}{title_part(title)}){suffix}"

    def convert_img(self, el, text, parent_tags):
        alt = self.escape(" ".join(str(el.get("alt") or "").split()), {"a"})
        src = str(el.get("src") or "").strip()
        in_heading = "_inline" in parent_tags and not {"td", "th"} & parent_tags
        if not self.keep_images or not src or src.lower().startswith("data:") or in_heading:
            return alt
        return f"![{alt}]({link_destination(src)}{title_part(el.get('title'))})"

    def convert_hN(self, n, el, text, parent_tags):
        if "_inline" in parent_tags:
            return text
        text = " ".join(text.split())
        if not text:
            return ""
        # A trailing `#` run would be read as a closing sequence: escaped, unless it already
        # is (an odd number of backslashes before it; escaped twice, it showed as `\#`).
        body = text[:-1]
        if text.endswith("#") and (len(body) - len(body.rstrip("\\"))) % 2 == 0:
            text = body + "\\#"
        return f"\n\n{'#' * max(1, min(6, n))} {text}\n\n"

    def convert_br(self, el, text, parent_tags):
        if "_inline" in parent_tags:
            return " "
        nxt = el.next_sibling
        while isinstance(nxt, NavigableString) and not nxt.strip():
            nxt = nxt.next_sibling
        if nxt is None or (isinstance(nxt, Tag) and nxt.name != "br" and nxt.name in BLOCKS):
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

    def convert_p(self, el, text, parent_tags):
        """A paragraph never opens with a block marker, even one split across elements."""
        if "_inline" not in parent_tags:
            text = escape_line_start(text.lstrip())
        return super().convert_p(el, text, parent_tags)

    convert_dt = convert_p

    def convert_dd(self, el, text, parent_tags):
        return self.convert_div(el, text, parent_tags)


def _unbang(text: str) -> str:
    """Escape a `!` that ends the text before a link, which would make the link an image."""
    if text.endswith("!") and not text.endswith("\\!"):
        return text[:-1] + "\\!"
    return text


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
