"""Splitting in the one pipeline: `sohoa ingest STACK` makes one record per document (issue #15).

Real archive (local store + SQLite catalog), real code reading; the null OCR engine, since no
test here reads the text."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sohoa.archive import records
from sohoa.archive.backends import open_archive
from sohoa.core.errors import ExitCode
from sohoa.core.hashing import sha256_file
from sohoa.core.records import record_id_for
from sohoa.core.settings import Settings
from sohoa.ingest import pipeline, segments
from sohoa.ingest.base import Duplicate, Stored
from sohoa.ingest.policy import IngestFields
from sohoa.ingest.runner import ingest_part, ingest_stack
from sohoa.ocr.pipeline import OcrOptions
from sohoa.testkit.stacks import DOSSIER, StackPage, dossier_stack, write_stack

from workers_fixtures import cluster_factory, redis_url, wait_for  # noqa: F401

OTHER = "000.00.31.H29-250301-0042"


def sohoa(data: Path, *args: str) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_DATA_DIR=str(data), SOHOA_OCR_ENGINE="null", SOHOA_JOBS="1")
    return subprocess.run([sys.executable, "-m", "sohoa", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def stored(data: Path, record_id: str) -> records.StoredRecord:
    archive = open_archive(Settings(data_dir=data))
    return records.read_stored_record(archive.store, f"records/{record_id[1:3]}/{record_id}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Path:
    return write_stack(dossier_stack(), tmp_path_factory.mktemp("stack") / "ho-so.pdf", seed=21)


def test_ingest_splits_a_stack_into_one_record_per_document(tmp_path, stack):
    done = sohoa(tmp_path / "data", "ingest", str(stack), "--json")
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    sha, _ = sha256_file(stack)
    assert [(r["status"], r["page_range"]) for r in results] == [
        ("stored", "2-3"), ("stored", "5"), ("stored", "7"), ("stored", "8")]
    assert [r["record_id"] for r in results] == [segments.segment_record_id(sha, a, b)
                                                 for a, b in ((1, 2), (4, 4), (6, 6), (7, 7))]
    assert all(r["path"] == str(stack) for r in results)
    first, typed, receipt, last = (stored(tmp_path / "data", r["record_id"]) for r in results)
    assert {m.meta.dossier_code for m in (first, typed, receipt, last)} == {DOSSIER}
    assert {m.meta.agency_code for m in (first, typed, receipt, last)} == {"000.00.12.H36"}
    assert (typed.meta.doc_type_code, receipt.meta.doc_type_code, last.meta.doc_type_code) == ("GKS", "GTN", None)
    assert [m.meta.page_count for m in (first, typed, receipt, last)] == [2, 1, 1, 1]  # 3 sheets not archived
    assert {m.meta.source_sha256 for m in (first, typed, receipt, last)} == {sha}
    assert [m.meta.source_pages for m in (first, typed, receipt, last)] == ["2-3", "5", "7", "8"]
    assert {m.meta.source_record for m in (first, typed, receipt, last)} == {first.meta.record_id}
    # The stack as scanned is stored once, in the first document's folder.
    assert first.objects["stack"].sha256 == sha
    assert not any("stack" in m.objects for m in (typed, receipt, last))
    # Each record's original holds its own pages; the separator's page number is in the events.
    assert len({m.meta.original_sha256 for m in (first, typed, receipt, last)}) == 4
    split_event = next(e for e in typed.events if e.action == "split")
    assert "pages 5 of 8" in split_event.detail and "separator sheets next to it: pages 4, 6" in split_event.detail
    assert "sheets not archived: pages 1, 4, 6" in split_event.detail


def test_the_same_stack_again_and_a_resumed_split_make_no_second_record(tmp_path, stack):
    archive = open_archive(Settings(data_dir=tmp_path / "data"))
    options = OcrOptions(jobs=1, engine="null")
    fields = IngestFields().validated()
    # A split that stopped after its first document: only that one is stored.
    original = pipeline.identify(stack)
    parted = pipeline.split(original, fields, options, tmp_path)
    part, part_fields = parted.parts[0]
    assert isinstance(ingest_part(part, part_fields, archive, options), Stored)
    resumed = ingest_stack(stack, fields, archive, options)
    assert [type(r) for r in resumed] == [Duplicate, Stored, Stored, Stored]
    again = ingest_stack(stack, fields, archive, options)
    assert [type(r) for r in again] == [Duplicate] * 4
    assert [r.record_id for r in again] == [r.record_id for r in resumed]
    assert archive.catalog.list_records(limit=100)[0] == 4


def test_a_code_on_the_pages_that_is_not_the_dossier_given_is_quarantined(tmp_path, stack):
    done = sohoa(tmp_path / "data", "ingest", str(stack), "--dossier", OTHER)
    assert done.returncode == ExitCode.CODE_CONFLICT
    assert f"not the {OTHER} given" in done.stderr and DOSSIER in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert open_archive(Settings(data_dir=tmp_path / "data")).catalog.list_records(limit=10)[0] == 0


def test_a_cover_of_another_agencys_dossier_is_quarantined(tmp_path, stack):
    """A scanner of one agency (the hot folder's agency folder, the uploader's agency) cannot file a
    scan into another agency's dossier by putting that agency's cover sheet on it."""
    other_agency = OTHER.split("-")[0]
    assert DOSSIER.split("-")[0] != other_agency
    done = sohoa(tmp_path / "data", "ingest", str(stack), "--agency", other_agency)
    assert done.returncode == ExitCode.CODE_CONFLICT, done.stderr
    assert "of another agency" in done.stderr and DOSSIER in done.stderr
    assert open_archive(Settings(data_dir=tmp_path / "data")).catalog.list_records(limit=10)[0] == 0
    own = sohoa(tmp_path / "data", "ingest", str(stack), "--agency", DOSSIER.split("-")[0], "--json")
    assert own.returncode == 0, own.stderr


def test_a_tiff_stack_with_an_unreadable_separator_and_a_blank_page(tmp_path):
    specs = [StackPage("document", seed=41), StackPage("damaged", skew=2.0), StackPage("document", seed=42),
             StackPage("blank"), StackPage("document", seed=43, upside_down=True)]
    stack = write_stack(specs, tmp_path / "ho-so.tiff", seed=22, fmt="tiff")
    done = sohoa(tmp_path / "data", "ingest", str(stack), "--split-on-blank", "--json")
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["page_range"] for r in results] == ["1-3", "5"]  # the unreadable sheet is kept: no page lost
    first = stored(tmp_path / "data", results[0]["record_id"])
    assert first.meta.page_count == 3 and first.meta.media_type == "image/tiff"
    warnings = [e.detail for e in first.events if e.action == "codes"]
    assert warnings == ["warning: page 2: a code was found but could not be read"]


def test_a_plain_scan_is_stored_as_before_and_a_lone_receipt_sets_its_dossier(tmp_path):
    plain = write_stack([StackPage("document", seed=51), StackPage("document", seed=52)], tmp_path / "a.pdf")
    receipt = write_stack([StackPage("receipt", seed=53, dossier=OTHER)], tmp_path / "b.pdf")
    done = sohoa(tmp_path / "data", "ingest", str(plain), str(receipt), "--json")
    assert done.returncode == 0, done.stderr
    first, second = [json.loads(line) for line in done.stdout.splitlines()]
    assert first["record_id"] == record_id_for(sha256_file(plain)[0]) and first["page_range"] is None
    meta = stored(tmp_path / "data", first["record_id"]).meta
    assert meta.source_sha256 is None and meta.dossier_code is None and meta.page_count == 2
    lone = stored(tmp_path / "data", second["record_id"]).meta
    assert second["record_id"] == record_id_for(sha256_file(receipt)[0])
    assert (lone.dossier_code, lone.agency_code, lone.doc_type_code) == (OTHER, "000.00.31.H29", "GTN")


def test_a_file_of_sheets_only_is_no_document(tmp_path):
    sheets = write_stack([StackPage("cover"), StackPage("separator")], tmp_path / "sheets.pdf")
    done = sohoa(tmp_path / "data", "ingest", str(sheets))
    assert done.returncode == ExitCode.NO_PAGES and "no document in the file" in done.stderr


@pytest.mark.servers
def test_the_workers_split_a_stack_into_the_same_records(tmp_path, stack, cluster_factory, redis_url):
    from sohoa.workers import jobs
    from sohoa.workers.app import create_app, sender
    from sohoa.workers.supervisor import Supervisor

    cluster = cluster_factory(redis_url, ocr_engine="null")
    settings = Settings.from_env(cluster.env)
    archive = open_archive(settings)
    supervisor = Supervisor(archive, sender(create_app(settings)), settings)
    cluster.start_worker("split", concurrency=1)
    item = supervisor.submit("stack", stack, {})
    wait_for(lambda: jobs.get(archive.catalog, item.id).terminal, 300, "the split stack", cluster=cluster)
    item = jobs.get(archive.catalog, item.id)
    sha, _ = sha256_file(stack)
    ids = [segments.segment_record_id(sha, a, b) for a, b in ((1, 2), (4, 4), (6, 6), (7, 7))]
    assert (item.status, item.record_id, item.pages) == (jobs.STORED, ids[0], 5)
    rows = [archive.catalog.record(i) for i in ids]
    assert all(row is not None and row.dossier_code == DOSSIER for row in rows)
    assert archive.catalog.list_records(limit=100)[0] == 4
