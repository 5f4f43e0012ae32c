"""The API process keeps freed memory for the next submission and leaves its startup heap
out of garbage collection (app/memory.py); checked in fresh interpreters, where the
allocator's state is known."""

from __future__ import annotations

import gc
import json
import os
import platform
import subprocess
import sys

import pytest

_LIBC, _VERSION = platform.libc_ver()
# mallopt is glibc's; mallinfo2, which the probe reads, came with glibc 2.33.
glibc = pytest.mark.skipif(
    _LIBC != "glibc" or tuple(map(int, _VERSION.split("."))) < (2, 33), reason="needs glibc 2.33 or later"
)

# A 4 MB block, the size of a compressed batch: how many bytes of it malloc took with mmap
# (glibc's mallinfo2: `hblkhd`), that is from the kernel afresh and back to it when freed.
PROBE = """
import ctypes, json, sys
from app import memory
applied = memory.keep_freed_memory() if sys.argv[1] == "tuned" else None
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
mallinfo2 = ctypes.CDLL(None).mallinfo2
mallinfo2.restype = MallInfo2
before = mallinfo2().hblkhd
block = bytearray(4 * 1024 * 1024)
mmapped = mallinfo2().hblkhd - before
del block
kept = mallinfo2().fordblks  # free bytes the heap holds on to
print(json.dumps({"applied": applied, "mmapped_mb": mmapped / 1024 / 1024, "kept_free_mb": kept // (1024 * 1024)}))
"""


def _probe(mode: str, **env: str) -> dict[str, float]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"} | env
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True, env=environment)
    return json.loads(out.stdout)


@glibc
def test_large_blocks_come_from_the_heap_that_keeps_them():
    default = _probe("default")
    assert default["mmapped_mb"] >= 4  # glibc's own threshold starts at 128 KB
    assert default["kept_free_mb"] < 4  # and the block went back to the kernel
    tuned = _probe("tuned")
    assert tuned["applied"] is True and tuned["mmapped_mb"] == 0
    assert tuned["kept_free_mb"] >= 64  # the block and the heap's 64 MB of padding, kept


@glibc
@pytest.mark.parametrize("setting", [{"MALLOC_TOP_PAD_": "131072"}, {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"}])
def test_an_operators_own_malloc_settings_win(setting):
    probe = _probe("tuned", **setting)
    assert probe["applied"] is False and probe["mmapped_mb"] == pytest.approx(4, abs=0.1)


def test_the_startup_heap_is_frozen_while_the_app_runs_and_thawed_after(tmp_path):
    from litestar.testing import TestClient

    from app.main import create_app
    from app.settings import Settings
    from tests.conftest import TEST_SETTINGS

    gc.unfreeze()
    app = create_app(Settings(data_dir=tmp_path / "data", log_json=False, **TEST_SETTINGS))
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() > 100_000
    assert gc.get_freeze_count() == 0
