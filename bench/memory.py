"""Peak resident memory of processes, from Linux's /proc: VmHWM, reset between phases."""

from __future__ import annotations

from pathlib import Path


def reset_peak(pids: list[int]) -> None:
    """Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0)."""
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            pass


def peak_mb(pids: list[int]) -> float:
    """The largest VmHWM among `pids`, in MB (0 when none can be read)."""
    peaks = [0.0]
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)
