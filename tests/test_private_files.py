"""Private by default (issue #12, item 8): whatever the caller's umask, the data directory and
everything sohoa creates in it are readable by its own user only (folders 0700, files 0600/0400)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sohoa.core import private

from conftest import run_sohoa
from workers_fixtures import AGENCY, DOSSIER, cluster_factory, write_scans  # noqa: F401


def _open_to_others(root: Path) -> list[str]:
    """Every path under `root` (itself included) that group or others may read, write or enter."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode) or stat.S_ISSOCK(mode):
            continue
        if mode & 0o077:
            found.append(f"{oct(mode & 0o777)} {path.relative_to(root.parent)}")
    return found


@pytest.fixture
def loose_umask():
    """The caller's umask is the usual 022 (files 0644, folders 0755 unless we say otherwise)."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_sohoa_ingest_under_umask_022_leaves_nothing_readable_by_others(tmp_path, loose_umask):
    data = tmp_path / "data"
    scan = write_scans(tmp_path / "in", 1, seed=1300)[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_DATA_DIR=str(data), SOHOA_OCR_ENGINE="null", SOHOA_JOBS="1")
    done = run_sohoa("ingest", scan, "--agency", AGENCY, "--dossier", DOSSIER, "--owner-id", "001204012345",
                     "--doc-type", "GKS", "--title", "Giấy khai sinh", env=env)
    assert done.returncode == 0, done.stderr
    assert (data / "catalog.db").exists() and (data / "search.db").exists()
    assert any((data / "objects").rglob("pdfa.pdf"))
    assert _open_to_others(data) == []
    for name in ("catalog.db", "search.db"):
        assert stat.S_IMODE(os.stat(data / name).st_mode) == 0o600
    fixity = run_sohoa("fixity", env=env)  # private objects are still readable by sohoa itself
    assert fixity.returncode == 0, fixity.stdout + fixity.stderr


def test_sohoa_watch_once_under_umask_022_leaves_nothing_readable_by_others(cluster_factory, loose_umask):
    cluster = cluster_factory(ocr_engine="null")
    os.chmod(cluster.data_dir, 0o700)  # the fixture made it; everything below is sohoa's doing
    first = cluster.sohoa("watch", "--once", timeout=120)  # an empty start creates the folders
    assert first.returncode == 0, first.stderr
    assert _open_to_others(cluster.data_dir) == []
    for name in ("inbox", "done", "quarantine", "catalog.db", "objects"):
        assert (cluster.data_dir / name).exists(), name
    # staff drop files (their folders and files 0755/0644 under this umask: theirs, not ours)
    scans = write_scans(cluster.data_dir / "inbox" / AGENCY / DOSSIER, 2, seed=1310)
    (scans[1].parent / "hong.pdf").write_bytes(b"%PDF-1.4 truncated")  # one for quarantine/ too
    theirs = set(_open_to_others(cluster.data_dir))
    cluster.start_worker("private")
    done = cluster.sohoa("watch", "--once", "--poll", "0.5", timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (cluster.data_dir / "done" / AGENCY / DOSSIER / scans[0].name).exists()
    assert list((cluster.data_dir / "quarantine").rglob("hong.pdf.error.txt"))
    cluster.stop()
    # what is left open is the staff's own inbox folders; what sohoa moved out of them became private
    problems = [p for p in _open_to_others(cluster.data_dir)
                if p not in theirs and not p.endswith(".log")]  # the test's own worker log
    assert problems == []
    left = {p.split(" ", 1)[1] for p in _open_to_others(cluster.data_dir)}
    assert left <= {"data/inbox", f"data/inbox/{AGENCY}", f"data/inbox/{AGENCY}/{DOSSIER}",
                    "data/worker-private.log"}, left


def test_private_helpers_set_modes_whatever_the_umask(tmp_path, loose_umask):
    folder = private.make_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o700 == stat.S_IMODE(os.stat(folder).st_mode)
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o775)
    private.make_dir(shared)
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o755  # an existing folder is the admin's choice
    db = tmp_path / "a" / "x.db"
    private.prepare_sqlite(db)
    import sqlite3

    connection = sqlite3.connect(db)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x)")
    connection.execute("INSERT INTO t VALUES (1)")
    connection.commit()
    for name in ("x.db", "x.db-wal", "x.db-shm"):
        assert stat.S_IMODE(os.stat(tmp_path / "a" / name).st_mode) == 0o600, name
    connection.close()
    loose = tmp_path / "loose.txt"
    loose.write_text("x")
    os.chmod(loose, 0o444)
    private.make_private(loose)
    assert stat.S_IMODE(os.stat(loose).st_mode) == 0o400
