"""Shared fixtures: generated scans, one OCR run per degraded kind (reused by many tests),
a helper that runs the real `sohoa` command in a subprocess, the session-wide test servers
(one PostgreSQL cluster, one Elasticsearch API, one SeaweedFS) and the test lanes.

Lanes (`make test` runs everything, `make test-fast` deselects the heavy ones):
- `servers`: the test starts a server or a cluster of processes (SeaweedFS, Redis, PostgreSQL,
  noida-db, `sohoa` workers, Chromium). Given automatically to every test that uses one of
  SERVER_FIXTURES, directly or through another fixture; a parametrized fixture that asks for a
  server with `request.getfixturevalue` marks that parameter with `pytest.param(..., marks=SERVERS)`.
  A server fixture reached by a test without the mark fails, so the fast lane never starts one.
- `ocr`: the test runs real Tesseract over many pages or a whole corpus (every test that uses
  `ocr_kind`, plus the modules that set `pytestmark = pytest.mark.ocr`).
- `slow`: takes minutes (a whole distributed batch).
"""

from __future__ import annotations

import itertools
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

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


@pytest.fixture(autouse=True, scope="module")
def _sohoa_environment_stays_in_its_module() -> Iterator[None]:
    """SOHOA_* variables a test module sets are put back when it ends: the `sohoa` processes of
    the next module inherit the environment (a leaked SOHOA_OCR_ENGINE=null once made another
    module's search test find nothing)."""
    import os

    from sohoa.core.settings import get_settings

    before = {k: v for k, v in os.environ.items() if k.startswith("SOHOA_")}
    yield
    for key in [k for k in os.environ if k.startswith("SOHOA_")]:
        if key not in before:
            del os.environ[key]
    os.environ.update(before)
    get_settings.cache_clear()


@pytest.fixture
def null_ocr(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """For workflow tests that never read the text: the `null` OCR engine (ocr/engines.py) for this
    process and every `sohoa` process it starts, so no Tesseract run costs seconds per page.
    Engine spec for OcrOptions(engine=...) is the fixture's value."""
    from sohoa.core.settings import get_settings

    monkeypatch.setenv("SOHOA_OCR_ENGINE", "null")
    get_settings.cache_clear()
    yield "null"
    get_settings.cache_clear()


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


# ---------------------------------------------------------------- lanes

SERVERS = pytest.mark.servers
# Fixtures that start a server (or stand for one): a test using any of them is a `servers` test.
SERVER_FIXTURES = frozenset({
    "seaweedfs_endpoint", "postgres_server", "postgres_url", "es_url", "redis_url", "cluster_factory", "browser",
})
OCR_FIXTURES = frozenset({"ocr_kind"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & SERVER_FIXTURES and item.get_closest_marker("servers") is None:
            item.add_marker(SERVERS)
        if used & OCR_FIXTURES and item.get_closest_marker("ocr") is None:
            item.add_marker(pytest.mark.ocr)


_running: list[pytest.Item] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _running[:] = [item]


def _only_for_server_tests(what: str) -> None:
    """Refuse to start a server for a test that is not marked `servers` (it would slip into the fast lane)."""
    item = _running[0] if _running else None
    if item is not None and item.get_closest_marker("servers") is None:
        pytest.fail(f"{item.nodeid} starts {what} but is not marked `servers`: use pytest.param(..., "
                    "marks=pytest.mark.servers) on the fixture parameter that asks for it, or @pytest.mark.servers",
                    pytrace=False)


# ---------------------------------------------------------------- session servers

# One real SeaweedFS S3 server for the whole session, shared by every suite that needs S3.
from storage_fixtures import seaweedfs_endpoint  # noqa: E402,F401  (a pytest fixture)

# One throwaway PKI (CA, OCSP, TSA on loopback) and one SoftHSM2 token for the whole session: the
# signing tests. A PKCS#11 library reads SOFTHSM2_CONF once per process, so one token it must be.
from sign_fixtures import softhsm_token, test_pki  # noqa: E402,F401  (pytest fixtures)
from dossier_fixtures import dossier_env  # noqa: E402,F401  (one app for the dossier test modules)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One PostgreSQL cluster for the whole session: the URL of its maintenance database."""
    _only_for_server_tests("PostgreSQL")
    from sohoa.testkit.pgserver import postgresql

    with postgresql() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty database on the session's cluster, dropped after the test."""
    _only_for_server_tests("PostgreSQL")
    from sohoa.testkit.pgserver import fresh_database

    with fresh_database(postgres_server) as url:
        yield url


@pytest.fixture(scope="session")
def es_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Elasticsearch REST API for the whole session: noida-db, or the real Elasticsearch 8 at
    SOHOA_TEST_ES_URL. Tests stay apart by index name (`es_index_name`)."""
    _only_for_server_tests("Elasticsearch (noida-db)")
    if os.environ.get("SOHOA_TEST_ES_URL"):
        yield os.environ["SOHOA_TEST_ES_URL"]
        return
    from sohoa.testkit.noida import noida_es

    with noida_es(tmp_path_factory.mktemp("noida")) as url:
        yield url


_es_names = itertools.count(1)


@pytest.fixture
def es_index_name() -> str:
    """An index (alias) name no other test of the session uses."""
    return f"t-{next(_es_names):04d}-{secrets.token_hex(3)}"
