"""Issue #12, 1: result codes are reserved in the catalog, not counted; a record's folder depends
on its content alone; concurrent ingests never end in an internal error."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from archive_checks import DOSSIER, SOHOA, catalog_vs_storage, environ, scans, sohoa
from sohoa.archive import catalog_write, records
from sohoa.archive.backends import Archive, open_archive
from sohoa.core.settings import Settings


@dataclass
class Backends:
    """Where a test's archive lives: a data directory, a store (local when `storage_url` is None)
    and a catalog (SQLite in the data directory when `database_url` is None)."""

    data: Path
    storage_url: str | None = None
    database_url: str | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = environ(self.data, self.storage_url, **extra)
        if self.database_url:
            env["SOHOA_DATABASE_URL"] = self.database_url
        return env

    def archive(self) -> Archive:
        return open_archive(Settings(data_dir=self.data, storage_url=self.storage_url,
                                     database_url=self.database_url))


def backend_params(*names: str) -> list:
    """`catalog+store` names for `backends` (indirect); anything but sqlite+local needs servers."""
    return [pytest.param(name, id=name, marks=() if name == "sqlite+local" else pytest.mark.servers)
            for name in names]


@pytest.fixture
def backends(request: pytest.FixtureRequest, tmp_path: Path) -> Backends:
    catalog, store = getattr(request, "param", "sqlite+local").split("+")
    storage_url = database_url = None
    if store == "seaweedfs":
        from storage_fixtures import new_bucket

        storage_url = request.getfixturevalue("seaweedfs_endpoint").url(new_bucket())
    if catalog == "postgresql":
        database_url = request.getfixturevalue("postgres_url")
    return Backends(tmp_path / "data", storage_url, database_url)


def _together(env, argv_list) -> list[subprocess.CompletedProcess]:
    """Start every command at once, then wait for all."""
    procs = [subprocess.Popen(SOHOA + [str(a) for a in argv], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for argv in argv_list]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        out.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return out


# The two diagonals cover each catalog and each store once (the four combinations cost a minute
# of the suite's 30 and found nothing the diagonals missed).
@pytest.mark.parametrize("backends", backend_params("sqlite+local", "postgresql+seaweedfs"), indirect=True)
def test_six_concurrent_results_of_one_dossier_get_six_codes(tmp_path, backends):
    env = backends.env()
    files = scans(tmp_path / "in", 6)
    runs = _together(env, [("ingest", f, "--kind", "result", "--dossier", DOSSIER) for f in files])
    assert [r.returncode for r in runs] == [0] * 6, [r.stderr for r in runs]
    codes = sorted(r.stdout.split()[-1] for r in runs)
    assert codes == sorted(f"{DOSSIER}-KQ{n}" for n in range(1, 7))
    archive = backends.archive()
    assert catalog_vs_storage(archive) == []
    assert len(list(records.list_record_prefixes(archive.store))) == 6
    fixity = sohoa(env, "fixity")
    assert fixity.returncode == 0, fixity.stdout + fixity.stderr


@pytest.mark.parametrize("backends", backend_params("sqlite+local", "postgresql+seaweedfs"), indirect=True)
def test_six_concurrent_ingests_of_the_same_bytes_end_as_one_record(tmp_path, backends):
    env = backends.env()
    [scan] = scans(tmp_path / "in", 1)
    runs = _together(env, [("ingest", scan, "--kind", "result", "--dossier", DOSSIER)] * 6)
    assert [r.returncode for r in runs] == [0] * 6, [r.stderr for r in runs]
    outcomes = sorted(r.stdout.split(":", 1)[1].split()[0] for r in runs)
    assert outcomes.count("stored") == 1 and outcomes.count("duplicate") == 5
    assert len({r.stdout.split()[-1] for r in runs}) == 1  # one code, KQ1, for all
    archive = backends.archive()
    assert catalog_vs_storage(archive) == []
    assert len(list(records.list_record_prefixes(archive.store))) == 1


@pytest.mark.parametrize("backends", backend_params("sqlite+local", "postgresql+local"), indirect=True)
def test_reservation_is_taken_once_per_record_and_released_when_nothing_names_it(backends):
    archive = backends.archive()
    first = catalog_write.reserve_result_code(archive.catalog, DOSSIER, "R" + "1" * 24)
    again = catalog_write.reserve_result_code(archive.catalog, DOSSIER, "R" + "1" * 24)  # the retry
    other = catalog_write.reserve_result_code(archive.catalog, DOSSIER, "R" + "2" * 24)
    assert first == again == f"{DOSSIER}-KQ1" and other == f"{DOSSIER}-KQ2"
    catalog_write.release_result_code(archive.catalog, "R" + "2" * 24, other)
    assert catalog_write.reserve_result_code(archive.catalog, DOSSIER, "R" + "3" * 24) == f"{DOSSIER}-KQ2"


def test_a_failed_store_releases_its_code(tmp_path):
    """A store that fails before any metadata names the code gives the code back."""
    import hashlib

    env = environ(tmp_path / "data")
    files = scans(tmp_path / "in", 2)
    rid = "R" + hashlib.sha256(files[0].read_bytes()).hexdigest()[:24]
    blocker = tmp_path / "data" / "objects" / "records" / rid[1:3]
    blocker.parent.mkdir(parents=True)
    blocker.write_bytes(b"not a folder")  # the record folder cannot be made: storage fails
    failed = sohoa(env, "ingest", files[0], "--kind", "result", "--dossier", DOSSIER)
    assert failed.returncode not in (0, 15) and failed.stderr.count("\n") == 1, failed.stderr
    done = sohoa(env, "ingest", files[1], "--kind", "result", "--dossier", DOSSIER)
    assert done.returncode == 0 and done.stdout.split()[-1] == f"{DOSSIER}-KQ1", done.stdout + done.stderr


def test_the_folder_does_not_depend_on_the_day(tmp_path):
    """A retry on another month writes to the same folder as the first attempt."""
    from sohoa.core.records import RecordMetadata

    base = dict(record_id="R" + "ab" * 12, record_code="x", original_sha256="ab" * 32, original_size=1)
    june = RecordMetadata(**base, created_at=datetime(2024, 6, 30, 23, 59, tzinfo=timezone.utc))
    july = RecordMetadata(**base, created_at=datetime(2024, 6, 30, 23, 59, tzinfo=timezone.utc) + timedelta(days=40),
                          agency_code="000.00.00.H02")
    assert records.record_prefix(june) == records.record_prefix(july) == f"records/ab/{base['record_id']}"
