"""The one pipeline: stages declared once, two runners that agree, staged data that is JSON, not pickle.

The shared runner suite feeds the same inputs to the in-process runner
(`ingest/runner.py`) and to the distributed one (real Redis, a real
`sohoa worker` process) and requires the same records — metadata, codes, text —
and the same quarantine reasons.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sohoa.archive.backends import open_archive
from sohoa.archive.storage import ObjectExists
from sohoa.core.errors import ExitCode
from sohoa.core.settings import Settings
from sohoa.ingest import pipeline
from sohoa.ingest.base import Duplicate, Quarantined, Stored
from sohoa.ingest.policy import IngestFields
from sohoa.ingest.runner import ingest_file
from sohoa.ocr.engines import NullEngine, factory
from sohoa.ocr.pipeline import OcrOptions
from sohoa.testkit import engines as test_engines
from sohoa.testkit.bad_inputs import write_bad_inputs
from sohoa.workers import jobs, staging
from sohoa.workers.supervisor import Supervisor

from workers_fixtures import AGENCY, DOSSIER, cluster_factory, redis_url, wait_for, write_scans, write_tiff  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ declared once


def test_the_stages_are_declared_once_in_the_order_data_flows():
    tree = ast.parse((ROOT / "ingest" / "pipeline.py").read_text(encoding="utf-8"))
    defined = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert [name for name in defined if name in pipeline.STAGES] == list(pipeline.STAGES)


def test_the_runners_hold_no_stage_logic_of_their_own():
    """Only ingest/pipeline.py calls the OCR engine, the record writer and the catalog writer."""
    for runner in (ROOT / "ingest" / "runner.py", ROOT / "workers" / "tasks.py"):
        source = runner.read_text(encoding="utf-8")
        for foreign in ("ocr.pipeline import run", "store_record", "catalog_write", "sniff(", "record_by_sha"):
            assert foreign not in source, f"{runner.name} does {foreign!r} itself"


def test_no_module_imports_pickle():
    offenders = []
    for path in ROOT.rglob("*.py"):
        if {".venv", "tests", "build"} & set(path.relative_to(ROOT).parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(name.split(".")[0] in {"pickle", "cPickle", "dill", "cloudpickle"} for name in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# ------------------------------------------------------------------ staging: JSON and verified bytes


def _pages(tmp_path: Path, count: int = 2):
    source = write_tiff(tmp_path / "in" / "hai-trang.tif", count, seed=720)
    original = pipeline.identify(source)
    planned = pipeline.plan(original, IngestFields(), OcrOptions(jobs=1, engine="null"))
    return original, list(pipeline.recognise(planned, OcrOptions(jobs=1, engine="null")))


def test_staged_pages_round_trip_as_json_and_bytes(tmp_path):
    archive = open_archive(Settings(data_dir=tmp_path / "data"))
    original, pages = _pages(tmp_path)
    staging.put_pages(archive.store, original.sha256, 0, pages)
    document = json.loads(archive.store.get(staging.pages_key(original.sha256, 0)))
    assert len(document["pages"]) == 2 and "data" not in document["pages"][0]["image"]
    back = staging.get_pages(archive.store, original.sha256, 0)
    assert [p.image.data for p in back] == [p.image.data for p in pages]
    assert [p.report for p in back] == [p.report for p in pages]
    assert [(p.width_pt, p.height_pt, p.image_cm, p.text) for p in back] == \
           [(p.width_pt, p.height_pt, p.image_cm, p.text) for p in pages]
    failure = staging.PageFailure("page 3-4: damaged", ExitCode.DAMAGED)
    staging.put_pages(archive.store, original.sha256, 2, failure)
    again = staging.get_pages(archive.store, original.sha256, 2)
    assert isinstance(again, staging.PageFailure) and again.message == failure.message
    assert again.exit_code == ExitCode.DAMAGED


def test_an_altered_staged_image_is_refused_before_use(tmp_path):
    archive = open_archive(Settings(data_dir=tmp_path / "data"))
    original, pages = _pages(tmp_path, 1)
    image_key = staging.image_key(original.sha256, 0)
    archive.store.put(image_key, b"\xff\xd8 not the page the worker read")  # the attacker was first
    staging.put_pages(archive.store, original.sha256, 0, pages)
    with pytest.raises(staging.StagingCorrupt, match="do not match their SHA-256"):
        staging.get_pages(archive.store, original.sha256, 0)


@pytest.mark.parametrize("payload, message", [
    (b"\x80\x04\x95cos\nsystem\n.", "not JSON"),  # a pickle is not even read as one
    (json.dumps({"format": 1, "pages": [{"image": {"key": "records/x/pdfa.pdf", "sha256": "0" * 64}}]}).encode(), "only name a staged"),
    (json.dumps({"format": 1, "pages": [{"width_pt": "wide"}]}).encode(), "malformed page data"),
    (json.dumps({"format": 1, "failure": {"message": "x", "exit_code": 999}}).encode(), "malformed page data"),
    (json.dumps([1, 2]).encode(), "not a staging document"),
])
def test_forged_staging_documents_are_refused_with_one_line(tmp_path, payload, message):
    archive = open_archive(Settings(data_dir=tmp_path / "data"))
    sha = "a" * 64
    archive.store.put(staging.pages_key(sha, 0), payload)
    with pytest.raises(staging.StagingCorrupt, match=message) as caught:
        staging.get_pages(archive.store, sha, 0)
    assert "\n" not in caught.value.message


def test_a_worker_cache_folder_made_by_someone_else_is_refused(tmp_path, monkeypatch):
    import os

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    planted = tmp_path / f"sohoa-cache-{os.getuid()}"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)  # another local user could have made it, and put "cached originals" in it
    with pytest.raises(staging.StorageError, match="closed to others"):
        staging.cache_dir()
    planted.chmod(0o700)
    assert staging.cache_dir() == planted


def test_staged_objects_are_write_once(tmp_path):
    archive = open_archive(Settings(data_dir=tmp_path / "data"))
    original, pages = _pages(tmp_path, 1)
    key = staging.put_pages(archive.store, original.sha256, 0, pages)
    staging.put_pages(archive.store, original.sha256, 0, staging.PageFailure("late twin", ExitCode.DAMAGED))
    assert isinstance(staging.get_pages(archive.store, original.sha256, 0), list)  # the first copy stands
    with pytest.raises(ObjectExists):
        archive.store.put(key, b"{}")


# ------------------------------------------------------------------ the engine seam


def test_engines_are_chosen_by_name_or_module_path():
    assert factory("null") is NullEngine
    assert factory("sohoa.testkit.engines:failing") is test_engines.FailingEngine
    for bad in ("nonsense", "sohoa.testkit.engines:missing", "no.such.module:x"):
        with pytest.raises(Exception) as caught:
            factory(bad)
        assert getattr(caught.value, "exit_code", None) == ExitCode.USAGE


def test_the_null_engine_archives_images_without_text(tmp_path):
    archive = open_archive(Settings(data_dir=tmp_path / "data"))
    scan = write_scans(tmp_path / "in", 1, seed=730)[0]
    result = ingest_file(scan, IngestFields(agency=AGENCY), archive, OcrOptions(jobs=1, engine="null"))
    assert isinstance(result, Stored) and result.pages == 1
    record = archive.catalog.record(result.record_id)
    text = archive.store.get(f"{record.prefix}/text.txt").decode("utf-8")
    assert text.strip() == ""
    ocr_event = next(e for e in archive.catalog.events_of(result.record_id) if e.action == "ocr")
    assert ocr_event.tool == "null"


# ------------------------------------------------------------------ the shared runner suite


def _inputs(folder: Path) -> dict[str, tuple[Path, dict]]:
    """name → (file, fields as staff gave them): stored, multi-page, duplicate, bad bytes, bad code."""
    good = write_scans(folder, 2, seed=740)
    tiff = write_tiff(folder / "nhieu-trang.tif", 2, seed=745)
    twin = folder / "ban-sao.jpg"
    twin.write_bytes(good[0].read_bytes())
    bad = write_bad_inputs(folder / "bad")
    return {
        "component": (good[0], {"agency": AGENCY, "dossier": DOSSIER, "title": "Giấy khai sinh"}),
        "result": (good[1], {"dossier": DOSSIER, "kind": "result", "owner_id": "001085012345"}),
        "multipage": (tiff, {"agency": AGENCY, "retention": "01"}),
        "twin": (twin, {"agency": AGENCY}),
        "truncated": (bad["truncated_pdf"], {"agency": AGENCY}),
        "bad_code": (good[1], {"agency": "000.00.12"}),
    }


ORDER = ("component", "result", "multipage", "twin", "truncated", "bad_code")


def _outcome(result, name: str, path: Path) -> tuple:
    if isinstance(result, Quarantined):
        return ("quarantined", result.reason.replace(str(path), name), result.exit_code)
    return (result.status, result.code)


def _record_facts(archive, record_id: str) -> dict:
    record = archive.catalog.record(record_id)
    document = json.loads(archive.store.get(f"{record.prefix}/metadata.json"))
    meta = document["record"]
    for volatile in ("created_at", "scanned_by"):
        meta.pop(volatile, None)
    same_bytes = {name: document["objects"][name]["sha256"] for name in ("original", "text.txt", "words.json")}
    return {"meta": meta, "objects": same_bytes,
            "text": archive.store.get(f"{record.prefix}/text.txt").decode("utf-8"),
            "actions": sorted(e.action for e in archive.catalog.events_of(record_id))}


def _run_local(data: Path, inputs: dict) -> tuple[dict, dict]:
    from sohoa.search.backends import open_configured_index

    settings = Settings(data_dir=data)
    archive, index = open_archive(settings), open_configured_index(settings)
    outcomes, records = {}, {}
    for name in ORDER:
        path, fields = inputs[name]
        result = ingest_file(path, fields, archive, OcrOptions(jobs=1), index=index)
        outcomes[name] = _outcome(result, path.name, path)
        if isinstance(result, (Stored, Duplicate)):
            records[name] = _record_facts(archive, result.record_id)
    return outcomes, records


def _run_workers(cluster, inputs: dict) -> tuple[dict, dict]:
    from sohoa.workers.app import create_app, sender

    settings = Settings.from_env(cluster.env)
    archive = open_archive(settings)
    supervisor = Supervisor(archive, sender(create_app(settings)), settings)
    cluster.start_worker("shared", concurrency=1)
    outcomes, records = {}, {}
    for name in ORDER:  # one at a time, as the local runner goes: the result number depends on order
        path, fields = inputs[name]
        item = supervisor.submit(f"runner-{name}", path, fields)
        wait_for(lambda: jobs.get(archive.catalog, item.id).terminal, 300, name, cluster=cluster)
        item = jobs.get(archive.catalog, item.id)
        if item.status == jobs.QUARANTINED:
            outcomes[name] = ("quarantined", item.reason, item.exit_code)
        else:
            outcomes[name] = (item.status, item.record_code)
            wait_for(lambda: any(e.action == "indexed" for e in archive.catalog.events_of(item.record_id)),
                     120, f"{name} indexed", cluster=cluster)  # the index task runs after the item ended
            records[name] = _record_facts(archive, item.record_id)
    return outcomes, records


@pytest.mark.slow
def test_both_runners_make_the_same_records_and_the_same_quarantines(tmp_path, cluster_factory, redis_url):
    inputs = _inputs(tmp_path / "in")
    local_outcomes, local_records = _run_local(tmp_path / "local", inputs)
    cluster = cluster_factory(redis_url)
    worker_outcomes, worker_records = _run_workers(cluster, inputs)

    assert local_outcomes["component"][0] == "stored" and local_outcomes["twin"][0] == "duplicate"
    assert local_outcomes["result"] == ("stored", f"{DOSSIER}-KQ1")
    assert local_outcomes["truncated"][0] == "quarantined" and local_outcomes["truncated"][2] == ExitCode.DAMAGED
    assert local_outcomes["bad_code"][0] == "quarantined" and "invalid agency code" in local_outcomes["bad_code"][1]
    assert local_records["multipage"]["meta"]["page_count"] == 2
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in local_records["component"]["text"]
    assert worker_outcomes == local_outcomes
    assert worker_records == local_records


@pytest.mark.slow
def test_unreadable_pages_quarantine_the_same_way_on_both_runners(tmp_path, cluster_factory, redis_url):
    scan = write_scans(tmp_path / "in", 1, seed=760)[0]
    archive = open_archive(Settings(data_dir=tmp_path / "local"))
    local = ingest_file(scan, {"agency": AGENCY}, archive, OcrOptions(jobs=1, engine="sohoa.testkit.engines:failing"))
    assert isinstance(local, Quarantined) and test_engines.FAILURE in local.reason
    assert archive.catalog.record_by_sha(pipeline.identify(scan).sha256) is None

    cluster = cluster_factory(redis_url, ocr_engine="sohoa.testkit.engines:failing")
    settings = Settings.from_env(cluster.env)
    from sohoa.workers.app import create_app, sender

    supervisor = Supervisor(open_archive(settings), sender(create_app(settings)), settings)
    cluster.start_worker("failing", concurrency=1)
    item = supervisor.submit("failing", scan, {"agency": AGENCY})
    wait_for(lambda: jobs.get(supervisor.archive.catalog, item.id).terminal, 300, "the quarantine", cluster=cluster)
    item = jobs.get(supervisor.archive.catalog, item.id)
    assert item.status == jobs.QUARANTINED and item.exit_code == local.exit_code
    assert test_engines.FAILURE in item.reason
    assert list(supervisor.archive.store.list("staging/")) == []  # nothing staged is left behind


# ------------------------------------------------------------------ no work at import


IMPORT_ALL = """
import importlib, pkgutil, sys
import sohoa
skip = {"sohoa.tests", "sohoa.__main__", "sohoa.cli.__main__"}
names = []
for info in pkgutil.walk_packages(sohoa.__path__, "sohoa."):
    if info.name in skip or info.name.startswith(("sohoa.tests.", "sohoa.migrations.")):
        continue
    importlib.import_module(info.name)
    names.append(info.name)
print(len(names))
"""


def test_importing_every_module_creates_nothing(tmp_path):
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp),
           "SOHOA_DATA_DIR": str(blocker / "data")}  # unwritable: any mkdir under it fails
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip().splitlines()[-1]) > 60
    assert list(cwd.iterdir()) == [] and list(tmp.iterdir()) == []
