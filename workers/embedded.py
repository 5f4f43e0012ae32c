"""The embedded default: a Dramatiq worker on threads inside the API process."""

from __future__ import annotations

import dramatiq

from app.runtime import Runtime
from workers.actors import declare_actors


class EmbeddedWorker:
    # How long each of its threads waits for a message before looking again: a message is
    # taken at once either way, but stopping waits out up to two of these (worker threads,
    # then consumers). 100 ms keeps an idle service under 1% of a core.
    poll_ms = 100

    def __init__(self, runtime: Runtime) -> None:
        declare_actors(runtime)
        self._worker = dramatiq.Worker(
            runtime.broker, worker_threads=runtime.settings.embedded_worker_threads, worker_timeout=self.poll_ms
        )

    def start(self) -> None:
        self._worker.start()

    def pause(self) -> None:
        self._worker.pause()

    def resume(self) -> None:
        self._worker.resume()

    def stop(self) -> None:
        self._worker.stop(timeout=10_000)
