"""`kbi`, the command line of kb-ingest: submit, watch, list, export results, cancel."""

from __future__ import annotations

from kb_client.cli import jobs, knowledge_bases, results  # noqa: F401  (commands register on import)
from kb_client.cli.app import kbi


def main(argv: list[str] | None = None) -> None:
    kbi.main(args=argv, prog_name="kbi")
