"""Archive end to end through the real `sohoa` command, on the local store and on a real S3 server."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import bagit
import pikepdf
import pytest

from sohoa.archive.stores import open_store
from sohoa.core.errors import ExitCode
from sohoa.testkit import scans

from conftest import run_sohoa
from storage_fixtures import new_bucket

# Every test goes through `sohoa ingest` in a subprocess, Tesseract on each scan (make test-fast leaves it out).
pytestmark = pytest.mark.ocr

AGENCY = "000.00.12.H36"
DOSSIER = "000.00.12.H36-240115-0001"
OWNER = "001204012345"


@pytest.fixture(scope="module")
def scan_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("scans")
    return [Path(scans.save_image(scans.make_scan("gray200_jpeg", seed=70 + i), folder / f"giay-{i}.jpg", "jpeg"))
            for i in range(3)]


@pytest.fixture(scope="module", params=["local", pytest.param("s3", marks=pytest.mark.servers)])
def env(request, tmp_path_factory):
    """Environment for `sohoa` with a fresh data dir and the chosen object store."""
    data = tmp_path_factory.mktemp(f"data-{request.param}")
    environ = dict(os.environ, SOHOA_DATA_DIR=str(data), SOHOA_JOBS="1")
    if request.param == "s3":
        endpoint = request.getfixturevalue("seaweedfs_endpoint")
        environ["SOHOA_STORAGE_URL"] = endpoint.url(new_bucket())
    return environ


def sohoa(env, *args):
    return run_sohoa(*args, env=env)


def ingest(env, path, *extra):
    proc = sohoa(env, "ingest", path, "--agency", AGENCY, "--owner-id", OWNER, "--json", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def show(env, record_id):
    proc = sohoa(env, "show", record_id, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def store_of(env):
    url = env.get("SOHOA_STORAGE_URL") or (Path(env["SOHOA_DATA_DIR"]).resolve() / "objects").as_uri()
    return open_store(url)


@pytest.fixture(scope="module")
def stored(env, scan_files):
    """Three records: two components of a dossier the registry does not know yet, one result."""
    first = ingest(env, scan_files[0], "--dossier", DOSSIER, "--title", "Giấy khai sinh", "--doc-type", "GKS")
    second = ingest(env, scan_files[1], "--dossier", DOSSIER, "--kind", "result", "--retention", "01")
    third = ingest(env, scan_files[2], "--dossier", DOSSIER, "--kind", "result")
    return first, second, third


def test_ingest_stores_a_record_with_codes(env, stored):
    first, second, third = stored
    assert first["status"] == "stored" and first["record_id"].startswith("R")
    assert first["code"].startswith(f"{AGENCY}-TP-")
    assert (second["code"], third["code"]) == (f"{DOSSIER}-KQ1", f"{DOSSIER}-KQ2")


def test_same_bytes_give_the_existing_record(env, stored, scan_files):
    again = ingest(env, scan_files[0])
    assert again["status"] == "duplicate" and again["record_id"] == stored[0]["record_id"]


def test_record_folder_is_self_describing_and_verified(env, stored, scan_files):
    document = show(env, stored[0]["record_id"])
    objects = document["objects"]
    assert set(objects) == {"original", "pdfa.pdf", "text.txt", "words.json", "events.jsonl", "extracted.json",
                            "metadata.json"}
    rid = stored[0]["record_id"]  # the folder is a function of the content alone (issue #12)
    assert objects["original"]["key"] == f"records/{rid[1:3]}/{rid}/original"
    store = store_of(env)
    assert store.get(objects["original"]["key"]) == scan_files[0].read_bytes()
    for info in objects.values():
        assert store.sha256_of(info["key"]) == info["sha256"] == store.stat(info["key"]).sha256
    metadata = json.loads(store.get(objects["metadata.json"]["key"]))
    assert metadata["record"]["schema_version"] == 1
    assert metadata["record"]["title"] == "Giấy khai sinh" and metadata["record"]["owner_id"] == OWNER
    assert metadata["objects"]["pdfa.pdf"]["sha256"] == objects["pdfa.pdf"]["sha256"]
    assert metadata["objects"]["extracted.json"]["sha256"] == objects["extracted.json"]["sha256"]
    actions = [json.loads(line)["action"] for line in store.get(objects["events.jsonl"]["key"]).splitlines()]
    assert actions == ["ingested", "ocr", "validated", "extracted", "stored"]
    assert [e["action"] for e in document["events"]][:5] == actions


def test_unknown_dossier_is_kept_for_later_linking(env, stored):
    """The registry has not sent the dossier: the records keep its code, and the ratios join them
    to the registry row by that code once it arrives (the archive writes no dossier row itself)."""
    with sqlite3.connect(Path(env["SOHOA_DATA_DIR"]) / "catalog.db") as db:
        rows = db.execute("select agency_code from records where dossier_code = ?", (DOSSIER,)).fetchall()
        registry = db.execute("select count(*) from dossiers where code = ?", (DOSSIER,)).fetchone()
    assert rows and {agency for agency, in rows} == {AGENCY} and registry == (0,)


def test_get_verifies_and_returns_the_bytes(env, stored, scan_files, tmp_path):
    record_id = stored[0]["record_id"]
    proc = sohoa(env, "get", record_id, "--out", tmp_path / "orig.jpg", "--original")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "orig.jpg").read_bytes() == scan_files[0].read_bytes()
    assert sohoa(env, "get", stored[1]["code"], "--out", tmp_path / "kq.pdf").returncode == 0
    with pikepdf.open(tmp_path / "kq.pdf") as pdf:
        assert pdf.open_metadata()["pdfaid:part"] == "2"
    missing = sohoa(env, "show", "R000000")
    assert missing.returncode == ExitCode.NOT_FOUND and "Traceback" not in missing.stderr


def test_retention_refuses_early_delete(env, stored):
    store = store_of(env)
    from sohoa.archive.storage import RetentionError

    for record in stored[:2]:  # retention 06 (10 years) and 01 (permanent: legal hold)
        key = show(env, record["record_id"])["objects"]["original"]["key"]
        with pytest.raises(RetentionError):
            store.delete(key)
        assert store.exists(key)


def test_bagit_export_of_a_dossier_validates(env, stored, tmp_path):
    out = tmp_path / "bag"
    proc = sohoa(env, "export", "--dossier", DOSSIER, "--out", out)
    assert proc.returncode == 0, proc.stderr
    bag = bagit.Bag(str(out))
    bag.validate()
    assert "sha256" in bag.algorithms
    assert stored[1]["code"] in bag.info["External-Identifier"]
    assert (out / "data" / stored[0]["code"] / "original").exists()


def test_fixity_passes_then_rebuild_restores_the_catalog(env, stored):
    proc = sohoa(env, "fixity", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["records"] == 3 and report["objects"] == 3 * 7 and report["problems"] == []
    before = {r["record_id"]: show(env, r["record_id"]) for r in stored}
    catalog = Path(env["SOHOA_DATA_DIR"]) / "catalog.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(catalog) + suffix).unlink(missing_ok=True)
    proc = sohoa(env, "rebuild-catalog")
    assert proc.returncode == 0 and "3 records restored" in proc.stdout, proc.stdout + proc.stderr
    for record_id, document in before.items():
        after = show(env, record_id)
        assert after["metadata"] == document["metadata"]
        assert after["objects"] == document["objects"]
        # The fixity events written as objects came back too.
        assert "fixity-checked" in [e["action"] for e in after["events"]]


def test_invalid_codes_are_refused_before_any_work(env, scan_files):
    proc = sohoa(env, "ingest", scan_files[0], "--dossier", "000.00.12.H36-241399-0001")
    assert proc.returncode == ExitCode.INVALID_CODE
    assert proc.stderr.count("\n") == 1 and "not a date" in proc.stderr
    proc = sohoa(env, "ingest", scan_files[0], "--owner-id", "12345")
    assert proc.returncode == ExitCode.INVALID_CODE and "CCCD" in proc.stderr


def test_bad_input_is_not_stored(env, tmp_path):
    bad = tmp_path / "empty.pdf"
    bad.write_bytes(b"")
    proc = sohoa(env, "ingest", bad, "--json")
    assert proc.returncode == ExitCode.INPUT_EMPTY
    assert json.loads(proc.stdout)["status"] == "quarantined"


def test_fixity_detects_altered_and_missing_objects_on_disk(tmp_path, scan_files):
    data = tmp_path / "data"
    environ = dict(os.environ, SOHOA_DATA_DIR=str(data), SOHOA_JOBS="1")
    record = ingest(environ, scan_files[0])
    objects = show(environ, record["record_id"])["objects"]
    root = data / "objects"
    altered = root / objects["text.txt"]["key"]
    altered.chmod(0o644)
    altered.write_bytes(altered.read_bytes().replace(b"a", b"o", 1))  # behind sohoa's back
    (root / objects["words.json"]["key"]).unlink()
    proc = sohoa(environ, "fixity", "--json")
    assert proc.returncode == ExitCode.FIXITY_FAILED
    problems = {p["key"]: p["problem"] for p in json.loads(proc.stdout)["problems"]}
    assert problems == {objects["text.txt"]["key"]: "altered", objects["words.json"]["key"]: "missing"}
    events = show(environ, record["record_id"])["events"]
    assert events[-1]["action"] == "fixity-checked" and events[-1]["outcome"] == "failure"


def test_fixity_detects_a_new_version_written_behind_sohoas_back_on_s3(tmp_path, scan_files, seaweedfs_endpoint):
    import io

    bucket = new_bucket()
    environ = dict(os.environ, SOHOA_DATA_DIR=str(tmp_path / "data"), SOHOA_JOBS="1",
                   SOHOA_STORAGE_URL=seaweedfs_endpoint.url(bucket))
    record = ingest(environ, scan_files[1])
    key = show(environ, record["record_id"])["objects"]["text.txt"]["key"]
    forged = b"van ban gia mao\n"
    seaweedfs_endpoint.client().put_object(bucket, key, io.BytesIO(forged), len(forged))
    proc = sohoa(environ, "fixity", "--json")
    assert proc.returncode == ExitCode.FIXITY_FAILED
    assert [(p["key"], p["problem"]) for p in json.loads(proc.stdout)["problems"]] == [(key, "altered")]


def test_unreachable_storage_is_a_clear_error_and_nothing_is_catalogued(tmp_path, scan_files):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environ = dict(os.environ, SOHOA_DATA_DIR=str(tmp_path / "data"), SOHOA_JOBS="1",
                   SOHOA_STORAGE_URL=f"s3://key:secret1234@127.0.0.1:{port}/records?secure=false")
    proc = sohoa(environ, "ingest", scan_files[2])
    assert proc.returncode == ExitCode.OUTPUT_ERROR, proc.stderr
    assert proc.stderr.count("\n") == 1 and "unreachable" in proc.stderr and "secret1234" not in proc.stderr
    with sqlite3.connect(tmp_path / "data" / "catalog.db") as db:
        assert db.execute("select count(*) from records").fetchone() == (0,)


def test_retry_after_an_interrupted_ingest_completes_the_record(tmp_path, scan_files):
    """An earlier attempt died after writing some objects (no metadata.json): the retry adopts them."""
    import hashlib

    from sohoa.archive.backends import open_archive
    from sohoa.archive.records import record_prefix
    from sohoa.core.records import RecordMetadata, record_id_for
    from sohoa.core.settings import Settings
    from sohoa.ingest.runner import IngestFields, Stored, ingest_file
    from sohoa.ocr.pipeline import OcrOptions

    archive = open_archive(Settings(data_dir=tmp_path / "data"))
    source = scan_files[2]
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    probe = RecordMetadata(record_id=record_id_for(sha), record_code="x", original_sha256=sha,
                           original_size=source.stat().st_size)
    prefix = record_prefix(probe)
    archive.store.put(f"{prefix}/original", source.read_bytes())
    archive.store.put(f"{prefix}/text.txt", b"ket qua lan truoc\n")  # a different, older text
    assert not archive.store.exists(f"{prefix}/metadata.json")

    result = ingest_file(source, IngestFields().validated(), archive, OcrOptions(jobs=1))
    assert isinstance(result, Stored) and result.record_id == probe.record_id
    record = archive.catalog.record(result.record_id)
    stored = {o.name: o for o in record.objects}
    assert stored["text.txt"].sha256 == archive.store.sha256_of(f"{prefix}/text.txt")
    assert archive.store.exists(f"{prefix}/metadata.json")
