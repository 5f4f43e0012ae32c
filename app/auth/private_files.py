"""Files only the service's user may read (0600), written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: Path, text: str, *, replace: bool) -> bool:
    """Write `text` to `path` with mode 0600; False when the file exists and `replace` is off.

    The text goes to a temporary file in the same folder first, so a reader never sees a
    half-written file and two processes racing to create it agree on one content.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if replace:
            os.replace(temporary, path)
            return True
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        Path(temporary).unlink(missing_ok=True)
