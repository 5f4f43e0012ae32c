"""examples/migrate.py, run as a user would, against a live service."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kb_client import Client

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "migrate.py"


def migrate(live_server, folder: Path, cwd: Path) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {**live_server.env, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, str(SCRIPT), str(folder), "--knowledge-base", "Product docs", "--batch-size", "4"],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_example_migrates_a_folder_and_a_second_run_changes_only_what_changed(live_server, client: Client, tmp_path) -> None:
    docs = tmp_path / "docs"
    (docs / "guides").mkdir(parents=True)
    for n in range(9):
        (docs / "guides" / f"guide-{n}.md").write_text(f"# Guide {n}\n\nHow to do thing {n}.\n")
    (docs / "empty.md").write_text("   \n")

    first = migrate(live_server, docs, tmp_path)
    assert first.returncode == 1, first.stderr
    assert len(first.stdout.split()) == 3
    assert "Done: 9 created, 0 updated, 0 unchanged, 1 failed" in first.stderr
    (failure,) = [json.loads(line) for line in (tmp_path / "failed.jsonl").read_text().splitlines()]
    assert failure["sourceId"] == "empty.md" and "content" in failure["error"]

    (docs / "empty.md").write_text("# Empty no more\n")
    (docs / "guides" / "guide-0.md").write_text("# Guide 0\n\nRevised.\n")
    second = migrate(live_server, docs, tmp_path)
    assert second.returncode == 0, second.stderr
    assert "Done: 1 created, 1 updated, 8 unchanged, 0 failed" in second.stderr
    (kb,) = client.iter_knowledge_bases()
    assert kb.name == "Product docs" and kb.entry_count == 10
