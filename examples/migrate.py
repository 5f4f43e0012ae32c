"""Migrate a folder of Markdown files into a knowledge base with the kb-ingest Python client.

    export KBI_URL=https://kb.example.com KBI_CLIENT_ID=3f0c9a52-6d1e-4b7a-9c2e-8a41d5f07b13 KBI_CLIENT_SECRET=...
    python examples/migrate.py ./docs --knowledge-base "Product docs"

Every file becomes one record whose id is its path under the folder, so running the
script again after an edit updates changed articles and skips unchanged ones. Each record
that fails is listed in `failed.jsonl` with its id (the file's path) and the reason; fix
those files and run the script again. Exit status: 0 all landed, 1 some records failed,
3 a job failed or was cancelled.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kb_client import Client, Job, errors


def articles(folder: Path) -> Iterator[dict[str, Any]]:
    """Read lazily: a 50,000-file migration holds one batch in memory, not the whole folder."""
    for path in sorted(folder.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        heading = next((line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")), None)
        yield {
            "id": path.relative_to(folder).as_posix(),
            "title": heading or path.stem.replace("-", " ").title(),
            "content": text,
            "contentType": "markdown",
            "metadata": {"source": "docs-folder"},
        }


def show(job: Job) -> None:
    print(f"  {job.id}: {job.status} {job.progress}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--knowledge-base", required=True, help="name; created if it does not exist")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--failed-out", type=Path, default=Path("failed.jsonl"))
    args = parser.parse_args()

    with Client.from_env() as kb:
        target = kb.ensure_knowledge_base(args.knowledge_base)
        print(f"Importing {args.folder} into {target.name} ({target.id})", file=sys.stderr)
        job_ids = kb.submit_records(
            target.id,
            articles(args.folder),
            batch_size=args.batch_size,
            on_submitted=lambda accepted, batch: print(accepted.job_id, flush=True),
        )
        try:
            jobs = kb.wait_all(job_ids, on_progress=show)
        except errors.JobNotCompleted as stopped:
            print(f"Migration stopped: {stopped}", file=sys.stderr)
            return 3

        failed = 0
        with args.failed_out.open("w", encoding="utf-8") as out:
            for job in jobs:
                for result in kb.iter_results(job.id, status="failed"):
                    out.write(json.dumps(result) + "\n")
                    failed += 1
        created = sum(j.summary.get("entriesCreated", 0) for j in jobs)
        updated = sum(j.summary.get("entriesUpdated", 0) for j in jobs)
        skipped = sum(j.progress.skipped for j in jobs)
        print(f"Done: {created} created, {updated} updated, {skipped} unchanged, {failed} failed"
              + (f" (see {args.failed_out})" if failed else ""), file=sys.stderr)
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
