"""`sohoa batch` on the embedded default (issue #17): each file sent once, searchable when the command
returns, progress that never goes backwards, and nothing of Celery's own output in the user's terminal.

Real parts: the real command, its own `sohoa worker` on the embedded file broker, the SQLite catalog and
index. The null OCR engine keeps it quick (the speed itself is measured by `make bench --only workers`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sohoa.core.settings import Settings
from sohoa.search.backends import open_configured_index
from sohoa.testkit import scans
from sohoa.workers import jobs
from sohoa.workers.batch import Progress, expected_pages

from workers_fixtures import AGENCY, cluster_factory  # noqa: F401  (pytest fixture)

LINE = re.compile(r"^(?P<job>\S+): (?P<ended>\d+)/(?P<files>\d+) files, (?P<done>\d+)/(?P<pages>\d+) pages, "
                  r"(?P<rate>\d+) pages/min, ETA (?P<eta>\S+( min)?), (?P<quarantined>\d+) quarantined$")


def _mixed_folder(folder: Path) -> int:
    """Four files of every kind an office scans, five pages in all; returns the page count."""
    folder.mkdir(parents=True)
    scans.save_image(scans.make_scan("gray200_jpeg", 7100), folder / "cong-van-den.jpg", "jpeg")
    scans.save_image(scans.make_scan("clean", 7101), folder / "to-trinh.png", "png")
    scans.save_multipage_tiff([scans.make_scan("photocopy_g4", 7102 + n) for n in range(2)],
                              folder / "ban-sao-chung-thuc.tif", "group4")
    scans.save_image_pdf([scans.make_scan("clean", 7104)], folder / "quyet-dinh.pdf")
    return 5


def test_batch_sends_each_file_once_ends_searchable_and_keeps_celery_out_of_the_terminal(cluster_factory,
                                                                                           tmp_path):
    cluster = cluster_factory(None, ocr_engine="null", jobs="2")  # no broker: the embedded default
    pages = _mixed_folder(tmp_path / "ho-so-cu" / AGENCY)

    done = cluster.sohoa("batch", str(tmp_path / "ho-so-cu"), "--job", "nhanh")

    assert done.returncode == 0, done.stderr
    shown = done.stdout + done.stderr
    for celery_text in ("celery@", "[queues]", "SecurityWarning", "superuser", "Warm shutdown"):
        assert celery_text not in shown, f"{celery_text!r} reached the terminal:\n{shown}"
    worker_log = (cluster.data_dir / "logs" / "worker.log").read_text(errors="replace")
    assert "[queues]" in worker_log  # Celery's banner went to the log file instead

    lines = [LINE.match(line) for line in done.stderr.splitlines() if line.startswith("nhanh: ")]
    assert lines and all(lines), done.stderr
    ended = [int(m["ended"]) for m in lines]
    done_pages = [int(m["done"]) for m in lines]
    assert ended == sorted(ended) and done_pages == sorted(done_pages), done.stderr
    assert (lines[-1]["ended"], lines[-1]["files"], lines[-1]["done"], lines[-1]["pages"]) == ("4", "4", "5", "5")
    assert f"4 stored, 0 duplicate, 0 quarantined of 4 files, {pages} pages" in done.stdout

    report = json.loads((cluster.data_dir / "jobs" / "nhanh" / "report.json").read_text(encoding="utf-8"))
    assert [row["attempts"] for row in report["items"]] == [1, 1, 1, 1]  # nobody sent a file twice
    settings = Settings.from_env(cluster.env)
    assert open_configured_index(settings).count() == 4  # searchable when the command returned


def test_progress_never_shows_less_than_it_showed_before():
    progress = Progress("lo-2024", 3)
    first = progress.line({"files": 3, "pages": 6, "pages_done": 5, jobs.STORED: 1, jobs.RUNNING: 2})
    # A file whose worker died is sent again: the catalog counts its pages from zero.
    again = progress.line({"files": 3, "pages": 6, "pages_done": 2, jobs.STORED: 1, jobs.QUEUED: 2})
    last = progress.line({"files": 3, "pages": 6, "pages_done": 6, jobs.STORED: 3})
    assert first.startswith("1/3 files, 5/6 pages")
    assert again.startswith("1/3 files, 5/6 pages")
    assert last.startswith("3/3 files, 6/6 pages") and "ETA -" in last


def test_the_eta_counts_the_files_not_opened_yet_at_the_average_of_the_others():
    opened_two = {"files": 4, "pages": 6, "pages_done": 3, "files_counted": 2, jobs.RUNNING: 2, jobs.QUEUED: 2}
    assert expected_pages(opened_two) == 12  # two files of 3 pages on average, two more to open
    assert expected_pages({"files": 4, "pages": 0, "pages_done": 0, "files_counted": 0}) == 0
    assert expected_pages({"files": 2, "pages": 5, "pages_done": 5, "files_counted": 2}) == 5
