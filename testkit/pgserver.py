"""A throwaway PostgreSQL cluster on loopback for tests and benchmarks (Debian's postgresql),
and fresh databases on it (one cluster per test session, one database per test)."""

from __future__ import annotations

import glob
import itertools
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sohoa.testkit.servers import free_port

_databases = itertools.count(1)


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL server not installed: apt-get install postgresql (make test does)")
    return found[-1]


def _as_postgres(argv: list[str]) -> list[str]:
    # The server refuses to run as root; Debian's package creates the postgres user.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def postgresql() -> Iterator[str]:
    """Yields a SQLAlchemy URL of an empty database; the cluster is removed afterwards.

    The cluster lives in its own folder under the system temp dir: the server's
    user must be able to reach it, which pytest's private temp dirs do not allow.
    """
    folder = Path(tempfile.mkdtemp(prefix="sohoa-pg-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    subprocess.run(_as_postgres([_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                 "-E", "UTF8", "--locale=C.UTF-8"]), check=True, capture_output=True)
    subprocess.run(_as_postgres([
        _bin("pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "start",
        "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off",
    ]), check=True, capture_output=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            probe = subprocess.run(_as_postgres([_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port)]),
                                   capture_output=True)
            if probe.returncode == 0:
                break
            time.sleep(0.2)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """Yields the URL of a new, empty database on the cluster at `server_url`; dropped afterwards.

    One cluster serves a whole test session; a database per test keeps tests independent
    (creating one from template1 takes a few milliseconds with fsync off).
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"t_{next(_databases)}_{secrets.token_hex(3)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:  # FORCE: a test may leave pooled connections open
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
