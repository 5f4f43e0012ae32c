"""How the API process holds memory while it takes 30 MB submissions.

Two costs showed in a profile of the API during a 100,000-record load (`perf`, 2 cores):

- **The kernel handing out fresh pages: a fifth of the API's CPU.** glibc's malloc serves
  large blocks with new `mmap`s and gives memory freed at the top of its heap back to
  the kernel, so every submission (its body, its batches and their compressed copies)
  touched about 100 MB of new pages, each one faulted in and zeroed: 1.1-1.8 s of system
  time per load. Keeping freed memory for the next request (blocks of up to 32 MB from
  the heap, no trimming below 256 MB, 64 MB of padding when the heap grows) brought it to
  0.4-0.5 s; the API's peak RSS on one 30 MB submission went from 247 to 260 MB. The
  price: memory a burst of concurrent submissions took stays with the process for the
  next one (after four 30 MB uploads at once, 490 MB against glibc's own 350; the peak
  itself was 515 against 537). An operator's own `MALLOC_*` or `glibc.malloc` tunables
  win, and on other C libraries than glibc nothing changes.
- **The cyclic garbage collector re-reading the startup heap: 9% of the API's CPU.** The
  framework, SQLAlchemy and the app leave ~130,000 long-lived objects, and every full
  collection (which the parsed records of each submission bring about) walked all of
  them. Frozen after startup (`gc.freeze`), they are no longer walked: about 1%.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os

log = logging.getLogger(__name__)

MB = 1024 * 1024
# mallopt(3) parameters, from glibc's malloc.h.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
ALLOCATOR_SETTINGS = {M_MMAP_THRESHOLD: 32 * MB, M_TRIM_THRESHOLD: 256 * MB, M_TOP_PAD: 64 * MB}
OPERATOR_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def keep_freed_memory() -> bool:
    """Set ALLOCATOR_SETTINGS for this process; False where they were not applied."""
    if any(name in os.environ for name in OPERATOR_SETTINGS) or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (macOS has no mallopt)
        return False
    # 1 when applied; 0 where a value is refused (32-bit glibc caps the mmap threshold at
    # 512 KB) or where mallopt does nothing (musl). Each is tried on its own.
    refused = [param for param, value in ALLOCATOR_SETTINGS.items() if mallopt(param, value) != 1]
    if refused:
        log.info("malloc settings %s not applied by this C library", refused)
    return not refused


def freeze_startup_heap() -> None:
    """Keep every object tracked now out of later collections. Garbage of the imports that
    no collection has found yet stays with them; a collection first would cost each start
    60 ms (each test's app too) to free a little memory once."""
    gc.freeze()


def thaw() -> None:
    """On shutdown: objects frozen at startup become collectable again (an app stopped
    within a longer-lived process, as in the tests, must not leave them pinned)."""
    gc.unfreeze()
