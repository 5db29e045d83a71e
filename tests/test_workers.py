"""The distributed pipeline with real parts: redis-server, `sohoa worker` processes, SeaweedFS, Tesseract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sohoa.archive.backends import open_archive
from sohoa.core.settings import Settings
from sohoa.search.backends import open_configured_index
from sohoa.search.model import SearchQuery
from sohoa.testkit.bad_inputs import write_bad_inputs
from sohoa.testkit.s3server import SeaweedFS
from sohoa.workers import jobs

from workers_fixtures import (  # noqa: F401  (pytest fixtures)
    AGENCY, DOSSIER, cluster_factory, redis_url, wait_for, write_scans, write_tiff,
)


def archive_of(cluster):
    return open_archive(Settings.from_env(cluster.env))


def record_folders(archive) -> list[str]:
    return [k for k in archive.store.list() if k.endswith("/metadata.json") and "/events/" not in k]


@pytest.mark.slow
def test_hot_folder_takes_good_files_and_quarantines_bad_ones(cluster_factory, redis_url):
    cluster = cluster_factory(redis_url)
    inbox = cluster.data_dir / "inbox"
    dossier_dir = inbox / AGENCY / DOSSIER
    good = write_scans(dossier_dir, 18, seed=600)
    good.append(write_tiff(dossier_dir / "nhieu trang.tif", 3, seed=640))
    (dossier_dir / "dossier.json").write_text(json.dumps({"procedure": "1.001234", "doc_type": "GKS"}))
    agency_only = write_scans(inbox / AGENCY, 1, seed=650)[0]
    bad = write_bad_inputs(cluster.data_dir / "bad")
    dropped_bad = {}
    for name in ("zero_byte", "truncated_pdf", "encrypted_pdf", "not_a_document"):
        target = dossier_dir / bad[name].name
        bad[name].rename(target)
        dropped_bad[name] = target
    no_agency = write_scans(inbox, 1, seed=660)[0]  # not under an agency folder
    wrong_code = write_scans(inbox / "000.00.12.H36" / "not-a-dossier", 1, seed=670)[0]

    cluster.start_worker("a", concurrency=2)
    done = cluster.sohoa("watch", "--once", "--poll", "0.5", timeout=900)
    assert done.returncode == 0, done.stderr

    left = [p for p in inbox.rglob("*") if p.is_file() and p.name != "dossier.json"]
    assert left == []
    for path in good + [agency_only]:
        moved = cluster.data_dir / "done" / path.relative_to(inbox)
        assert moved.is_file(), f"{path.name} not in done/"
    for name, path in dropped_bad.items():
        moved = cluster.data_dir / "quarantine" / path.relative_to(inbox)
        assert moved.is_file(), f"{name} not in quarantine/"
        error = moved.with_name(moved.name + ".error.txt").read_text(encoding="utf-8")
        assert "Lý do:" in error and "Reason:" in error and "sohoa-cache" not in error
    encrypted_error = (cluster.data_dir / "quarantine" / dropped_bad["encrypted_pdf"].relative_to(inbox))
    assert "mật khẩu" in encrypted_error.with_name(encrypted_error.name + ".error.txt").read_text(encoding="utf-8")
    for path in (no_agency, wrong_code):
        moved = cluster.data_dir / "quarantine" / path.relative_to(inbox)
        assert moved.is_file()
        assert "Mã cơ quan" in moved.with_name(moved.name + ".error.txt").read_text(encoding="utf-8")

    archive = archive_of(cluster)
    items = jobs.items(archive.catalog, "watch")
    stored = [i for i in items if i.status == jobs.STORED]
    assert len(stored) == len(good) + 1
    assert all(i.settled for i in items)
    assert len(record_folders(archive)) == len(good) + 1
    tiff = next(i for i in stored if i.path.endswith("nhieu trang.tif"))
    record = archive.catalog.record(tiff.record_id)
    assert record.page_count == 3 and record.dossier_code == DOSSIER
    assert record.procedure_code == "1.001234" and record.doc_type_code == "GKS"  # from dossier.json
    assert list(archive.store.list("staging/")) == []  # staged copies are cleared once items end

    # Searchable: the index task ran on the index queue.
    index = open_configured_index(Settings.from_env(cluster.env))
    wait_for(lambda: index.count() == len(good) + 1, 60, "every stored record to be indexed")
    assert index.search(SearchQuery(dossier_code=DOSSIER)).total == len(good)


@pytest.mark.slow
def test_a_multi_page_file_fans_out_over_two_workers_and_comes_back_in_order(cluster_factory, redis_url):
    cluster = cluster_factory(redis_url, pages_per_task="1")
    source = cluster.data_dir / "src" / AGENCY / DOSSIER
    tiff = write_tiff(source / "ho-so.tif", 6, seed=700)
    cluster.start_worker("a")
    cluster.start_worker("b")
    result = cluster.sohoa("batch", str(cluster.data_dir / "src"), "--job", "fanout", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["stored"] == 1
    for name in ("a", "b"):  # both workers recognised pages of the one file
        assert "sohoa.ocr_pages" in cluster.log(name) and "succeeded" in cluster.log(name)
    archive = archive_of(cluster)
    item = jobs.items(archive.catalog, "fanout")[0]
    record = archive.catalog.record(item.record_id)
    text = archive.store.get(f"{record.prefix}/text.txt").decode("utf-8").split("\f")
    assert record.page_count == 6 and len(text) == 6
    from rapidfuzz.fuzz import ratio

    from sohoa.testkit.degrade import make_scan

    truths = [make_scan("gray200_jpeg", seed=seed).text for seed in range(700, 706)]
    for n, page in enumerate(text):  # each page is most like its own ground truth: input order kept
        scores = [ratio(page, truth) for truth in truths]
        assert scores.index(max(scores)) == n, (n, scores)
    assert tiff.exists()  # a batch never moves or deletes its sources


@pytest.mark.slow
def test_sigkill_of_a_worker_mid_batch_loses_nothing_and_stores_nothing_twice(cluster_factory, redis_url):
    cluster = cluster_factory(redis_url, visibility_timeout="8", stuck_seconds="240")
    source = cluster.data_dir / "src" / AGENCY
    files = write_scans(source, 8, seed=800) + [write_tiff(source / "dai.tif", 4, seed=820)]
    first = cluster.start_worker("first", concurrency=2)
    batch = cluster.popen("batch", str(cluster.data_dir / "src"), "--job", "kill9", "--json", "--no-local-worker")
    archive = archive_of(cluster)

    def some_done_some_running() -> bool:
        counts = jobs.counts(archive.catalog, "kill9")
        return counts.get("stored", 0) >= 2 and counts.get("running", 0) + counts.get("queued", 0) >= 2

    wait_for(some_done_some_running, 300, "a batch half done", cluster=cluster)
    cluster.kill(first)  # parent and pool processes, mid-task
    cluster.start_worker("second", concurrency=2)
    out, err = batch.communicate(timeout=600)
    assert batch.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["stored"] == len(files) and summary["files"] == len(files)

    items = jobs.items(archive.catalog, "kill9")
    assert sorted(Path(i.path).name for i in items) == sorted(p.name for p in files)
    assert {i.status for i in items} == {jobs.STORED}
    with archive.catalog.session() as session:
        from sqlalchemy import func, select

        from sohoa.archive.catalog import Record

        assert session.scalar(select(func.count()).select_from(Record)) == len(files)
    assert len(record_folders(archive)) == len(files)  # no half-written second copy of any record
    assert "fixity" not in out  # the summary line only
    fixity = cluster.sohoa("fixity")
    assert fixity.returncode == 0, fixity.stdout + fixity.stderr


@pytest.mark.slow
def test_batch_survives_a_storage_outage(cluster_factory, redis_url, tmp_path):
    server = SeaweedFS(tmp_path / "weed")
    endpoint = server.start()
    try:
        cluster = cluster_factory(redis_url, storage_url=endpoint.url("sohoa-outage"), task_retries="12")
        source = cluster.data_dir / "src" / AGENCY
        files = write_scans(source, 6, seed=900)
        cluster.start_worker("a", concurrency=2)
        batch = cluster.popen("batch", str(cluster.data_dir / "src"), "--job", "outage", "--json",
                              "--no-local-worker")
        archive = archive_of(cluster)
        wait_for(lambda: jobs.counts(archive.catalog, "outage").get("stored", 0) >= 1, 300, "a first record",
                 cluster=cluster)
        server.stop()
        import time

        time.sleep(12)  # tasks fail against the dead server and back off meanwhile
        assert jobs.counts(archive.catalog, "outage").get("stored", 0) < len(files)
        server.start()
        out, err = batch.communicate(timeout=600)
        assert batch.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1])["stored"] == len(files)
        assert len(record_folders(archive)) == len(files)
        assert "retry" in cluster.log("a").lower()
    finally:
        server.stop()


@pytest.mark.slow
def test_embedded_broker_batch_is_resumable(cluster_factory, tmp_path):
    cluster = cluster_factory(None)  # no SOHOA_BROKER_URL: files under DATA/broker, a local worker
    source = tmp_path / "back-file"
    files = write_scans(source / "chung-thuc", 3, seed=950)
    manifest = source / "manifest.csv"
    manifest.write_text(
        "path,agency,dossier,procedure,kind,doc_type,owner_id,title,issued_on,retention\n"
        f"chung-thuc/{files[0].name},{AGENCY},{DOSSIER},1.001,component,GKS,001203012345,Giấy khai sinh,2020-05-01,01\n"
        f"chung-thuc/{files[1].name},{AGENCY},,,component,CCCD,,Căn cước,2021-01-02,06\n"
        f"chung-thuc/missing.jpg,{AGENCY},,,component,,,,,06\n"
        f"../outside.jpg,{AGENCY},,,component,,,,,06\n"
        f"chung-thuc/{files[2].name},000.00.12,,,component,,,,,06\n",
        encoding="utf-8")
    first = cluster.sohoa("batch", str(source), "--manifest", str(manifest), "--job", "lo-1", "--json")
    assert first.returncode == 0, first.stderr
    assert "line 4: chung-thuc/missing.jpg: no such file" in first.stderr
    assert "line 5: path '../outside.jpg' is not inside" in first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["stored"] == 2 and summary["quarantined"] == 1  # the bad agency code on line 6
    report = json.loads(Path(summary["report_json"]).read_text(encoding="utf-8"))
    assert {row["status"] for row in report["items"]} == {"stored", "quarantined"}
    assert Path(summary["report_csv"]).read_text(encoding="utf-8").startswith("path,status,record_id")
    archive = archive_of(cluster)
    stored = [i for i in jobs.items(archive.catalog, "lo-1") if i.status == jobs.STORED]
    meta = archive.catalog.record(next(i.record_id for i in stored if i.path.endswith(files[0].name)))
    assert meta.owner_id == "001203012345" and meta.retention_code == "01" and meta.title == "Giấy khai sinh"

    again = cluster.sohoa("batch", str(source), "--manifest", str(manifest), "--job", "lo-1", "--json",
                          "--no-local-worker")  # nothing left to do: no worker needed
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.strip().splitlines()[-1])["stored"] == 2
    assert len(record_folders(archive)) == 2
    listed = cluster.sohoa("jobs")
    assert "lo-1" in listed.stdout and "stored 2" in listed.stdout
    shown = cluster.sohoa("jobs", "show", "lo-1", "--json")
    assert len(json.loads(shown.stdout)["items"]) == 3
    missing = cluster.sohoa("jobs", "show", "khong-co")
    assert missing.returncode == 17 and missing.stderr.count("\n") == 1


@pytest.mark.slow
def test_a_restarted_watcher_picks_up_where_it_left_off(cluster_factory, redis_url):
    cluster = cluster_factory(redis_url)
    inbox = cluster.data_dir / "inbox"
    files = write_scans(inbox / AGENCY / DOSSIER, 3, seed=1100)
    archive = archive_of(cluster)
    first = cluster.popen("watch", "--poll", "0.3")  # no worker yet: files are submitted, none can end
    wait_for(lambda: len(jobs.items(archive.catalog, "watch")) == len(files), 120, "the files submitted")
    first.kill()
    first.wait(timeout=30)
    assert all(p.exists() for p in files)  # nothing moved before a record exists

    cluster.start_worker("a", concurrency=2)
    done = cluster.sohoa("watch", "--once", "--poll", "0.3")
    assert done.returncode == 0, done.stderr
    items = jobs.items(archive.catalog, "watch")
    assert len(items) == len(files) and {i.status for i in items} == {jobs.STORED}
    assert all(i.attempts == 1 for i in items)  # the restart sent nothing twice
    assert all((cluster.data_dir / "done" / p.relative_to(inbox)).is_file() for p in files)
    assert len(record_folders(archive)) == len(files)
