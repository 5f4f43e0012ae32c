"""A TCP proxy in front of the live server that can lose the answer to a request.

It forwards the request, lets the server do the work, and when the server's answer
arrives it closes the client's connection instead of passing the answer on: what a
client sees when a load balancer or a flaky network drops a connection at the worst time.
"""

from __future__ import annotations

import re
import socket
import threading
from contextlib import suppress

KEY_HEADER = re.compile(rb"(?im)^idempotency-key:[ \t]*(\S+)")
STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3}) ")
RETRY_AFTER = re.compile(rb"(?im)^retry-after:[ \t]*(\d+)")
REQUEST_LINE = re.compile(rb"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /\S* HTTP/1\.[01]\r\n")


class DroppingProxy:
    def __init__(self, upstream_port: int, *, target: bytes = b"\x00") -> None:
        """`target` starts the request lines whose answers may be dropped, e.g. b"POST /api/v2/knowledge-bases".

        `upstream` may be pointed at another server meanwhile: a stable address across restarts.
        """
        self.upstream = ("127.0.0.1", upstream_port)
        self.target = target
        self.drops_left = 0
        self.requests_seen: list[bytes] = []
        self.answers_seen: list[tuple[int, float | None]] = []
        self.targets_seen: list[bytes] = []
        self.keys_seen: list[str] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def drop_next_answers(self, count: int = 1) -> None:
        self.drops_left = count

    def close(self) -> None:
        with suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            dropping = threading.Event()
            threading.Thread(target=self._requests, args=(client, upstream, dropping), daemon=True).start()
            threading.Thread(target=self._answers, args=(upstream, client, dropping), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket, dropping: threading.Event) -> None:
        with suppress(OSError):
            while data := client.recv(65536):
                if REQUEST_LINE.match(data):
                    self.requests_seen.append(data.split(b"\r\n", 1)[0])
                if data.startswith(self.target):
                    self._seen(data, dropping)
                upstream.sendall(data)
        _close(upstream)

    def _seen(self, head: bytes, dropping: threading.Event) -> None:
        with self._lock:
            self.targets_seen.append(head.split(b"\r\n", 1)[0])
            key = KEY_HEADER.search(head)
            if key:
                self.keys_seen.append(key.group(1).decode())
            if self.drops_left > 0:
                self.drops_left -= 1
                dropping.set()

    def _answers(self, upstream: socket.socket, client: socket.socket, dropping: threading.Event) -> None:
        with suppress(OSError):
            while data := upstream.recv(65536):
                if dropping.is_set():
                    break
                if status := STATUS_LINE.match(data):
                    retry_after = RETRY_AFTER.search(data)
                    self.answers_seen.append((int(status.group(1)), float(retry_after.group(1)) if retry_after else None))
                client.sendall(data)
        _close(client)
        _close(upstream)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()
