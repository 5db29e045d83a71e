"""An Elasticsearch-compatible test server: `noida-db` (PyPI) on a free loopback port.

Not a test module. `noida_es(tmpdir)` is a context manager that fixtures wrap: it starts
`noida-db start --only elasticsearch`, waits until the REST API answers, yields the
`SOHOA_SEARCH_URL` (`http://127.0.0.1:PORT`) and stops the server afterwards.

noida-db is an emulator of the ES REST API, used because no real Elasticsearch can be
installed here; production runs real Elasticsearch 8 (see search/es_index.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sohoa.testkit.servers import free_port, venv_binary

STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


def noida_binary() -> str:
    """The `noida-db` launcher installed by `pip install noida-db`."""
    return venv_binary("noida-db", "pip install noida-db (test extra)")


class NoidaServer:
    """One `noida-db` process serving only the Elasticsearch API on 127.0.0.1."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.directory / "data"
        self.log = self.directory / "noida.log"
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        log = open(self.log, "ab")
        try:
            self.process = subprocess.Popen(
                [noida_binary(), "start", "--only", "elasticsearch",
                 "--elasticsearch-port", str(self.port), "--data-dir", str(self.data_dir)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                # The PyPI launcher is a Python script that runs the real binary as a child
                # and does not forward signals: a process group of our own lets stop() reach both.
                start_new_session=True,
            )
        finally:
            log.close()
        self._wait_ready()
        return self.url

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                raise RuntimeError(f"noida-db exited with {code}: {self._tail()}")
            if self._answers():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"noida-db not ready after {STARTUP_TIMEOUT:.0f} s: {self._tail()}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        """Ready means the root endpoint returns the ES banner (an open port may be another's)."""
        try:
            with urllib.request.urlopen(self.url + "/", timeout=1) as response:
                return "version" in json.load(response)
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def _tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        # The GLIBC weak-symbol warning is harmless noise; keep the lines that explain a failure.
        return " | ".join([ln for ln in lines if "GLIBC" not in ln][-5:]) or "(empty log)"

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            self._signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout=STOP_TIMEOUT)
            # The launcher exits at once and leaves its child (the server) to finish on its own:
            # wait for the group to be gone so the port is free when stop() returns.
            self._wait_group_gone(process.pid)
        self._kill_recorded_server()

    def _wait_group_gone(self, pgid: int) -> None:
        deadline = time.monotonic() + STOP_TIMEOUT
        while _group_alive(pgid):
            if time.monotonic() > deadline:
                self._signal_group(pgid, signal.SIGKILL)
                deadline = time.monotonic() + STOP_TIMEOUT
            time.sleep(0.02)

    @staticmethod
    def _signal_group(pgid: int, sig: int) -> None:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _kill_recorded_server(self) -> None:
        """Kill the server named in noida's control file if it still runs (e.g. it left our group).

        Only a process whose command line names our own data directory is touched.
        """
        try:
            pid = int(json.loads((self.data_dir / "noida.control.json").read_text())["pid"])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError, KeyError, TypeError):
            return
        if str(self.data_dir) in cmdline:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process of process group `pgid` remains (Linux /proc)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # Fields after the parenthesised command name: state, ppid, pgrp, ...
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


@contextmanager
def noida_es(tmpdir: Path | str) -> Iterator[str]:
    """A running noida-db Elasticsearch API for the duration of the block; yields its URL."""
    server = NoidaServer(Path(tmpdir))
    try:
        server.start()
    except RuntimeError:
        # Most likely another process took the port between choosing and binding: once more.
        server.port = free_port()
        server.start()
    try:
        yield server.url
    finally:
        server.stop()
