"""A submission whose body does not arrive whole creates nothing and is not a server error."""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
    with running(tmp_path) as server:
        yield server


@contextmanager
def running(tmp_path: Path, **overrides: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """A real server on a socket (a test client cannot go away half way), and a bearer token."""
    settings = Settings(**{**SERVER_DEFAULTS, "data_dir": tmp_path / "data", **overrides})
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


def _send_in_pieces(
    url: str,
    auth: dict[str, str],
    pieces: list[bytes],
    *,
    declared: int,
    pause: float,
    content_type: str = "application/json",
    path: str = JOBS,
) -> tuple[bytes, float]:
    """POST a body (a job's unless `path` says) that comes in `pieces`, `pause` s apart;
    the raw answer, read until the server closes the connection, and how long after the
    last piece it came."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as connection:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {declared}\r\n"
        connection.sendall(head.encode() + "".join(f"{k}: {v}\r\n" for k, v in auth.items()).encode() + b"\r\n")
        for piece in pieces:
            time.sleep(pause)
            connection.sendall(piece)
        sent = time.monotonic()
        connection.settimeout(20)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
            if b"HTTP/1.1 202" in answer and answer.endswith(b"}"):
                break
        return answer, time.monotonic() - sent


@pytest.fixture
def impatient(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A live server waiting 2 s for each part of a body; made before caplog, whose
    handler the app's logging setup would otherwise remove."""
    with running(tmp_path, body_idle_timeout_seconds=2) as server:
        yield server


def test_a_body_that_stops_arriving_is_a_408_and_the_connection_is_closed(impatient, caplog):
    """Without it, a client stalled half way held its connection (and a spooled upload)
    for as long as it stayed connected."""
    url, auth = impatient
    kb = httpx.post(f"{url}/api/v2/knowledge-bases", json={"name": "kb"}, headers=auth).json()["id"]
    body = b'{"adapterType": "generic-json", "knowledgeBaseId": "%s", "data": {"records": [{"id": "a", "content": "x"}]}}' % kb.encode()
    with caplog.at_level(logging.INFO, logger="app"):
        answer, waited = _send_in_pieces(url, auth, [body[:40]], declared=len(body), pause=0)
    head, _, content = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer
    assert b"connection: close" in head.lower()
    error = json.loads(content)
    assert (error["statusCode"], error["error"], error["path"]) == (408, "Request Timeout", JOBS)
    assert error["message"] == "The request body stopped arriving for 2 s after 40 bytes; send it again"
    assert 1.9 < waited < 15
    assert any("stopped arriving after 40 bytes" in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert httpx.get(f"{url}{JOBS}", headers=auth).json()["total"] == 0

    # The wait is for each part of the body, not for the whole of it.
    pieces = [body[i : i + 15] for i in range(0, len(body), 15)]
    assert len(pieces) >= 8  # 0.3 s apart: longer than the wait in all, far under it each
    answer, _ = _send_in_pieces(url, auth, pieces, declared=len(body), pause=0.3)
    assert answer.startswith(b"HTTP/1.1 202 "), answer


def test_a_stalled_upload_is_a_408_and_its_spooled_part_is_gone(impatient):
    url, auth = impatient
    kb = httpx.post(f"{url}/api/v2/knowledge-bases", json={"name": "kb"}, headers=auth).json()["id"]
    # A data part past python-multipart's 1 MB, so that it is spooled to a file.
    whole = form(kb, options=b"{}").replace(b'"content": "x"', b'"content": "' + b"x" * 2_000_000 + b'"')
    before = _open_temp_files()
    answer, _ = _send_in_pieces(
        url, auth, [whole[:1_500_000]], declared=len(whole), pause=0, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["message"].endswith("after 1500000 bytes; send it again")
    deadline = time.monotonic() + 10
    while _open_temp_files() != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _open_temp_files() == before
    assert httpx.get(f"{url}{JOBS}", headers=auth).json()["total"] == 0


@pytest.mark.parametrize(
    ("path", "content_type", "body", "authenticated"),
    [
        pytest.param("/api/v2/auth/token", "application/x-www-form-urlencoded", b"grant_type=client_credentials", False, id="token"),
        pytest.param("/api/v2/knowledge-bases", "application/json", b'{"name": "stalled"}', True, id="knowledge-base"),
    ],
)
def test_every_endpoint_answers_a_stalled_body_408(impatient, path, content_type, body, authenticated):
    """The token endpoint needs no token: without the timeout anyone could hold connections
    open for ever by sending half a body; a knowledge base's body waited for ever too."""
    url, auth = impatient
    answer, waited = _send_in_pieces(
        url, auth if authenticated else {}, [body[:12]], declared=len(body), pause=0, content_type=content_type, path=path
    )
    head, _, content = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer
    assert b"connection: close" in head.lower()
    error = json.loads(content)
    assert (error["statusCode"], error["path"]) == (408, path)
    assert error["message"] == "The request body stopped arriving for 2 s after 12 bytes; send it again"
    assert 1.9 < waited < 15
    assert httpx.get(f"{url}/api/v2/knowledge-bases", headers=auth).json()["total"] == 0


def test_a_slow_body_that_keeps_arriving_and_a_response_after_it_are_not_cut(impatient):
    """The wait is per part of the body (each under the 2 s), not for the whole body; and
    once the body is whole, nothing times out (answering can take longer than 2 s)."""
    url, auth = impatient
    body = b'{"name": "arrives slowly"}'
    answer, _ = _send_in_pieces(
        url, auth, [body[i : i + 5] for i in range(0, len(body), 5)], declared=len(body), pause=1.2, path="/api/v2/knowledge-bases"
    )
    assert answer.startswith(b"HTTP/1.1 201 "), answer
    names = [kb["name"] for kb in httpx.get(f"{url}/api/v2/knowledge-bases", headers=auth).json()["knowledgeBases"]]
    assert names == ["arrives slowly"]


@pytest.fixture
def very_impatient(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    with running(tmp_path, body_idle_timeout_seconds=1) as server:
        yield server


def test_a_response_streaming_for_longer_than_the_idle_timeout_is_not_cut(very_impatient):
    """Once the request's body is whole, the server's waits for the client (a streamed
    response listening for it to leave) are not timed: an `includePayload` read slowly
    for several seconds arrives whole, under a 1 s idle timeout."""
    url, auth = very_impatient
    kb = httpx.post(f"{url}/api/v2/knowledge-bases", json={"name": "kb"}, headers=auth).json()["id"]
    data = {"records": [{"id": f"r{i}", "content": f"{i} " + "x" * 8000} for i in range(1000)]}  # 8 MB
    job = httpx.post(f"{url}{JOBS}", json={"adapterType": "generic-json", "knowledgeBaseId": kb, "data": data}, headers=auth, timeout=60)
    job_id = job.json()["jobId"]
    deadline = time.monotonic() + 60
    while httpx.get(f"{url}{JOBS}/{job_id}", headers=auth).json()["status"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.2)
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        connection.connect((host, int(port)))
        request = f"GET {JOBS}/{job_id}?includePayload=true HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        connection.sendall(request.encode() + "".join(f"{k}: {v}\r\n" for k, v in auth.items()).encode() + b"\r\n")
        started, answer = time.monotonic(), b""
        while chunk := connection.recv(32768):
            answer += chunk
            time.sleep(0.03)  # about 1 MB/s
        took = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert b"transfer-encoding: chunked" in head.lower()
    assert took > 2, f"the response took {took:.1f} s: too short to show anything"
    assert json.loads(_unchunked(body))["payload"] == data


def _unchunked(body: bytes) -> bytes:
    whole, rest = b"", body
    while True:
        size, _, rest = rest.partition(b"\r\n")
        length = int(size, 16)
        if length == 0:
            return whole
        whole, rest = whole + rest[:length], rest[length + 2 :]
