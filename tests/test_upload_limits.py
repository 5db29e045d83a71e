"""Uploads refused early (issue #13 item 5), against a real `sohoa serve` (uvicorn) with raw chunked
requests (Transfer-Encoding: chunked, no Content-Length), as the attacker sent them:

- an anonymous upload is answered 401 before a single body byte is sent, so nothing is spooled;
- the body is counted as it arrives: over the request limit → 413, over the user's budget shared by
  their concurrent uploads → 413;
- the multipart spool files (TMPDIR) are gone on every path: success, refusal, client disconnect —
  checked in the server's open files (/proc/PID/fd: unlinked temporaries included) and its TMPDIR.
"""

from __future__ import annotations

import http.client
import io
import os
import select
import socket
import subprocess
import time
from pathlib import Path

import pytest
from conftest import SOHOA
from PIL import Image
from sohoa.archive.catalog import Catalog
from sohoa.web import accounts
from web_fixtures import AGENCY_A, PASSWORD

BOUNDARY = "sohoa-test-boundary-7f3a"
MB = 1024 * 1024


class Server:
    def __init__(self, tmp_path: Path) -> None:
        self.data = tmp_path / "data"
        self.spool = tmp_path / "spool"
        self.spool.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
        self.env.update(SOHOA_DATA_DIR=str(self.data), TMPDIR=str(self.spool), SOHOA_OCR_ENGINE="null",
                        SOHOA_MAX_UPLOAD_MB="2", SOHOA_MAX_REQUEST_MB="2", SOHOA_MAX_USER_UPLOAD_MB="3")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.data.mkdir(mode=0o700)
        catalog = Catalog(f"sqlite:///{self.data / 'catalog.db'}")
        accounts.add_user(catalog, "quantri", "admin", PASSWORD)
        self.token = accounts.create_token(catalog, "quantri", "máy quét")
        catalog.dispose()
        self.process = subprocess.Popen(SOHOA + ["serve", "--port", str(self.port)], env=self.env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                assert time.monotonic() < deadline and self.process.poll() is None, "server did not start"
                time.sleep(0.2)

    def spooled(self) -> list[str]:
        """Files of the spool folder the server holds open (deleted ones too) or left behind."""
        held = []
        for fd in Path(f"/proc/{self.process.pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith(str(self.spool)):
                held.append(target)
        return held + [str(p) for p in self.spool.iterdir()]

    def wait_unspooled(self, seconds: float = 10) -> list[str]:
        deadline = time.monotonic() + seconds
        while (held := self.spooled()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return held

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path)
    yield running
    running.stop()


def _head(fields: dict[str, str], filename: str) -> bytes:
    parts = [f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n" for k, v in fields.items()]
    parts.append(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{filename}\"\r\n"
                 "Content-Type: application/octet-stream\r\n\r\n")
    return "".join(parts).encode()


TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


def _open(server: Server, path: str = "/api/uploads", auth: bool = True) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("POST", path)
    connection.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    connection.putheader("Transfer-Encoding", "chunked")  # no Content-Length: the size is not known upfront
    if auth:
        connection.putheader("Authorization", f"Bearer {server.token}")
    connection.endheaders()
    return connection


def _chunk(connection: http.client.HTTPConnection, data: bytes) -> None:
    connection.send(b"%x\r\n%s\r\n" % (len(data), data))


def _answered(connection: http.client.HTTPConnection) -> bool:
    return bool(select.select([connection.sock], [], [], 0)[0])


def _stream(connection, total: int, piece: int = 64 * 1024) -> int:
    """Send file bytes until `total` or until the server answers; returns how many were sent."""
    sent = 0
    _chunk(connection, _head({"agency": AGENCY_A}, "to.pdf"))
    _chunk(connection, b"%PDF-1.4\n")
    try:
        while sent < total and not _answered(connection):
            _chunk(connection, os.urandom(piece))
            sent += piece
            time.sleep(0.002)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (600, 800), 255).save(out, "PNG")
    return out.getvalue()


def test_anonymous_chunked_upload_gets_401_before_any_byte(server):
    for path, status in (("/api/uploads", 401), ("/tai-len", 303)):
        connection = _open(server, path, auth=False)
        # Not one byte of the body has been sent: the answer comes from the headers alone.
        response = connection.getresponse()
        assert response.status == status, (path, response.status)
        if status == 401:
            assert response.getheader("www-authenticate") == "Bearer"
        connection.close()
    assert server.spooled() == []


def test_chunked_upload_over_the_request_limit_is_cut_off_with_413(server):
    connection = _open(server)
    sent = _stream(connection, 8 * MB)
    response = connection.getresponse()
    body = response.read().decode()
    assert response.status == 413 and "2 MB" in body, (response.status, body[:200])
    assert sent < 4 * MB  # stopped early, not after the whole body
    connection.close()
    assert server.wait_unspooled() == []
    assert not list((server.data / "uploads").rglob("*.pdf")) if (server.data / "uploads").exists() else True


def test_declared_length_over_the_limit_is_refused_at_once(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("POST", "/api/uploads")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    connection.putheader("Content-Length", str(50 * MB))
    connection.putheader("Authorization", f"Bearer {server.token}")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert server.spooled() == []


def test_concurrent_uploads_of_one_user_share_a_budget(server):
    first = _open(server)
    _chunk(first, _head({"agency": AGENCY_A}, "mot.pdf"))
    _chunk(first, b"%PDF-1.4\n" + os.urandom(int(1.8 * MB)))  # held open: 1.8 of the user's 3 MB in flight
    time.sleep(0.5)
    second = _open(server)
    _stream(second, 4 * MB)
    response = second.getresponse()
    body = response.read().decode()
    assert response.status == 413 and "cùng lúc" in body, (response.status, body[:300])
    second.close()
    _chunk(first, TAIL)
    first.send(b"0\r\n\r\n")
    finished = first.getresponse()
    assert finished.status != 413  # the first one was within its limits (it fails later as a bad PDF)
    first.close()
    assert server.wait_unspooled() == []


def test_spool_files_are_removed_after_a_disconnect_and_after_success(server):
    connection = _open(server)
    _chunk(connection, _head({"agency": AGENCY_A}, "dut.pdf"))
    _chunk(connection, b"%PDF-1.4\n" + os.urandom(int(1.5 * MB)))  # more than the 1 MB kept in memory
    time.sleep(0.5)
    connection.sock.shutdown(socket.SHUT_RDWR)  # the client goes away mid-body
    connection.close()
    assert server.wait_unspooled() == []

    image = _png() + os.urandom(MB + MB // 2)  # bytes after PNG's end chunk: still a PNG, and spooled to disk
    connection = _open(server)
    _chunk(connection, _head({"agency": AGENCY_A, "doc_type": "GKS"}, "giay.png"))
    _chunk(connection, image)
    _chunk(connection, TAIL)
    connection.send(b"0\r\n\r\n")
    response = connection.getresponse()
    assert response.status == 201, response.read()[:300]
    connection.close()
    assert server.wait_unspooled() == []
