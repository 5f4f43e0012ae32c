"""A poison batch, one that kills its worker process every time, fails its job after a
bounded number of attempts instead of crashing workers for ever.

The crash is real: a plug-in adapter, installed the way any third-party adapter is (an
entry point in the `kb_ingest.adapters` group, here a distribution's metadata on
PYTHONPATH), SIGKILLs its own process when it meets a record marked `crash`. Nothing in
the product knows about it. The test plays the process supervisor: it restarts
`kb-ingest-worker` whenever it dies, as systemd or Docker would.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app.services.batches import out_of_attempts
from tests.reliability import ledger

pytestmark = pytest.mark.slow

ADAPTER = '''
"""Test plug-in: a generic-json adapter that kills its process on records marked `crash`."""
import os
import signal

from adapters.generic_json import GenericJsonAdapter


class CrashOnDemand(GenericJsonAdapter):
    name = "crash-on-demand"

    def normalize(self, item, options):
        if isinstance(item, dict) and item.get("crash"):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().normalize(item, options)
'''


def install_plugin(site: Path) -> dict[str, str]:
    """A distribution with one entry point, visible to any Python started with this PYTHONPATH."""
    dist = site / "kb_ingest_crash_test-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kb-ingest-crash-test\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[kb_ingest.adapters]\ncrash-on-demand = kb_ingest_crash_test:CrashOnDemand\n"
    )
    (site / "kb_ingest_crash_test.py").write_text(ADAPTER)
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


def test_a_batch_that_kills_its_worker_every_time_fails_its_job_after_its_attempts(make_cluster, tmp_path):
    plugin = install_plugin(tmp_path / "site")
    cluster = make_cluster(batch_size=5, api_env=plugin)
    kb = cluster.service.create_kb()
    data = ledger.records(15, size=500)
    data[7]["crash"] = True  # in batch 1
    budget = {"max_batch_attempts": 3, "redis_heartbeat_timeout_ms": 1500, **plugin}
    worker = cluster.start_worker(threads=1, **budget)  # one thread: nothing else in flight when it dies

    job_id = cluster.service.submit(kb, {"records": data}, adapter="crash-on-demand")
    deaths = 0
    deadline = time.monotonic() + 150
    while ledger.progress(cluster.engine, job_id)[0] in ("pending", "processing"):
        assert time.monotonic() < deadline, f"job still running after {deaths} worker deaths"
        if not worker.running:
            deaths += 1
            worker = cluster.start_worker(threads=1, **budget)
        time.sleep(0.1)

    job = ledger.assert_counted_once(cluster.engine, job_id)
    assert job.status == "failed"
    assert (
        job.error
        == out_of_attempts(1, 3)
        == (
            "batch 1 crashed its worker: started 3 times, it never finished "
            "(the worker process died while applying it: out of memory or a crash)"
        )
    )
    assert ledger.attempts(cluster.engine, job_id)[1] == 3
    assert deaths == 3
    assert worker.running, "the worker that refused the batch lives on"
