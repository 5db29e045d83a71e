"""The hot folder's one-page path on the embedded default (issue #17): a file dropped into the inbox
is handed over once stable, stored in one attempt and indexed, in that order, read from the recorded
timestamps (the job item's `submitted_at`, taken once the file was stable, and the record's
`indexed` event). How fast is the benchmark's business (`make bench --only workers`: "hot folder,
stable → searchable"), not this test's: a loaded machine must not make it fail.

Real parts: `sohoa watch` and `sohoa worker` processes on the embedded file broker, the SQLite catalog
and index; the null OCR engine, so the time measured is the pipeline's own (hops, polling, storage)."""

from __future__ import annotations

from datetime import timedelta

from sohoa.archive.backends import open_archive
from sohoa.core.settings import Settings
from sohoa.testkit import scans
from sohoa.workers import jobs

from workers_fixtures import AGENCY, DOSSIER, cluster_factory, wait_for  # noqa: F401  (pytest fixture)

def test_a_one_page_file_is_handed_over_stored_once_then_searchable(cluster_factory, tmp_path):
    cluster = cluster_factory(None, ocr_engine="null", stable_seconds="0.5")
    worker = cluster.start_worker("nhanh", concurrency=2)
    wait_for(lambda: " ready." in cluster.log("nhanh"), 180, "the worker to start", cluster=cluster)
    watcher = cluster.popen("watch")
    try:
        # A 200 dpi office scan: the page's own processing is small beside the pipeline's hops.
        scan = scans.make_scan("gray200_jpeg", 7300)
        dropped = cluster.data_dir / "inbox" / AGENCY / DOSSIER / "giay-xac-nhan.jpg"
        dropped.parent.mkdir(parents=True)
        partial = dropped.with_name("giay-xac-nhan.jpg.part")  # ignored until renamed, as scanners do
        scans.save_image(scan, partial, "jpeg")
        partial.rename(dropped)
        done = cluster.data_dir / "done" / AGENCY / DOSSIER / "giay-xac-nhan.jpg"
        wait_for(done.is_file, 120, "the file to reach done/", interval=0.2, cluster=cluster)
    finally:
        watcher.terminate()
        watcher.communicate(timeout=60)
    assert worker.poll() is None

    archive = open_archive(Settings.from_env(cluster.env))
    (item,) = jobs.items(archive.catalog, "watch")
    assert item.status == jobs.STORED and item.attempts == 1
    events = {e.action: e.at for e in archive.catalog.events_of(item.record_id)}
    assert "indexed" in events, sorted(events)
    # Events are recorded to the second: the index wrote it before the end of that second.
    indexed_by = events["indexed"] + timedelta(seconds=1)
    assert item.submitted_at < item.finished_at < indexed_by  # handed over, stored, then indexed
