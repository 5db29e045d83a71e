"""Pipeline benchmark: a 200-page batch through Redis and 2 worker processes, drop → searchable,
against `sohoa ocr` on the same pages in the same run (the pipeline's overhead as a ratio), with the
peak RSS of each worker process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sohoa.testkit import scans
from sohoa.testkit.redisserver import redis_server

AGENCY = "000.00.12.H36"
PAGES_PER_FILE = 5


def _corpus(folder: Path, pages: int) -> list[Path]:
    (folder / AGENCY).mkdir(parents=True, exist_ok=True)
    files = []
    for n in range(pages // PAGES_PER_FILE):
        pages_of_file = [scans.make_scan("gray200_jpeg", seed=5000 + n * PAGES_PER_FILE + i)
                         for i in range(PAGES_PER_FILE)]
        files.append(Path(scans.save_multipage_tiff(pages_of_file, folder / AGENCY / f"ho-so-{n:03d}.tif")))
    return files


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out.extend(int(c) for c in text)
    return out


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _sohoa(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sohoa", *args], env=env, capture_output=True, text=True,
                          check=True)


def run(pages: int = 200) -> dict:
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-workers-") as work:
        root = Path(work)
        files = _corpus(root / "src", pages)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}

        # Anchor: `sohoa ocr` on the same files, both cores (-j 2), one file after the other.
        started = time.perf_counter()
        for n, path in enumerate(files):
            _sohoa("ocr", str(path), str(root / f"anchor-{n}.pdf"), "-q", "-j", "2", env=env)
        anchor_seconds = time.perf_counter() - started

        with redis_server(root / "redis") as broker:
            env.update(SOHOA_DATA_DIR=str(root / "data"), SOHOA_BROKER_URL=broker, OMP_THREAD_LIMIT="1")
            _sohoa("jobs", env=env)  # creates and migrates the catalog before the workers start
            worker = subprocess.Popen([sys.executable, "-m", "sohoa", "worker", "-c", "2"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                started = time.perf_counter()
                batch = _sohoa("batch", str(root / "src"), "--job", "bench", "--json", "--no-local-worker", env=env)
                from sohoa.core.settings import Settings
                from sohoa.search.backends import open_configured_index

                index = open_configured_index(Settings.from_env(env))
                while index.count() < len(files):  # drop → searchable: the index task ran too
                    time.sleep(0.2)
                pipeline_seconds = time.perf_counter() - started
                pool = _children(worker.pid)
                rss = [_peak_rss_mb(pid) for pid in pool]
                parent_rss = _peak_rss_mb(worker.pid)
            finally:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=60)
        summary = json.loads(batch.stdout.strip().splitlines()[-1])

    anchor_ppm = pages / anchor_seconds * 60
    pipeline_ppm = pages / pipeline_seconds * 60
    rows = [
        {"run": "sohoa ocr -j 2 (anchor)", "pages": pages, "seconds": round(anchor_seconds, 1),
         "pages_per_min": round(anchor_ppm, 1), "ratio": 1.0, "peak_rss_mb": "-"},
        {"run": "batch → 2 worker processes → searchable", "pages": pages, "seconds": round(pipeline_seconds, 1),
         "pages_per_min": round(pipeline_ppm, 1), "ratio": round(pipeline_ppm / anchor_ppm, 2),
         "peak_rss_mb": " / ".join(str(r) for r in rss) + f" (main {parent_rss})"},
    ]
    return {"rows": rows, "stored": summary.get("stored", 0), "files": len(files),
            "note": f"{len(files)} TIFF files of {PAGES_PER_FILE} pages; ratio = pipeline pages/min ÷ "
                    "`sohoa ocr` pages/min (1.0 = no overhead); Redis broker, SQLite catalog and index, "
                    "local object store"}
