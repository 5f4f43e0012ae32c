"""A live service on a free local port, for the client and the command line to talk to over HTTP.

The app is the real one (`create_app`) in the embedded deployment: SQLite in a temp
dir, a Dramatiq worker in the process; uvicorn serves it from a thread. A test module
changes the server's settings by overriding `server_settings`.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import uvicorn
from click.testing import CliRunner, Result
from litestar import Litestar

from app.db import transaction
from app.main import create_app
from app.runtime import Runtime
from app.services import batches
from app.settings import Settings
from kb_client import Client
from kb_client.cli import kbi


@dataclass
class LiveServer:
    url: str
    app: Litestar
    settings: Settings
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def runtime(self) -> Runtime:
        return self.app.state["runtime"]

    def pause_worker(self) -> None:
        self.app.state["worker"].pause()

    def resume_worker(self) -> None:
        self.app.state["worker"].resume()

    def fail_job(self, job_id: str, reason: str) -> None:
        """Fail a job as the worker does when a job cannot go on (e.g. its adapter was uninstalled)."""
        with transaction(self.runtime.sessions) as session:
            assert batches.fail_job(session, job_id=UUID(job_id), reason=reason)

    @property
    def credentials(self) -> dict[str, str]:
        """The client a fresh embedded install makes for its first user (app/auth/bootstrap.py, issue #4)."""
        if not AUTHENTICATES:
            return {}
        document = json.loads((self.settings.data_dir / CREDENTIALS_FILE).read_text())
        return {"client_id": document["client_id"], "client_secret": document["client_secret"]}

    @property
    def env(self) -> dict[str, str]:
        """What `kbi` and the example script read to reach and authenticate to this server."""
        names = {"client_id": "KBI_CLIENT_ID", "client_secret": "KBI_CLIENT_SECRET"}
        return {"KBI_URL": self.url, **{names[k]: v for k, v in self.credentials.items()}}

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def serve(app: Litestar, sock: socket.socket, *, access_log: bool = False) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=access_log, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    return server, thread


def listening_socket(port: int = 0) -> socket.socket:
    """Bound but not yet listening (uvicorn listens): until then, connecting to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


# Until the auth work (issue #4) is merged the service asks for no token; after, every test
# authenticates with the first client that the embedded service makes on start.
AUTHENTICATES = importlib.util.find_spec("app.auth") is not None
CREDENTIALS_FILE = "bootstrap-credentials.json"
# scrypt at 2**4: the tests' secrets need no protection, and every test fetches a token
SERVER_DEFAULTS: dict[str, Any] = {"log_json": False, "log_level": "WARNING", **({"secret_hash_cost": 4} if AUTHENTICATES else {})}


@pytest.fixture
def server_settings() -> dict[str, Any]:
    """Override in a test module to run the live server with other settings."""
    return {}


@pytest.fixture
def live_server(tmp_path: Path, server_settings: dict[str, Any]) -> Iterator[LiveServer]:
    settings = Settings(**{**SERVER_DEFAULTS, "data_dir": tmp_path / "server-data", **server_settings})
    app = create_app(settings)
    sock = listening_socket()
    server, thread = serve(app, sock)
    live = LiveServer(f"http://127.0.0.1:{sock.getsockname()[1]}", app, settings, server, thread)
    try:
        yield live
    finally:
        live.stop()
        sock.close()


@pytest.fixture
def client_options() -> dict[str, Any]:
    """Override in a test module to build `client` with other options."""
    return {}


@pytest.fixture
def client(live_server: LiveServer, client_options: dict[str, Any]) -> Iterator[Client]:
    with Client(live_server.url, **live_server.credentials, **client_options) as kb:
        yield kb


@pytest.fixture
def kb_id(client: Client) -> str:
    return client.create_knowledge_base("docs").id



@pytest.fixture
def kbi_run(live_server: LiveServer):  # type: ignore[no-untyped-def]
    """Run `kbi` in-process with the live server's URL and credentials in its environment."""
    def run(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(kbi, list(args), env=live_server.env, input=input, catch_exceptions=False)

    return run
