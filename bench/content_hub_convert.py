"""Throughput of `html_to_markdown` alone on real documentation pages.

This is the ceiling the service's end-to-end content-hub throughput is compared with, so it
measures nothing but the conversion: files are read before the clock starts.

    python bench/content_hub_convert.py [--limit N] [--repeat R] [--json PATH]

The corpus is Debian's Python 3.11 HTML documentation (about 530 pages, 50 MB):
    apt-get update && apt-get install -y python3.11-doc
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.html_markdown import html_to_markdown  # noqa: E402

CORPUS_DIR = Path("/usr/share/doc/python3.11/html")
INSTALL_HINT = (
    f"The benchmark corpus is not installed ({CORPUS_DIR} is missing). Install it with:\n"
    "    apt-get update && apt-get install -y python3.11-doc"
)


class CorpusMissing(RuntimeError):
    """The documentation package is not installed on this machine."""


def load_corpus(limit: int | None = None, root: Path = CORPUS_DIR) -> list[tuple[str, str]]:
    """(relative name, HTML) of every page, in a stable order so runs compare like for like."""
    if not root.is_dir():
        raise CorpusMissing(INSTALL_HINT)
    paths = sorted(p for p in root.rglob("*.html") if not p.relative_to(root).parts[0].startswith("_"))
    if not paths:
        raise CorpusMissing(INSTALL_HINT)
    if limit is not None:
        paths = paths[:limit]
    return [(str(p.relative_to(root)), p.read_text(encoding="utf-8", errors="replace")) for p in paths]


def measure(corpus: list[tuple[str, str]], repeat: int = 1) -> dict:
    """Best of `repeat` passes over the corpus, with per-page times from the best pass.

    CPU seconds are reported beside wall seconds: on a shared machine the wall clock also
    counts time spent waiting for a core, the CPU clock only the conversion itself.
    """
    html_to_markdown(corpus[0][1])  # warm the regex and converter caches
    best: list[float] | None = None
    best_cpu = 0.0
    for _ in range(repeat):
        times, cpu = _one_pass(corpus)
        if best is None or sum(times) < sum(best):
            best, best_cpu = times, cpu
    assert best is not None
    total = sum(best)
    megabytes = sum(len(html.encode("utf-8")) for _name, html in corpus) / 1_000_000
    ranked = sorted(zip(best, (name for name, _html in corpus)), reverse=True)
    return {
        "documents": len(corpus),
        "megabytes": round(megabytes, 2),
        "seconds": round(total, 3),
        "documents_per_second": round(len(corpus) / total, 2),
        "megabytes_per_second": round(megabytes / total, 3),
        "cpu_seconds": round(best_cpu, 3),
        "documents_per_cpu_second": round(len(corpus) / best_cpu, 2),
        "megabytes_per_cpu_second": round(megabytes / best_cpu, 3),
        "median_ms": round(statistics.median(best) * 1000, 2),
        "p95_ms": round(sorted(best)[int(0.95 * (len(best) - 1))] * 1000, 2),
        "slowest": [{"name": name, "ms": round(t * 1000, 1)} for t, name in ranked[:5]],
    }


def _one_pass(corpus: list[tuple[str, str]]) -> tuple[list[float], float]:
    """Wall seconds per page, and CPU seconds for the whole pass."""
    times = []
    cpu_started = time.process_time()
    for _name, html in corpus:
        started = time.perf_counter()
        html_to_markdown(html)
        times.append(time.perf_counter() - started)
    return times, time.process_time() - cpu_started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument("--repeat", type=int, default=1, help="passes; the fastest is reported")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args(argv)
    try:
        corpus = load_corpus(args.limit)
    except CorpusMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    result = measure(corpus, args.repeat)
    print(
        f"html_to_markdown: {result['documents']} documents, {result['megabytes']} MB in "
        f"{result['seconds']} s -> {result['documents_per_second']} docs/s, "
        f"{result['megabytes_per_second']} MB/s (median {result['median_ms']} ms, p95 {result['p95_ms']} ms)"
    )
    print(
        f"  per CPU second: {result['documents_per_cpu_second']} docs/s, "
        f"{result['megabytes_per_cpu_second']} MB/s ({result['cpu_seconds']} CPU s)"
    )
    for slow in result["slowest"]:
        print(f"  slowest: {slow['name']} {slow['ms']} ms")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
