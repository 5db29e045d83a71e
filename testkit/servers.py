"""Shared bits of the throwaway test servers (SeaweedFS, noida-db, PostgreSQL): ports and binaries."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from contextlib import ExitStack
from pathlib import Path


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (all held open together, so none repeats)."""
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]


def free_port() -> int:
    return free_ports(1)[0]


def venv_binary(name: str, install_hint: str) -> str:
    """An executable a PyPI package installed (the running venv's bin first, then PATH)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which(name, path=path)
    if not found:
        raise RuntimeError(f"`{name}` not found: {install_hint}")
    return found
