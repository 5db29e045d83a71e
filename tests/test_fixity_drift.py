"""Fixity that sees drift (issue #12): catalog and storage compared both ways, `--repair` where the
stored metadata wins, scheduled slices that cover the archive, an unreachable store as an error —
on the local store and on SeaweedFS, records made by the real ingest with the null OCR engine."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from sohoa.archive import catalog_write, fixity
from sohoa.archive.backends import Archive, open_archive
from sohoa.archive.catalog import FixityRun, Record, StoredObjectRow
from sohoa.core.errors import ExitCode
from sohoa.core.records import ObjectInfo, RecordMetadata
from sohoa.core.settings import Settings
from sohoa.ingest.runner import IngestFields, ingest_file
from sohoa.ocr.pipeline import OcrOptions
from sohoa.testkit import scans

from conftest import run_sohoa
from storage_fixtures import new_bucket
from workers_fixtures import cluster_factory, wait_for  # noqa: F401  (pytest fixtures)

AGENCY = "000.00.12.H36"
DOSSIER = f"{AGENCY}-240115-0001"
OTHER_DOSSIER = f"{AGENCY}-240701-0002"
OWNER = "001204012345"


@pytest.fixture(scope="module")
def scan_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("scans")
    return [Path(scans.save_image(scans.make_scan("clean", seed=300 + i), folder / f"giay-{i}.png", "png"))
            for i in range(7)]


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.servers)])
def environ(request, tmp_path) -> dict:
    """`sohoa`'s environment: a fresh data dir, the null OCR engine, the chosen store."""
    env = dict(os.environ, SOHOA_DATA_DIR=str(tmp_path / "data"), SOHOA_JOBS="1", SOHOA_OCR_ENGINE="null")
    env.pop("SOHOA_STORAGE_URL", None)
    env.pop("SOHOA_DATABASE_URL", None)
    if request.param == "s3":
        env["SOHOA_STORAGE_URL"] = request.getfixturevalue("seaweedfs_endpoint").url(new_bucket())
    return env


def settings_of(environ: dict) -> Settings:
    return Settings.from_env(environ)


def make_records(environ: dict, files: list[Path], kind: str = "component") -> tuple[Archive, list[str]]:
    settings = settings_of(environ)
    archive = open_archive(settings)
    ids = []
    for n, path in enumerate(files):
        fields = IngestFields(agency=AGENCY, dossier=DOSSIER, owner_id=OWNER, kind=kind,
                              title=f"Giấy xác nhận {n}", retention="06").validated()
        result = ingest_file(path, fields, archive, OcrOptions.from_settings(settings, jobs=1), agent="test")
        assert result.status == "stored", result
        ids.append(result.record_id)
    return archive, ids


def actions(archive: Archive, record_id: str) -> list[str]:
    return [event.action for event in archive.catalog.events_of(record_id)]


def test_one_line_escapes_control_characters():
    assert fixity.one_line("a\nb\x1bc\u202ed") == "a\\nb\\x1bc\\u202ed"
    assert len(fixity.one_line("x" * 1000)) == 300


def test_drift_both_ways_and_disagreeing_fields_then_repair_then_clean(environ, scan_files, tmp_path):
    archive, (kept, uncatalogued, changed, intact) = make_records(environ, scan_files[:4])
    # 1. A stored record the catalog lost (the SIGKILL case of the issue: storage 34, catalog 33).
    with archive.catalog.session() as session, session.begin():
        session.execute(delete(StoredObjectRow).where(StoredObjectRow.record_id == uncatalogued))
        session.execute(delete(Record).where(Record.id == uncatalogued))
    # 2. A catalog row whose folder is gone: catalogued from metadata that never reached storage.
    ghost_meta = RecordMetadata(record_id="R" + "ab" * 12, record_code=f"{AGENCY}-TP-ABABABABAB", agency_code=AGENCY,
                                dossier_code=DOSSIER, original_sha256="ab" * 32, original_size=3)
    catalog_write.add_record(archive.catalog, ghost_meta, {"original": ObjectInfo(
        key=f"{AGENCY}/2024/01/{ghost_meta.record_id}/original", sha256="ab" * 32, size=3)}, [])
    ghost = ghost_meta.record_id
    # 3. Disagreeing fields: the catalog says result KQ9 of another dossier, another owner (with a newline).
    with archive.catalog.session() as session, session.begin():
        session.execute(update(Record).where(Record.id == changed).values(
            code=f"{OTHER_DOSSIER}-KQ9", dossier_code=OTHER_DOSSIER, kind="result", owner_id="0791\n99",
            metadata_version=3))

    report = fixity.check(archive)
    found = {(p.record_id, p.problem) for p in report.problems}
    assert found == {(uncatalogued, "not-in-catalog"), (ghost, "not-in-storage"), (changed, "field")}
    assert report.records == 5 and not report.ok
    for problem in report.problems:
        assert "\n" not in problem.reason and "\x1b" not in problem.reason
    field_reason = next(p.reason for p in report.problems if p.problem == "field")
    for name in ("code", "dossier_code", "kind", "owner_id"):
        assert f"{name}: catalog" in field_reason
    assert "0791\\n99" in field_reason and "agency_code" not in field_reason
    assert "metadata version: catalog 3, storage 1" in field_reason

    # The command: exit 16, --json lists the same findings, each with a one-line reason.
    proc = run_sohoa("fixity", "--json", env=environ)
    assert proc.returncode == ExitCode.FIXITY_FAILED, proc.stdout + proc.stderr
    listed = json.loads(proc.stdout)
    assert {(p["record_id"], p["problem"]) for p in listed["problems"]} == found
    text = run_sohoa("fixity", env=environ)
    assert text.returncode == ExitCode.FIXITY_FAILED
    assert "3 problems" in text.stdout and "not-in-catalog" in text.stdout and "\x1b" not in text.stdout

    proc = run_sohoa("fixity", "--repair", "--json", env=environ)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    repaired = json.loads(proc.stdout)
    assert repaired["repaired"] == 3 and all(p["repaired"] for p in repaired["problems"])

    # Stored metadata won: the row is back, the fields say what storage says, the ghost is gone.
    assert archive.catalog.record(uncatalogued) is not None
    back = archive.catalog.record(changed)
    assert (back.code, back.dossier_code, back.kind, back.owner_id, back.metadata_version) == (
        f"{AGENCY}-TP-{back.original_sha256[:10].upper()}", DOSSIER, "component", OWNER, 1)
    assert archive.catalog.record(ghost) is None
    for record_id in (uncatalogued, changed, ghost):
        assert "fixity-repaired" in actions(archive, record_id)
    # ... and in storage too, where the record exists (rebuild-catalog brings the events back).
    proc = run_sohoa("show", changed, "--json", env=environ)
    assert "fixity-repaired" in [e["action"] for e in json.loads(proc.stdout)["events"]]
    assert "ingested" in actions(archive, uncatalogued)  # its stored events came back with it

    proc = run_sohoa("fixity", env=environ)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 problems" in proc.stdout
    last = run_sohoa("fixity", "--last", "--json", env=environ)
    assert last.returncode == 0 and json.loads(last.stdout)["status"] == "ok"


def test_hash_problems_are_still_found_and_not_repaired(request, environ, scan_files):
    import io
    from urllib.parse import urlparse

    archive, (record_id,) = make_records(environ, scan_files[4:5])
    row = archive.catalog.record(record_id)
    text_key = next(o.key for o in row.objects if o.name == "text.txt")
    if environ.get("SOHOA_STORAGE_URL"):  # a new version written behind sohoa's back
        bucket = urlparse(environ["SOHOA_STORAGE_URL"]).path.strip("/")
        request.getfixturevalue("seaweedfs_endpoint").client().put_object(bucket, text_key, io.BytesIO(b"gia mao\n"), 8)
    else:
        path = Path(environ["SOHOA_DATA_DIR"]) / "objects" / text_key
        path.chmod(0o644)
        path.write_bytes(b"gia mao\n")
    proc = run_sohoa("fixity", "--repair", "--json", env=environ)
    assert proc.returncode == ExitCode.FIXITY_FAILED
    problems = json.loads(proc.stdout)["problems"]
    assert [(p["key"], p["problem"], p["repaired"]) for p in problems] == [(text_key, "altered", False)]


def test_an_unreachable_local_store_is_an_error_not_everything_missing(tmp_path, scan_files):
    environ = dict(os.environ, SOHOA_DATA_DIR=str(tmp_path / "data"), SOHOA_JOBS="1", SOHOA_OCR_ENGINE="null")
    environ.pop("SOHOA_STORAGE_URL", None)
    environ.pop("SOHOA_DATABASE_URL", None)
    archive, ids = make_records(environ, scan_files[:2])
    objects = Path(environ["SOHOA_DATA_DIR"]) / "objects"
    objects.rename(tmp_path / "unmounted")  # the disk is gone, not the records
    for args in (("fixity",), ("fixity", "--repair")):
        proc = run_sohoa(*args, env=environ)
        assert proc.returncode == ExitCode.OUTPUT_ERROR, proc.stdout + proc.stderr
        assert proc.stderr.count("\n") == 1 and "fixity checked nothing" in proc.stderr, proc.stderr
    assert all(archive.catalog.record(i) is not None for i in ids)  # nothing dropped
    last = fixity.last_run(archive)
    assert last is not None and last.status == "error" and "fixity checked nothing" in last.error


@pytest.mark.servers
def test_an_unreachable_s3_store_is_an_error_not_everything_missing(tmp_path, scan_files, seaweedfs_endpoint):
    import socket

    environ = dict(os.environ, SOHOA_DATA_DIR=str(tmp_path / "data"), SOHOA_JOBS="1", SOHOA_OCR_ENGINE="null",
                   SOHOA_STORAGE_URL=seaweedfs_endpoint.url(new_bucket()))
    environ.pop("SOHOA_DATABASE_URL", None)
    archive, ids = make_records(environ, scan_files[:1])
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environ["SOHOA_STORAGE_URL"] = f"s3://key:secret1234@127.0.0.1:{port}/records?secure=false"
    proc = run_sohoa("fixity", "--repair", env=environ, timeout=300)
    assert proc.returncode == ExitCode.OUTPUT_ERROR, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert archive.catalog.record(ids[0]) is not None


def test_slices_cover_every_record_within_n_runs(tmp_path, scan_files):
    environ = dict(os.environ, SOHOA_DATA_DIR=str(tmp_path / "data"), SOHOA_JOBS="1", SOHOA_OCR_ENGINE="null")
    environ.pop("SOHOA_STORAGE_URL", None)
    environ.pop("SOHOA_DATABASE_URL", None)
    archive, ids = make_records(environ, scan_files)  # 7 records
    # One more, in storage only: a slice must see that side too.
    with archive.catalog.session() as session, session.begin():
        session.execute(delete(StoredObjectRow).where(StoredObjectRow.record_id == ids[3]))
        session.execute(delete(Record).where(Record.id == ids[3]))
    slices = 3
    seen: list[str] = []
    reports = []
    for _ in range(slices):
        before = {i: actions(archive, i).count("fixity-checked") for i in ids}
        reports.append(fixity.run_slice(archive, slices))
        seen += [i for i in ids if actions(archive, i).count("fixity-checked") > before[i]]
    assert sorted(seen) == sorted(ids)  # every record once, none twice, in 3 runs
    assert [r.records for r in reports] == [3, 3, 1]
    assert [(p.record_id, p.problem) for r in reports for p in r.problems] == [(ids[3], "not-in-catalog")]
    assert reports[-1].cursor == ""  # the next pass starts again from the first record
    again = fixity.run_slice(archive, slices)
    assert again.records == 3 and again.cursor == sorted(ids)[2]
    last = fixity.last_run(archive)
    assert (last.kind, last.checked, last.total) == ("slice", 3, 7)


def test_a_period_is_run_by_one_process_only(tmp_path, scan_files):
    from sohoa.workers import schedule

    environ = dict(os.environ, SOHOA_DATA_DIR=str(tmp_path / "data"), SOHOA_OCR_ENGINE="null",
                   SOHOA_FIXITY_INTERVAL="3600")
    environ.pop("SOHOA_STORAGE_URL", None)
    environ.pop("SOHOA_DATABASE_URL", None)
    archive, ids = make_records(environ, scan_files[:2])
    settings = settings_of(environ)
    assert settings.fixity_interval == 3600 and Settings().fixity_interval == 604800
    first = schedule.run_due(archive, settings)
    assert first is not None and first.records == 1  # 2 records, 168 slices: one per slice
    assert schedule.run_due(archive, settings) is None  # the same period: already taken
    with archive.catalog.session() as session:
        runs = session.query(FixityRun).all()
    assert [(r.kind, r.status, r.checked) for r in runs] == [("slice", "ok", 1)]


def scheduled_archive(tmp_path, scan_files) -> tuple[Archive, list[str], Settings]:
    """7 records, the default interval (a week of 168 hourly periods)."""
    environ = dict(os.environ, SOHOA_DATA_DIR=str(tmp_path / "data"), SOHOA_OCR_ENGINE="null")
    for name in ("SOHOA_STORAGE_URL", "SOHOA_DATABASE_URL", "SOHOA_FIXITY_INTERVAL"):
        environ.pop(name, None)
    archive, ids = make_records(environ, scan_files)
    return archive, ids, settings_of(environ)


def checked_counts(archive: Archive, ids: list[str]) -> dict[str, int]:
    return {i: actions(archive, i).count("fixity-checked") for i in ids}


def test_missed_periods_are_caught_up_within_the_interval(tmp_path, scan_files):
    """A PC on for 4 hours of the week (the clock injected, no sleeping): every record is still
    checked within each interval, once."""
    from datetime import datetime, timedelta, timezone

    from sohoa.workers import schedule

    archive, ids, settings = scheduled_archive(tmp_path, scan_files)
    hour = timedelta(seconds=schedule.period_seconds(settings))
    assert hour == timedelta(hours=1)
    t0 = datetime(2030, 1, 7, tzinfo=timezone.utc) + timedelta(minutes=5)
    reports = [schedule.run_due(archive, settings, now=t0 + period * hour) for period in (0, 1, 100, 167)]
    # 1 of 7 a period while on time; in the last period of the week, the 4 not yet checked.
    assert [r.records for r in reports] == [1, 1, 1, 4] and reports[-1].cursor == ""
    assert checked_counts(archive, ids) == {i: 1 for i in ids}
    # The next pass starts with the next run (period 170) and is due a week later (by 337 included).
    reports = [schedule.run_due(archive, settings, now=t0 + period * hour) for period in (170, 171, 337)]
    assert [r.records for r in reports] == [1, 1, 5]
    assert checked_counts(archive, ids) == {i: 2 for i in ids}
    with archive.catalog.session() as session:
        runs = session.query(FixityRun).filter(FixityRun.kind == "slice").all()
    assert all(r.status == "ok" and r.checked <= 1 for r in runs)  # a catch-up is bounded runs
    assert sorted(r.slot for r in runs if r.slot is not None) == \
        [schedule.current_slot(settings, t0 + p * hour) for p in (0, 1, 100, 167, 170, 171, 337)]


def test_a_run_after_a_long_downtime_checks_the_rest_of_the_pass_once(tmp_path, scan_files):
    from datetime import datetime, timedelta, timezone

    from sohoa.workers import schedule

    archive, ids, settings = scheduled_archive(tmp_path, scan_files)
    hour = timedelta(seconds=schedule.period_seconds(settings))
    t0 = datetime(2030, 1, 7, tzinfo=timezone.utc) + timedelta(minutes=5)
    assert schedule.run_due(archive, settings, now=t0).records == 1
    back = t0 + 10 * timedelta(seconds=settings.fixity_interval) + 3 * hour  # off for ten weeks
    caught = schedule.run_due(archive, settings, now=back)
    assert (caught.records, caught.cursor) == (6, "")  # the rest of the pass, not ten passes
    assert checked_counts(archive, ids) == {i: 1 for i in ids}
    assert schedule.run_due(archive, settings, now=back) is None  # the same period: taken
    # The next period starts a new pass, at the even pace again.
    assert schedule.run_due(archive, settings, now=back + hour).records == 1
    assert sum(checked_counts(archive, ids).values()) == 8
    # A slice still running (started less than a period ago) holds the next period back; one
    # started longer ago is a dead process's and does not.
    running = fixity.start_slice(archive, started=back + 2 * hour)
    assert schedule.run_due(archive, settings, now=back + 2 * hour + hour / 2) is None
    assert schedule.run_due(archive, settings, now=back + 3 * hour + hour / 2).records == 1
    with archive.catalog.session() as session:
        assert session.get(FixityRun, running).status == "running"


def test_the_supervisor_tend_runs_the_due_slice(tmp_path, scan_files):
    """The embedded system: the hot folder's loop calls tend; tend ticks the schedule."""
    from sohoa.workers.schedule import FixitySchedule
    from sohoa.workers.supervisor import Supervisor

    environ = dict(os.environ, SOHOA_DATA_DIR=str(tmp_path / "data"), SOHOA_OCR_ENGINE="null",
                   SOHOA_FIXITY_INTERVAL="168")  # a slice a second
    environ.pop("SOHOA_STORAGE_URL", None)
    environ.pop("SOHOA_DATABASE_URL", None)
    archive, ids = make_records(environ, scan_files[:1])
    settings = settings_of(environ)
    supervisor = Supervisor(archive, lambda item_id: None, settings, fixity=FixitySchedule(archive, settings))
    supervisor.tend()
    supervisor.fixity._thread.join(60)
    last = fixity.last_run(archive)
    assert last is not None and (last.kind, last.status, last.checked) == ("slice", "ok", 1)
    assert "fixity-checked" in actions(archive, ids[0])


def test_celery_beat_sends_the_fixity_slice_to_the_archive_queue(tmp_path):
    from sohoa.workers.app import create_app

    app = create_app(Settings(data_dir=tmp_path, fixity_interval=604800))
    entry = app.conf.beat_schedule["sohoa-fixity-slice"]
    assert entry["task"] == "sohoa.fixity_slice" and entry["options"]["queue"] == "archive"
    assert entry["schedule"] == pytest.approx(3600.0)
    app.loader.import_default_modules()
    assert "sohoa.fixity_slice" in app.tasks


def test_the_admin_sees_the_last_run_and_an_official_does_not(tmp_path, scan_files):
    from web_fixtures import add_users, login, make_app
    from fastapi.testclient import TestClient

    data = tmp_path / "data"
    environ = dict(os.environ, SOHOA_DATA_DIR=str(data), SOHOA_OCR_ENGINE="null")
    environ.pop("SOHOA_STORAGE_URL", None)
    environ.pop("SOHOA_DATABASE_URL", None)
    archive, ids = make_records(environ, scan_files[:2])
    with archive.catalog.session() as session, session.begin():
        session.execute(update(Record).where(Record.id == ids[1]).values(dossier_code=OTHER_DOSSIER))
    report = fixity.check(archive)
    assert [p.problem for p in report.problems] == ["field"]
    run = fixity.last_run(archive)

    app = make_app(data)
    add_users(app.state.sohoa.catalog)
    with TestClient(app, raise_server_exceptions=False) as admin:
        login(admin, "quantri")
        assert 'href="/quan-tri/toan-ven"' in admin.get("/quan-tri").text
        shown = admin.get("/quan-tri/toan-ven")
        assert shown.status_code == 200
        html = shown.text
        assert "Kiểm tra toàn vẹn" in html and "Danh mục và siêu dữ liệu lưu trữ không khớp" in html
        assert "2 / 2" in html and ids[1] in html and OTHER_DOSSIER in html
        # The time is Vietnam's (+07:00), as everywhere in the web app.
        from datetime import timedelta, timezone

        started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=timezone.utc)
        assert f"{started.astimezone(timezone(timedelta(hours=7))):%d/%m/%Y %H:%M:%S}" in html
    with TestClient(app, raise_server_exceptions=False) as official:
        login(official, "canbo")
        refused = official.get("/quan-tri/toan-ven")
        assert refused.status_code == 403 and OTHER_DOSSIER not in refused.text


def test_a_worker_with_beat_runs_scheduled_slices(cluster_factory, scan_files):
    """Production: `sohoa worker --beat` (a real worker process) sends and runs sohoa.fixity_slice."""
    import signal
    import subprocess
    import sys

    cluster = cluster_factory(fixity_interval="168", ocr_engine="null")  # a slice a second
    archive, ids = make_records(cluster.env, scan_files[:2])
    log = open(cluster.data_dir / "worker-beat.log", "ab")
    worker = subprocess.Popen([sys.executable, "-m", "sohoa", "worker", "--beat", "-Q", "archive", "-c", "1",
                               "-n", "beat@%h", "--loglevel", "INFO"], env=cluster.env, stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    cluster.workers.append(worker)  # stopped by the fixture
    try:
        def covered() -> bool:
            return all("fixity-checked" in actions(archive, i) for i in ids)

        wait_for(covered, 120, "scheduled slices over both records", cluster=cluster)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    with archive.catalog.session() as session:
        runs = session.query(FixityRun).filter(FixityRun.kind == "slice", FixityRun.status == "ok").all()
    assert len(runs) >= 2 and len({r.slot for r in runs}) == len(runs)
