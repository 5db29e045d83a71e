"""Shared fixtures: generated scans, one OCR run per degraded kind (reused by many tests),
and a helper that runs the real `sohoa` command in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sohoa.ocr.pipeline import OcrOptions, OcrResult, run
from sohoa.testkit import scans

SOHOA = [sys.executable, "-m", "sohoa.cli"]

# Each degraded kind is saved in the format such a scan arrives in.
NATURAL_FORMAT = {
    "clean": "png",
    "skew": "png",
    "rot90": "jpeg",
    "rot180": "png",
    "rot270": "tiff-lzw",
    "gray200_jpeg": "jpeg",
    "photocopy_g4": "tiff-g4",
    "yellow_seal": "jpeg",
    "faint": "png",
    "blank": "png",
}
SUFFIX = {"png": ".png", "jpeg": ".jpg", "tiff-g4": ".tif", "tiff-lzw": ".tif"}


def run_sohoa(*args: object, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        SOHOA + [str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env
    )


@dataclass
class KindRun:
    scan: scans.Scan
    source: Path
    output: Path
    result: OcrResult


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ocr")


@pytest.fixture(scope="session")
def ocr_kind(workdir):
    """kind -> KindRun: each kind OCR'd once into PDF/A-1b, shared by the quality and PDF/A tests."""
    cache: dict[str, KindRun] = {}

    def get(kind: str) -> KindRun:
        if kind not in cache:
            scan = scans.make_scan(kind, seed=7)
            fmt = NATURAL_FORMAT[kind]
            source = Path(scans.save_image(scan, workdir / f"{kind}{SUFFIX[fmt]}", fmt))
            output = workdir / f"{kind}.pdf"
            result = run(source, output, OcrOptions(pdfa="1b", jobs=1))
            cache[kind] = KindRun(scan, source, output, result)
        return cache[kind]

    return get


# One real SeaweedFS S3 server for the whole session, shared by every suite that needs S3.
from storage_fixtures import seaweedfs_endpoint  # noqa: E402,F401  (a pytest fixture)
