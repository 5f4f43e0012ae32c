"""The machine's RabbitMQ, for tests: a throwaway virtual host per test.

A vhost isolates queues the way a Redis namespace does, so parallel test runs (or other
engineers' runs on a shared server) never consume each other's messages; deleting it
removes every queue and message the test left. Creating one needs `rabbitmqctl` on the
machine that runs RabbitMQ.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pika

RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "--quiet", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def vhost() -> Iterator[str]:
    """Yield an amqp:// URL on a fresh vhost, reachable by the URL's user; delete it after."""
    pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL)).close()
    name = f"kbi-test-{uuid.uuid4().hex[:10]}"
    user = urlsplit(RABBITMQ_URL).username or "guest"
    _ctl("add_vhost", name)
    try:
        _ctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
        yield urlsplit(RABBITMQ_URL)._replace(path=f"/{name}").geturl()
    finally:
        _ctl("delete_vhost", name)
