"""Hot-folder rules (paths, sidecars, stability, error files), the supervisor's attempt limit, and
`sohoa run` end to end with the embedded broker."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from sohoa.archive.backends import open_archive
from sohoa.core.errors import ExitCode
from sohoa.core.settings import Settings
from sohoa.ingest import pipeline
from sohoa.ingest.base import Quarantined
from sohoa.workers import jobs
from sohoa.workers.batch import check_job_name, default_job_name
from sohoa.workers.hotfolder import Folders, HotFolder, candidates, clean_part, destination, error_text, fields_for
from sohoa.workers.supervisor import Supervisor
from sohoa.workers.tasks import page_ranges

from workers_fixtures import AGENCY, DOSSIER, redis_url, wait_for, write_scans  # noqa: F401


def test_fields_come_from_folders_then_dossier_json_then_the_file_sidecar(tmp_path):
    inbox = tmp_path / "inbox"
    folder = inbox / AGENCY / DOSSIER
    folder.mkdir(parents=True)
    scan = folder / "giay.jpg"
    scan.write_bytes(b"x")
    (folder / "dossier.json").write_text(json.dumps({"procedure": "1.0001", "title": "Hồ sơ chung"}))
    (folder / "giay.jpg.json").write_text(json.dumps({"title": "Giấy khai sinh", "kind": "result"}),
                                          encoding="utf-8")
    fields, problem = fields_for(inbox, scan)
    assert problem is None
    assert fields == {"agency": AGENCY, "dossier": DOSSIER, "procedure": "1.0001", "title": "Giấy khai sinh",
                      "kind": "result"}


@pytest.mark.parametrize("relative, expected", [
    ("giay.jpg", "the agency is unknown"),
    ("000.00.12/giay.jpg", "invalid agency code"),
    (f"{AGENCY}/ho-so-cu/giay.jpg", "invalid dossier code"),
])
def test_bad_folder_codes_are_a_problem_not_a_crash(tmp_path, relative, expected):
    inbox = tmp_path / "inbox"
    path = inbox / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    assert expected in _problem(inbox, path)


def _problem(inbox: Path, path: Path) -> str:
    """What quarantines a hot-folder file before any work: reading its fields, then the validate stage."""
    fields, problem = fields_for(inbox, path)
    if problem is not None:
        return problem
    checked = pipeline.validate(fields, path)
    assert isinstance(checked, Quarantined), checked
    return checked.reason


def test_bad_sidecars_are_reported(tmp_path):
    inbox = tmp_path / "inbox"
    folder = inbox / AGENCY
    folder.mkdir(parents=True)
    scan = folder / "a.png"
    scan.write_bytes(b"x")
    (folder / "a.png.json").write_text("{not json")
    assert "not a readable JSON object" in _problem(inbox, scan)
    (folder / "a.png.json").write_text(json.dumps({"colour": "red"}))
    assert "unknown field 'colour'" in _problem(inbox, scan)
    (folder / "a.png.json").write_text(json.dumps({"issued_on": "15/01/2024"}))
    assert "not a date" in _problem(inbox, scan)


def test_inbox_names_are_normalised_and_never_escape(tmp_path):
    folders = Folders.under(tmp_path / "data")
    decomposed = unicodedata.normalize("NFD", "Giấy tờ")
    assert clean_part(decomposed) == "Giấy tờ"
    assert clean_part("a\x07b") == "a\ufffdb"
    assert clean_part(b"bad\xff".decode("utf-8", "surrogateescape")) == "bad\ufffd"
    path = folders.inbox / AGENCY / f"{decomposed}.pdf"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")
    target = destination(folders, path, folders.done)
    assert target == folders.done / AGENCY / "Giấy tờ.pdf"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"earlier")
    assert destination(folders, path, folders.done).name == "Giấy tờ (2).pdf"  # never over another file


def test_candidates_skip_hidden_partial_sidecar_files_and_do_not_follow_links(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / AGENCY / ".hidden").mkdir(parents=True)
    for name in ("a.pdf", ".b.pdf", "~$c.pdf", "d.pdf.part", "e.pdf.json", "f.tmp", "dossier.json"):
        (inbox / AGENCY / name).write_bytes(b"x")
    (inbox / AGENCY / ".hidden" / "g.pdf").write_bytes(b"x")
    outside = tmp_path / "outside"
    (outside / "secret").mkdir(parents=True)
    (outside / "secret" / "h.pdf").write_bytes(b"x")
    (inbox / AGENCY / "link").symlink_to(outside / "secret", target_is_directory=True)
    assert [p.name for p in candidates(inbox)] == ["a.pdf"]


def test_error_files_speak_vietnamese_and_english():
    item = jobs.JobItem(path="/x/hong.pdf", sha256="ab" * 32, size=1, fields={}, status=jobs.QUARANTINED,
                        reason="hong.pdf: truncated PDF", exit_code=int(ExitCode.DAMAGED))
    text = error_text(item)
    assert "Lý do: Tệp bị hỏng, không đọc được." in text
    assert "Reason:" in text and "Detail: hong.pdf: truncated PDF" in text


def test_page_ranges_cover_every_page_once_in_order():
    assert page_ranges(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert page_ranges(1, 4) == [(0, 1)]
    assert [p for a, b in page_ranges(200, 4) for p in range(a, b)] == list(range(200))


def test_job_names(tmp_path):
    assert check_job_name("lo-2024.01_a") == "lo-2024.01_a"
    with pytest.raises(Exception, match="invalid job name"):
        check_job_name("../x")
    name = default_job_name(tmp_path / "Hồ sơ 2019")
    assert check_job_name(name) == name and default_job_name(tmp_path / "Hồ sơ 2019") == name


def _supervisor(tmp_path: Path, sent: list[int] | None = None, **settings: str) -> Supervisor:
    """A supervisor whose `send` only notes the item ids: no broker, no worker."""
    env = {"SOHOA_DATA_DIR": str(tmp_path / "data"), **{f"SOHOA_{k.upper()}": v for k, v in settings.items()}}
    config = Settings.from_env(env)
    record = (sent if sent is not None else []).append
    return Supervisor(open_archive(config), lambda item_id, queue: record(item_id), config)


def test_a_file_that_keeps_failing_is_quarantined_after_max_attempts(tmp_path):
    sent: list[int] = []
    supervisor = _supervisor(tmp_path, sent, max_attempts="2")
    scan = write_scans(tmp_path / "in", 1, seed=990)[0]
    item = supervisor.submit("thu", scan, {"agency": AGENCY})
    assert item.status == jobs.QUEUED and list(supervisor.archive.store.list("staging/"))
    assert sent == [item.id]
    catalog = supervisor.archive.catalog
    for attempt in (1, 2):  # what two crashed runs leave behind (no worker runs in this test)
        jobs.start_attempt(catalog, item.id)
        jobs.mark_failed(catalog, item.id, "sohoa.ocr_pages: WorkerLostError: killed")
        supervisor.tend()
        status = jobs.get(catalog, item.id).status
        assert status == (jobs.QUEUED if attempt == 1 else jobs.QUARANTINED)
    assert sent == [item.id, item.id]  # sent again once, then given up
    ended = jobs.get(catalog, item.id)
    assert "failed 2 times" in ended.reason and "WorkerLostError" in ended.reason
    assert list(supervisor.archive.store.list("staging/")) == []


def test_a_lost_file_with_nothing_left_is_quarantined_not_waited_for(tmp_path):
    supervisor = _supervisor(tmp_path)
    scan = write_scans(tmp_path / "in", 1, seed=991)[0]
    item = supervisor.submit("thu", scan, {"agency": AGENCY})
    from sohoa.workers import staging

    staging.clear(supervisor.archive.store, item.sha256)
    scan.unlink()
    jobs.mark_failed(supervisor.archive.catalog, item.id, "lost")
    supervisor.tend()
    ended = jobs.get(supervisor.archive.catalog, item.id)
    assert ended.status == jobs.QUARANTINED and "neither staged nor at its source" in ended.reason


def test_unstable_files_wait(tmp_path):
    sent: list[int] = []
    supervisor = _supervisor(tmp_path, sent)
    folders = Folders.under(tmp_path / "data")
    hot = HotFolder(supervisor, folders, stable_seconds=30)
    write_scans(folders.inbox / AGENCY, 1, seed=992)
    hot.scan()
    hot.scan()
    assert jobs.items(supervisor.archive.catalog, "watch") == []  # still "being copied"
    assert sent == []


@pytest.mark.slow
def test_sohoa_run_takes_a_dropped_file_and_stops_cleanly(tmp_path, null_ocr):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_DATA_DIR=str(tmp_path / "data"), SOHOA_STABLE_SECONDS="0.5", SOHOA_JOBS="2",
               SOHOA_OCR_ENGINE=null_ocr)  # the workflow is under test here, not the OCR
    process = subprocess.Popen([sys.executable, "-m", "sohoa", "run", "--no-web"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        scan = write_scans(tmp_path / "data" / "inbox" / AGENCY / DOSSIER, 1, seed=993)[0]
        done = tmp_path / "data" / "done" / AGENCY / DOSSIER / scan.name
        wait_for(lambda: done.exists() or process.poll() is not None, 300, "the file in done/")
        assert done.exists(), process.communicate(timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    assert "sohoa is running" in out and f"hot folder     {(tmp_path / 'data' / 'inbox').resolve()}" in out
    assert "Traceback" not in err
    archive = open_archive(Settings.from_env(env))
    assert archive.catalog.record_by_sha(jobs.items(archive.catalog, "watch")[0].sha256) is not None


@pytest.mark.parametrize("sidecar, refused", [
    ({}, None),
    ({"dossier": DOSSIER}, None),
    ({"dossier": "000.00.13.H36-240115-0009"}, "dossier 000.00.13.H36-240115-0009"),
    ({"agency": "000.00.13.H36"}, "agency 000.00.13.H36"),
], ids=["own-agency", "own-dossier", "other-agencys-dossier", "other-agency"])
def test_a_sidecar_cannot_file_a_paper_under_another_agency(tmp_path, sidecar, refused):
    """Issue #13: a sidecar naming another agency's dossier would count in that agency's ratios."""
    sent: list[int] = []
    supervisor = _supervisor(tmp_path, sent)
    folders = Folders.under(tmp_path / "data")
    scan = write_scans(folders.inbox / AGENCY, 1, seed=995)[0]
    scan.with_name(scan.name + ".json").write_text(json.dumps(sidecar), encoding="utf-8")
    hot = HotFolder(supervisor, folders, stable_seconds=0)
    hot.scan()
    hot.scan()
    [item] = jobs.items(supervisor.archive.catalog, "watch")
    if refused is None:
        assert item.status == jobs.QUEUED and sent == [item.id]
        return
    assert item.status == jobs.QUARANTINED and item.exit_code == ExitCode.REFUSED and sent == []
    assert refused in item.reason and f"not within {AGENCY}" in item.reason
    error = next(folders.quarantine.rglob("*.error.txt")).read_text(encoding="utf-8")
    assert "không thuộc đơn vị của thư mục" in error
