"""A submission whose body does not arrive whole creates nothing and is not a server error."""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.client.conftest import SERVER_DEFAULTS, listening_socket, serve

JOBS = "/api/v2/data-ingestion/jobs"
BOUNDARY = "cutoff"


def form(kb: str, *, options: bytes, closed: bool = True) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="adapterType"\r\n\r\ngeneric-json\r\n',
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="knowledgeBaseId"\r\n\r\n{kb}\r\n',
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="data"; filename="d.json"\r\n'
        'Content-Type: application/json\r\n\r\n{"records": [{"id": "a", "content": "x", "tags": ["t"]}]}\r\n',
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="options"\r\n\r\n',
    ]
    return "".join(parts).encode() + options + (f"\r\n--{BOUNDARY}--\r\n".encode() if closed else b"")


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda kb: form(kb, options=b'{"tagAttribu', closed=False), id="inside-the-last-part"),
        pytest.param(lambda kb: form(kb, options=b"{}", closed=False), id="before-the-closing-boundary"),
        pytest.param(lambda kb: form(kb, options=b"{}")[:-4], id="inside-the-closing-boundary"),
    ],
)
def test_a_form_cut_off_before_its_closing_boundary_creates_nothing(service, cut):
    """python-multipart fires a field at the end of its part and does not check the end: a
    form cut inside `options` parsed as a complete form without options."""
    kb = service.create_kb()
    response = service.client.post(JOBS, content=cut(kb), headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"].startswith("Malformed multipart body: the body ended before the form's closing boundary")
    assert body["errors"][0]["path"] == "body"
    assert service.client.get(JOBS).json()["total"] == 0


def test_the_whole_form_is_still_accepted(service):
    kb = service.create_kb()
    response = service.client.post(JOBS, content=form(kb, options=b"{}"), headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.status_code == 202, response.text


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A real server on a socket (a test client cannot go away half way), and a bearer token."""
    settings = Settings(**{**SERVER_DEFAULTS, "data_dir": tmp_path / "data"})
    sock = listening_socket()
    server, thread = serve(create_app(settings), sock)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        credentials = (settings.data_dir / "bootstrap-credentials.json").read_text()
        token = httpx.post(f"{url}/api/v2/auth/token", data={"grant_type": "client_credentials", **json.loads(credentials)}).json()
        yield url, {"Authorization": f"Bearer {token['access_token']}"}
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _open_temp_files() -> int:
    """Files this process holds open right in the temp dir, where python-multipart spools
    uploads (not under it: the server's SQLite files are in a test's tmp_path there)."""
    temp, count = tempfile.gettempdir(), 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.path.dirname(os.readlink(f"/proc/self/fd/{fd}").removesuffix(" (deleted)")) == temp
        except OSError:
            pass
    return count


@pytest.mark.parametrize("multipart", [True, False], ids=["multipart", "json"])
def test_a_client_that_goes_away_mid_body_is_a_client_error_and_leaves_no_spooled_files(live, caplog, multipart):
    url, auth = live
    kb = httpx.post(f"{url}/api/v2/knowledge-bases", json={"name": "kb"}, headers=auth).json()["id"]
    if multipart:
        content_type = f"multipart/form-data; boundary={BOUNDARY}"
        # A data part past python-multipart's 1 MB, so that it is spooled to a file.
        sent = form(kb, options=b"{}").replace(b'"content": "x"', b'"content": "' + b"x" * 2_000_000 + b'"')[:-200_000]
    else:
        content_type = "application/json"
        sent = b'{"adapterType": "generic-json", "knowledgeBaseId": "%s", "data": {"records": [' % kb.encode() + b"[1]," * 100_000
    before = _open_temp_files()
    host, port = url.removeprefix("http://").split(":")
    with caplog.at_level(logging.INFO, logger="app"):
        with socket.create_connection((host, int(port))) as connection:
            head = f"POST {JOBS} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {len(sent) + 500_000}\r\n"
            connection.sendall(head.encode() + "".join(f"{k}: {v}\r\n" for k, v in auth.items()).encode() + b"\r\n" + sent)
            time.sleep(0.5)  # the server has read what was sent
        deadline = time.monotonic() + 10
        while not any("went away" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert any(r.levelno == logging.INFO and "went away after sending" in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "a client going away is not a server error"
    while _open_temp_files() != before and time.monotonic() < deadline:  # closed just after the log line
        time.sleep(0.05)
    assert _open_temp_files() == before
    assert httpx.get(f"{url}{JOBS}", headers=auth).json()["total"] == 0


def test_a_malformed_form_is_not_logged_as_an_error(service, caplog):
    """python-multipart logs one itself at error level; the 400 is the service's whole answer."""
    with caplog.at_level("DEBUG"):
        response = service.client.post(JOBS, content=b"x", headers={"content-type": "multipart/form-data"})
    assert response.status_code == 400
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [r.getMessage() for r in caplog.records]


def test_a_client_that_goes_away_from_a_body_litestar_reads_is_not_a_server_error(live, caplog):
    """The knowledge base's body is read by Litestar, which raises a 500 for it."""
    url, auth = live
    host, port = url.removeprefix("http://").split(":")
    with caplog.at_level(logging.INFO, logger="app"):
        with socket.create_connection((host, int(port))) as connection:
            head = f"POST /api/v2/knowledge-bases HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
            connection.sendall(head.encode() + "".join(f"{k}: {v}\r\n" for k, v in auth.items()).encode() + b'\r\n{"name": "ha')
            time.sleep(0.2)
        deadline = time.monotonic() + 10
        while not any("went away" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert any(r.levelno == logging.INFO and "went away before sending the whole body" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert httpx.get(f"{url}/api/v2/knowledge-bases", headers=auth).json()["total"] == 0
