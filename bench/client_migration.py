"""How fast the Python client turns records into jobs, and a 50,000-article migration end to end.

    .venv/bin/python bench/client_migration.py [--records 50000] [--batch-size 5000]

1. Batching alone (no network): records encoded and cut into bodies per second.
2. Against a live embedded service on a local port (SQLite, in-process worker): time to
   submit every batch, time until every job completed, and how many status polls the
   wait needed (the backoff's economy).
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from kb_client import Client  # noqa: E402
from kb_client.batching import BodyTemplate, batches, records_envelope  # noqa: E402


def articles(count: int):  # type: ignore[no-untyped-def]
    body = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 16
    for i in range(count):
        yield {"id": f"article-{i}", "title": f"Article {i}", "content": f"# Article {i}\n\n{body}",
               "metadata": {"author": "bench", "n": i}, "tags": ["bench"]}


def bench_batching(count: int, batch_size: int) -> None:
    template = BodyTemplate.for_job(adapter="generic-json", knowledge_base_id="0" * 36, envelope=records_envelope)
    started = time.perf_counter()
    planned = list(batches(articles(count), template=template, max_records=batch_size, max_bytes=30 * 1024 * 1024))
    elapsed = time.perf_counter() - started
    size = sum(len(b.body) for b in planned)
    print(f"batching: {count} records -> {len(planned)} bodies, {size / 1e6:.1f} MB in {elapsed:.2f} s "
          f"({count / elapsed:,.0f} records/s, {size / 1e6 / elapsed:.0f} MB/s)")


def bench_migration(count: int, batch_size: int) -> None:
    with tempfile.TemporaryDirectory() as data:
        app = create_app(Settings(data_dir=Path(data), log_json=False, log_level="WARNING"))
        sock = socket.create_server(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            with Client(f"http://127.0.0.1:{sock.getsockname()[1]}") as client:
                kb = client.create_knowledge_base("bench")
                started = time.perf_counter()
                ids = client.submit_records(kb.id, articles(count), batch_size=batch_size)
                submitted = time.perf_counter() - started
                polls: list[str] = []
                client.wait_all(ids, on_progress=lambda job: polls.append(job.id))
                finished = time.perf_counter() - started
            print(f"migration: {count} records in {len(ids)} jobs; submitted in {submitted:.1f} s, "
                  f"all completed after {finished:.1f} s ({count / finished:,.0f} records/s end to end); "
                  f"{len(polls)} status polls")
        finally:
            server.should_exit = True
            thread.join(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=5_000)
    args = parser.parse_args()
    bench_batching(args.records, args.batch_size)
    bench_migration(args.records, args.batch_size)


if __name__ == "__main__":
    main()
