"""Issue #12, 3: a crash (SIGKILL, through the `SOHOA_FAULT` hook of core/faults.py) at every step
of writing a record leaves a state the next run completes: rerun the ingest, rebuild the catalog,
and the archive holds one record, fixity is clean, the catalog says what storage says, and no
temporary is left. On the local store and on SeaweedFS."""

from __future__ import annotations

import signal

import pytest

from archive_checks import DOSSIER, catalog_vs_storage, environ, scans, sohoa, temporaries
from sohoa.archive import records
from sohoa.archive.backends import open_archive
from sohoa.core.settings import Settings

# Where an ingest can die, in the order it passes them.
RECORD_POINTS = [
    "ingest.reserved",
    *(f"record.stored@{name}" for name in (*records.DATA_OBJECTS, "metadata.json")),
    "ingest.catalogued",
]
LOCAL_POINTS = [f"local.{step}@{name}" for name in ("original", "events.jsonl", "metadata.json")
                for step in ("written", "sidecar-pending", "linked")]


def _crash_then_complete(tmp_path, fault: str, storage_url: str | None) -> None:
    data = tmp_path / "data"
    [scan] = scans(tmp_path / "in", 1)
    args = ("ingest", scan, "--kind", "result", "--dossier", DOSSIER)
    crashed = sohoa(environ(data, storage_url, SOHOA_FAULT=fault), *args)
    assert crashed.returncode == -signal.SIGKILL, f"{fault} never reached: {crashed.returncode} {crashed.stderr}"

    env = environ(data, storage_url)
    again = sohoa(env, *args)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split()[-1] == f"{DOSSIER}-KQ1", again.stdout
    rebuilt = sohoa(env, "rebuild-catalog")
    assert rebuilt.returncode == 0 and "1 records restored" in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr
    fixity = sohoa(env, "fixity")
    assert fixity.returncode == 0, fixity.stdout + fixity.stderr

    archive = open_archive(Settings(data_dir=data, storage_url=storage_url))
    assert len(list(records.list_record_prefixes(archive.store))) == 1
    assert list(records.list_incomplete_prefixes(archive.store)) == []
    assert catalog_vs_storage(archive) == []
    record = archive.catalog.record(f"{DOSSIER}-KQ1")
    assert record is not None and record.metadata_version == 1
    if storage_url is None:
        assert temporaries(data / "objects") == []


@pytest.mark.slow
@pytest.mark.parametrize("fault", RECORD_POINTS + LOCAL_POINTS)
def test_every_crash_point_is_completed_by_the_next_run_local(tmp_path, fault):
    _crash_then_complete(tmp_path, fault, None)


@pytest.mark.slow
@pytest.mark.servers
@pytest.mark.parametrize("fault", RECORD_POINTS)
def test_every_crash_point_is_completed_by_the_next_run_seaweedfs(tmp_path, fault, seaweedfs_endpoint):
    from storage_fixtures import new_bucket

    _crash_then_complete(tmp_path, fault, seaweedfs_endpoint.url(new_bucket()))


def test_the_sidecar_crash_of_issue_12_no_longer_blocks_the_file(tmp_path):
    """SIGKILL between publishing metadata.json and its sidecar used to give exit 6 forever."""
    _crash_then_complete(tmp_path, "local.linked@metadata.json", None)
