"""Titles for records that arrive without one."""

import re
from collections.abc import Iterator

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
# A fenced code block's opening or closing line, also inside a block quote.
FENCE = re.compile(r"^[ >]*(`{3,}|~{3,})")
MAX_TITLE_LENGTH = 300


def outside_fences(markdown: str) -> Iterator[str]:
    """The lines of `markdown` outside fenced code blocks (fence lines left out too): a
    `# install` comment in a shell snippet is no heading. A block closes on a fence of its
    own character at least as long; one left open runs to the end."""
    fence = ""
    for line in markdown.split("\n"):
        match = FENCE.match(line)
        if fence or match:
            if not fence:
                fence = match.group(1)  # type: ignore[union-attr]
            elif match and match.group(1).startswith(fence):
                fence = ""
            continue
        yield line


def first_code_line(markdown: str) -> str:
    """The title of text that is nothing but code: its first line that is not a fence."""
    return next((line for line in markdown.split("\n") if line.strip() and not FENCE.match(line)), "")


def derive_title(content: str) -> str:
    """First Markdown heading outside fenced code, else the first non-blank line outside
    it (else the code's first line), trimmed to a sane length."""
    # A fence needs three backticks or tildes: most content has none and is searched whole.
    text = "\n".join(outside_fences(content)) if "```" in content or "~~~" in content else content
    match = _HEADING.search(text)
    if match:
        title = match.group(1)
    else:
        title = next((line for line in text.splitlines() if line.strip()), "")
        if not title:
            title = first_code_line(content)
    title = " ".join(title.split())
    if len(title) > MAX_TITLE_LENGTH:
        title = title[: MAX_TITLE_LENGTH - 1].rstrip() + "…"
    return title
