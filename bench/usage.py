"""Resource use of the service's processes, from Linux's /proc: peak RSS and CPU seconds."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psycopg

TICKS = os.sysconf("SC_CLK_TCK")


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
        peaks += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")]
    return max(peaks)


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def backends(admin_url: str, database: str) -> list[int]:
    """PostgreSQL server processes connected to `database` (the service's pools)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return [pid for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))]


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICKS


@dataclass
class CpuMeter:
    """CPU seconds spent by the API, the workers and PostgreSQL between start() and stop(),
    and by everything else on the machine (this benchmark's client included), which says
    how much of the machine the service really had."""

    groups: dict[str, list[int]]

    def start(self) -> None:
        self.before = {pid: cpu_seconds(pid) for pids in self.groups.values() for pid in pids}
        self.machine_before = machine_busy_seconds()

    def stop(self, groups: dict[str, list[int]]) -> dict[str, float]:
        used = {name: sum(cpu_seconds(pid) - self.before.get(pid, 0.0) for pid in pids) for name, pids in groups.items()}
        used["other processes"] = max(0.0, machine_busy_seconds() - self.machine_before - sum(used.values()))
        return used
