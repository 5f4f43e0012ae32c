"""The embedded default: a Dramatiq worker on threads inside the API process."""

from __future__ import annotations

import dramatiq

from app.runtime import Runtime
from workers.actors import declare_actors


class EmbeddedWorker:
    def __init__(self, runtime: Runtime) -> None:
        declare_actors(runtime)
        self._worker = dramatiq.Worker(
            runtime.broker, worker_threads=runtime.settings.embedded_worker_threads, worker_timeout=100
        )

    def start(self) -> None:
        self._worker.start()

    def pause(self) -> None:
        self._worker.pause()

    def resume(self) -> None:
        self._worker.resume()

    def stop(self) -> None:
        self._worker.stop(timeout=10_000)
