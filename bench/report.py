"""The benchmark's table: each figure beside its target, with PASS or MISS."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    target: str = ""
    passed: bool | None = None

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("PASS" if self.passed else "MISS")


def at_least(label: str, value: float, unit: str, target: float, target_text: str | None = None) -> Figure:
    return Figure(label, f"{value:,.0f} {unit}", target_text or f">= {target:,.0f} {unit}", value >= target)


def below(label: str, value: float, unit: str, target: float) -> Figure:
    return Figure(label, f"{value:,.1f} {unit}", f"< {target:,.0f} {unit}", value < target)


def ratio(label: str, value: float, target: float, suffix: str = "") -> Figure:
    return Figure(label, f"{value:.2f}{suffix}", f">= {target:.2f}{suffix}", value >= target)


def info(label: str, value: str) -> Figure:
    return Figure(label, value)


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    memory = next((int(line.split()[1]) // 1024 // 1024 for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), 0)
    return f"{os.cpu_count()} cores ({cpu}), {memory} GB RAM, {platform.system()} {platform.release()}"


def table(figures: list[Figure]) -> str:
    header = ("Measure", "Value", "Target", "")
    rows = [header, *((f.label, f.value, f.target, f.verdict) for f in figures)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(figures: list[Figure]) -> str:
    lines = ["| Measure | Value | Target | |", "|---|---:|---|---|"]
    lines += [f"| {f.label} | {f.value} | {f.target} | {f.verdict} |" for f in figures]
    return "\n".join(lines)


def stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M %Z")
