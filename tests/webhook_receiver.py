"""A throwaway webhook receiver for the tests: a real HTTP server in a thread that can be down,
slow, failing (500), redirecting, or well; it checks every signature the way docs/webhooks.md tells
receivers to, and drops a second delivery of the same event id."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret: bytes, headers, body: bytes, max_age: float = 300) -> bool:
    """The receiver's check, as docs/webhooks.md shows it."""
    timestamp = headers["X-Sohoa-Timestamp"]
    expected = "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) < max_age
    return hmac.compare_digest(headers["X-Sohoa-Signature"], expected) and fresh


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    event_id: str
    attempt: int
    body: dict
    signed: bool
    headers: dict


@dataclass
class Receiver:
    """`mode`: ok | fail (500) | slow (answers after `delay` s) | redirect. Down until `start()`."""

    secret: bytes
    port: int = field(default_factory=free_port)
    mode: str = "ok"
    delay: float = 0.0
    posts: list[Received] = field(default_factory=list)
    events: dict[str, dict] = field(default_factory=dict)  # deduped by id: what the receiver acted on
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sohoa/hook?from=test"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.mode == "slow":
                    time.sleep(receiver.delay)
                received = Received(self.headers["X-Sohoa-Event-Id"], int(self.headers["X-Sohoa-Attempt"]),
                                    json.loads(body), verify(receiver.secret, self.headers, body),
                                    dict(self.headers))
                receiver.posts.append(received)
                if receiver.mode == "fail":
                    self._answer(500, b"loi tam thoi " * 10_000)  # a large answer: only a little is read
                    return
                if receiver.mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if received.signed:
                    receiver.events.setdefault(received.event_id, received.body)  # a second delivery: dropped
                self._answer(200 if received.signed else 401, b"ok")

            def _answer(self, status: int, text: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                try:
                    self.wfile.write(text)
                except OSError:
                    pass  # the sender gave up (timeout)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
