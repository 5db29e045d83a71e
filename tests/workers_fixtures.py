"""Real worker processes, a real Redis and generated scans for the distributed-pipeline tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

from sohoa.testkit import scans
from sohoa.testkit.redisserver import redis_server

AGENCY = "000.00.12.H36"
DOSSIER = "000.00.12.H36-240115-0001"


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path / "redis") as url:
        yield url


def write_scans(folder: Path, count: int, seed: int = 500, fmt: str = "jpeg") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(scans.save_image(scans.make_scan("gray200_jpeg", seed=seed + i), folder / f"giay-{seed + i}.jpg",
                                  fmt)) for i in range(count)]


def write_tiff(path: Path, pages: int, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(scans.save_multipage_tiff([scans.make_scan("gray200_jpeg", seed=seed + i) for i in range(pages)],
                                          path))


@dataclass
class Cluster:
    """Environment shared by the processes of one test, and the worker processes it started."""

    data_dir: Path
    env: dict[str, str]
    workers: list[subprocess.Popen] = field(default_factory=list)

    def start_worker(self, name: str, concurrency: int = 1, queues: str | None = None) -> subprocess.Popen:
        log = open(self.data_dir / f"worker-{name}.log", "ab")
        args = [sys.executable, "-m", "sohoa", "worker", "-c", str(concurrency), "-n", f"{name}@%h",
                "--loglevel", "INFO"]
        if queues:
            args += ["-Q", queues]
        # Its own session, so a test can SIGKILL the whole worker (parent and pool) like a power cut.
        process = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.workers.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.data_dir / f"worker-{name}.log").read_text(errors="replace")

    def sohoa(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sohoa", *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "sohoa", *args], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in self.workers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill(process)


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []

    def make(broker_url: str | None = None, **settings: str) -> Cluster:
        data = tmp_path / "data"
        data.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
        env.update(SOHOA_DATA_DIR=str(data), SOHOA_STABLE_SECONDS="0.5", SOHOA_JOBS="1",
                   OMP_THREAD_LIMIT="1")
        if broker_url:
            env["SOHOA_BROKER_URL"] = broker_url
        env.update({f"SOHOA_{k.upper()}": str(v) for k, v in settings.items()})
        cluster = Cluster(data, env)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.5,
             cluster: Cluster | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if cluster is not None and cluster.workers and all(w.poll() is not None for w in cluster.workers):
            raise AssertionError(f"every worker exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
