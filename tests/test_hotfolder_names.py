"""The hot folder never stops (issue #12, item 6): every kind of bad entry is dropped into a real inbox.

Undecodable bytes, newline and ESC in names are quarantined with the raw name escaped in the error
file and the job list; very long names are taken; FIFOs, sockets, device nodes and folders named like
documents are skipped with one warning (a FIFO is never opened); one entry whose handling keeps
failing is quarantined; the good files still go through. Once in-process (a supervisor whose send is
a list's append), once end to end with `sohoa watch --once` and a real worker.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import stat
import threading
from pathlib import Path

import pytest

from sohoa.archive.backends import open_archive
from sohoa.core.settings import Settings
from sohoa.workers import jobs
from sohoa.workers.hotfolder import FAILURES_MAX, Folders, HotFolder, escaped
from sohoa.workers.supervisor import Supervisor

from workers_fixtures import AGENCY, DOSSIER, cluster_factory, write_scans  # noqa: F401

UNDECODABLE = b"b\xe1o-c\xe1o.jpg"  # a cp1258 name from an old Windows share
LONG = ("Giấy chứng nhận quyền sử dụng đất " * 5).rstrip() + " số 1.jpg"  # 255 bytes: NAME_MAX, no room for " (2).error.txt"
CONTROL = {chr(c) for c in range(32)} | {"\x7f"}


def _bad_inbox(inbox: Path, seed: int) -> dict[str, Path]:
    """Good scans and every kind of bad entry, in inbox/<agency>/<dossier>/."""
    folder = inbox / AGENCY / DOSSIER
    good, other, long_source = write_scans(folder, 3, seed=seed)
    long_name = long_source.rename(folder / LONG)
    copy = lambda target: shutil.copyfile(other, target)  # noqa: E731
    undecodable = os.path.join(os.fsencode(folder), UNDECODABLE)
    copy(undecodable)
    copy(folder / "dòng\nmới.jpg")
    copy(folder / "\x1b[31mđỏ.jpg")
    bad_dir = os.path.join(os.fsencode(inbox / AGENCY), b"h\xf4-s\xf4")  # an undecodable folder name
    os.mkdir(bad_dir)
    copy(os.path.join(bad_dir, b"giay.jpg"))
    os.mkfifo(folder / "ong.pdf")
    listener = socket.socket(socket.AF_UNIX)
    here = os.getcwd()
    os.chdir(folder)  # a socket path must be short: bind it relative to its folder
    try:
        listener.bind("o-cam.pdf")
    finally:
        os.chdir(here)
    (folder / "thu-muc.pdf").mkdir()
    try:
        os.mknod(folder / "thiet-bi.pdf", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pass  # not root: the other special files still cover "never open what is not a file"
    other.unlink()
    return {"good": good, "long": long_name, "socket": listener}


def _supervisor(tmp_path: Path, sent: list[int]) -> Supervisor:
    config = Settings.from_env({"SOHOA_DATA_DIR": str(tmp_path / "data")})
    return Supervisor(open_archive(config), lambda item_id, *queue: sent.append(item_id), config)


def _scan_with_deadline(hot: HotFolder, seconds: float = 120) -> None:
    """A blocked open() of the FIFO would hang here: fail instead of hanging the test run."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            hot.scan()
        except BaseException as error:  # noqa: BLE001 - reported below
            failure.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the scan blocked (a FIFO was opened?)"
    assert not failure, failure


def test_every_bad_entry_is_quarantined_or_skipped_and_the_good_files_go_through(tmp_path, caplog):
    sent: list[int] = []
    supervisor = _supervisor(tmp_path, sent)
    folders = Folders.under(tmp_path / "data")
    made = _bad_inbox(folders.inbox, seed=1200)
    hot = HotFolder(supervisor, folders, stable_seconds=0)
    with caplog.at_level(logging.WARNING, logger="sohoa.watch"):
        for _ in range(3):
            _scan_with_deadline(hot)
    made["socket"].close()

    items = jobs.items(supervisor.archive.catalog, "watch")
    taken = {Path(i.path).name for i in items if i.status == jobs.QUEUED}
    assert taken == {made["good"].name, LONG} and len(sent) == 2  # the good files reached the workers

    quarantine = folders.quarantine / AGENCY
    errors = sorted(quarantine.rglob("*.error.txt"))
    texts = "\n".join(p.read_text(encoding="utf-8") for p in errors)
    assert len(errors) == 4, [p.name for p in errors]
    for raw in ("b\\xe1o-c\\xe1o.jpg", "dòng\\nmới.jpg", "\\x1b[31mđỏ.jpg", "h\\xf4-s\\xf4/giay.jpg"):
        assert raw in texts, raw
    assert "không hợp lệ" in texts and "not valid UTF-8" in texts and "control characters" in texts
    for path in quarantine.rglob("*"):  # what is kept has clean names
        assert not CONTROL & set(path.name) and path.name.encode("utf-8")
    quarantined = [i for i in items if i.status == jobs.QUARANTINED]
    assert len(quarantined) == 4 and all(i.settled for i in quarantined)
    assert all(not CONTROL & set(i.path) and i.path.isprintable() for i in quarantined)

    left = sorted(p.name for p in (folders.inbox / AGENCY / DOSSIER).iterdir())
    assert {"ong.pdf", "o-cam.pdf", "thu-muc.pdf"} <= set(left)  # skipped, never moved or opened
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("ong.pdf: not a regular file (FIFO)" in m for m in warnings) == 1  # once, not every pass
    assert sum("o-cam.pdf: not a regular file (socket)" in m for m in warnings) == 1
    assert sum("thu-muc.pdf: a folder named like a document" in m for m in warnings) == 1
    assert all(not CONTROL & set(m) for m in warnings), warnings
    assert hot.pending() == [p for p in hot.pending() if p.name in (made["good"].name, LONG)]


def test_an_entry_that_keeps_failing_is_quarantined_and_the_loop_goes_on(tmp_path, monkeypatch):
    sent: list[int] = []
    supervisor = _supervisor(tmp_path, sent)
    folders = Folders.under(tmp_path / "data")
    good, cursed = write_scans(folders.inbox / AGENCY / DOSSIER, 2, seed=1210)
    real_submit = supervisor.submit

    def submit(job, path, *args, **kwargs):  # a fault in our own code for this one file only
        if path == cursed:
            raise RuntimeError("boom\nsecond line")
        return real_submit(job, path, *args, **kwargs)

    monkeypatch.setattr(supervisor, "submit", submit)
    hot = HotFolder(supervisor, folders, stable_seconds=0)
    for _ in range(FAILURES_MAX):
        hot.scan()
    assert [Path(i.path).name for i in jobs.items(supervisor.archive.catalog, "watch")] == [good.name]
    error = next((folders.quarantine / AGENCY / DOSSIER).glob("*.error.txt")).read_text(encoding="utf-8")
    assert f"failed {FAILURES_MAX} times" in error and "boom\\nsecond line" in error
    assert [p.name for p in hot.pending()] == [good.name]


def test_escaped_names_are_one_printable_line():
    assert escaped(os.fsdecode(UNDECODABLE)) == "b\\xe1o-c\\xe1o.jpg"
    assert escaped("a\nb\x1bc\td") == "a\\nb\\x1bc\\td"
    assert escaped("Giấy tờ.pdf") == "Giấy tờ.pdf"


@pytest.mark.slow
def test_sohoa_watch_once_ends_0_with_a_real_worker(cluster_factory):
    cluster = cluster_factory(ocr_engine="null")
    inbox = cluster.data_dir / "inbox"
    made = _bad_inbox(inbox, seed=1220)
    cluster.start_worker("names")
    try:
        done = cluster.sohoa("watch", "--once", "--poll", "0.5", timeout=600)
    finally:
        made["socket"].close()
    assert done.returncode == 0, done.stderr[-3000:]
    assert not CONTROL - {"\n"} & set(done.stderr) and "Traceback" not in done.stderr
    stored = cluster.data_dir / "done" / AGENCY / DOSSIER
    assert (stored / made["good"].name).exists()
    assert any(p.name.startswith("Giấy chứng nhận") and len(p.name.encode()) <= 200 for p in stored.iterdir())
    assert len(list((cluster.data_dir / "quarantine").rglob("*.error.txt"))) == 4
    for line in done.stderr.splitlines():
        assert line.isprintable(), line
