"""One signed HTTP POST of an event to a receiver, with the care an outgoing request needs.

- Only `http://` and `https://` URLs, with a host and no user:password (put secrets in the
  secret file, not in a URL that the log prints); checked when a receiver is added and again
  before every attempt.
- Redirects are never followed: a 3xx is a failed attempt that names where it pointed, so a
  receiver cannot send our signed events (or our requests) to another host.
- A whole attempt (connect, send, wait, read) is bounded by `timeout` seconds: a watchdog closes
  the socket of a receiver that trickles its answer. At most `MAX_READ` bytes of the answer are
  read; a few are kept in the log.
- HTTPS is verified with the system's CA certificates (the `ssl` module's default context).

The client is the standard library's `http.client`: it never follows redirects by itself, lets us
bound what is read, and adds no dependency.

Signature: `X-Sohoa-Signature: sha256=<hex HMAC-SHA256>` over the `X-Sohoa-Timestamp` value, a dot
and the raw body, with the receiver's secret. The timestamp is signed so that a captured request
cannot be replayed later with a fresh timestamp; the event id (`X-Sohoa-Event-Id`) lets the receiver
drop a second delivery of the same event.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import socket
import ssl
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import sohoa
from sohoa.core.errors import ExitCode, SohoaError

MAX_READ: Final = 64 * 1024  # bytes of a receiver's answer we read at most
KEPT: Final = 200  # characters of a failed answer kept in the log
MIN_SECRET: Final = 16  # bytes
SIGNATURE_HEADER: Final = "X-Sohoa-Signature"


@dataclass(frozen=True)
class AttemptResult:
    """What one POST gave: the HTTP status (None when no answer came) or the error, and how long."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def check_url(url: str) -> str:
    """The URL if a webhook may be sent to it; else a one-line USAGE error."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - a port out of range or not a number raises here
    except ValueError as error:
        raise SohoaError(f"webhook URL {url!r}: {error}", ExitCode.USAGE) from None
    if parts.scheme not in ("http", "https"):
        raise SohoaError(f"webhook URL {url!r}: only http:// and https:// are allowed", ExitCode.USAGE)
    if not parts.hostname:
        raise SohoaError(f"webhook URL {url!r}: no host", ExitCode.USAGE)
    if parts.username is not None or parts.password is not None:
        raise SohoaError(f"webhook URL {url!r}: no user:password in the URL (the secret file signs "
                         "every request)", ExitCode.USAGE)
    if parts.fragment:
        raise SohoaError(f"webhook URL {url!r}: no #fragment", ExitCode.USAGE)
    return url.strip()


def read_secret(path: Path) -> bytes:
    """The HMAC secret: the file's bytes without the trailing newline, at least MIN_SECRET of them.
    A file others may read is refused (`chmod 600`)."""
    try:
        mode = os.stat(path).st_mode
        secret = Path(path).read_bytes().rstrip(b"\r\n")
    except OSError as error:
        raise SohoaError(f"webhook secret file {path}: {error.strerror or error}", ExitCode.INPUT_MISSING) from None
    if mode & stat.S_IROTH:
        raise SohoaError(f"webhook secret file {path}: readable by others; chmod 600 it", ExitCode.REFUSED)
    if len(secret) < MIN_SECRET:
        raise SohoaError(f"webhook secret file {path}: the secret needs at least {MIN_SECRET} bytes "
                         "(e.g. `openssl rand -hex 32 > FILE`)", ExitCode.USAGE)
    return secret


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def headers(event_id: str, event_type: str, body: bytes, secret: bytes, attempt: int,
            now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"sohoa-webhooks/{sohoa.__version__}",
        "X-Sohoa-Event": event_type,
        "X-Sohoa-Event-Id": event_id,
        "X-Sohoa-Timestamp": timestamp,
        "X-Sohoa-Attempt": str(attempt),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def post(url: str, body: bytes, sent_headers: dict[str, str], timeout: float) -> AttemptResult:
    """POST once; never raises for anything the network or the receiver does."""
    started = time.monotonic()
    try:
        check_url(url)
    except SohoaError as error:
        return AttemptResult(None, error.message, 0)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    expired = threading.Event()
    watchdog = threading.Timer(timeout, _abort, (connection, expired))
    watchdog.daemon = True
    watchdog.start()
    status, error = None, None
    try:
        connection.request("POST", path, body=body, headers=sent_headers)
        response = connection.getresponse()
        status = response.status
        answer = response.read(MAX_READ)
        error = _failure(status, response.getheader("Location"), answer)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        status = None
        error = f"timed out after {timeout:g} s" if expired.is_set() or isinstance(exc, TimeoutError) \
            else f"{type(exc).__name__}: {exc}"[:KEPT]
    finally:
        watchdog.cancel()
        connection.close()
    return AttemptResult(status, error, int((time.monotonic() - started) * 1000))


def _abort(connection: http.client.HTTPConnection, expired: threading.Event) -> None:
    """The watchdog: the attempt's time is up; shut its socket so any blocked read returns."""
    expired.set()
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _failure(status: int, location: str | None, answer: bytes) -> str | None:
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        where = urlsplit(location).netloc if location else ""
        return f"redirect not followed (to {where or location or 'nowhere'})"
    text = " ".join(answer.decode("utf-8", "replace").split())[:KEPT]
    return f"HTTP {status}" + (f": {text}" if text else "")
