"""Titles for records that arrive without one."""

import re

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
MAX_TITLE_LENGTH = 300


def derive_title(content: str) -> str:
    """First Markdown heading, else the first non-blank line, trimmed to a sane length."""
    match = _HEADING.search(content)
    if match:
        title = match.group(1)
    else:
        title = next((line for line in content.splitlines() if line.strip()), "")
    title = " ".join(title.split())
    if len(title) > MAX_TITLE_LENGTH:
        title = title[: MAX_TITLE_LENGTH - 1].rstrip() + "…"
    return title
