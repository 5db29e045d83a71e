"""Issue #12, 2: storage stays write-once and every metadata change is a new numbered version;
a retry never adopts stored metadata that differs from what it catalogs; `rebuild-catalog`
succeeds on any state an ingest leaves behind and says what it repaired or skipped."""

from __future__ import annotations

import hashlib
import io
import json
import signal

import pytest

from archive_checks import DOSSIER, catalog_vs_storage, environ, scans, sohoa
from sohoa.archive import catalog_write, records
from sohoa.archive.backends import open_archive
from sohoa.archive.rebuild import rebuild_report
from sohoa.core.records import Event, Kind, RecordMetadata, record_id_for
from sohoa.core.settings import Settings
from test_codes_reserved import backend_params, backends  # noqa: F401  (backends: a fixture)

OTHER = "000.00.00.H01-240601-0002"


@pytest.mark.parametrize("backends", backend_params("sqlite+local", "postgresql+seaweedfs"), indirect=True)
def test_a_retry_with_other_fields_writes_the_next_version_not_the_stale_one(tmp_path, backends):
    """The issue's case: a first attempt stored metadata (then died); the retry says other things."""
    [scan] = scans(tmp_path / "in", 1)
    crashed = sohoa(backends.env(SOHOA_FAULT="record.stored@metadata.json"), "ingest", scan,
                    "--kind", "result", "--dossier", DOSSIER, "--title", "lần đầu")
    assert crashed.returncode == -signal.SIGKILL
    again = sohoa(backends.env(), "ingest", scan, "--kind", "result", "--dossier", DOSSIER, "--title", "lần sau")
    assert again.returncode == 0, again.stderr
    archive = backends.archive()
    record = archive.catalog.record(record_id_for(hashlib.sha256(scan.read_bytes()).hexdigest()))
    meta, objects, version = records.current_metadata(archive.store, record.prefix)
    assert version == 2 and meta.title == "lần sau" and record.title == "lần sau"
    assert record.metadata_version == 2 and record.code == meta.record_code == f"{DOSSIER}-KQ1"
    assert {"metadata.json", "metadata/v0002.json"} <= set(objects)
    first = json.loads(archive.store.get(f"{record.prefix}/metadata.json"))
    assert first["record"]["title"] == "lần đầu"  # write-once: version 1 is still there
    corrected = [e for e in archive.catalog.events_of(record.id) if e.action == "corrected"]
    assert len(corrected) == 1 and "title" in corrected[0].detail
    assert catalog_vs_storage(archive) == []
    assert sohoa(backends.env(), "rebuild-catalog").returncode == 0
    assert catalog_vs_storage(archive) == [] and archive.catalog.record(record.id).metadata_version == 2
    assert sohoa(backends.env(), "fixity").returncode == 0


def test_write_metadata_version_adds_a_numbered_object_and_an_event(tmp_path):
    data = tmp_path / "data"
    [scan] = scans(tmp_path / "in", 1)
    assert sohoa(environ(data), "ingest", scan).returncode == 0
    archive = open_archive(Settings(data_dir=data))
    [prefix] = records.list_record_prefixes(archive.store)
    meta, objects, version = records.current_metadata(archive.store, prefix)
    assert version == 1
    changed = meta.model_copy(update={"number_symbol": "12/GKS", "owner_id": "001204012345"})
    assert records.write_metadata_version(archive.store, prefix, changed, objects, "can.bo") == 2
    assert records.write_metadata_version(archive.store, prefix, changed, objects, "can.bo", "corrected") == 3
    meta3, objects3, version3 = records.current_metadata(archive.store, prefix)
    assert version3 == 3 and meta3.owner_id == "001204012345"
    assert archive.store.exists(f"{prefix}/metadata/v0002.json") and archive.store.exists(f"{prefix}/metadata/v0003.json")
    stored = records.read_stored_record(archive.store, prefix)
    changes = [e for e in stored.events if e.action in ("described", "corrected")]
    assert sorted(e.action for e in changes) == ["corrected", "described"]
    assert catalog_write.set_metadata(archive.catalog, meta3, objects3, changes)
    assert not catalog_write.set_metadata(archive.catalog, meta3, objects3)  # only moves forward
    assert catalog_vs_storage(archive) == []
    assert sohoa(environ(data), "fixity").returncode == 0  # every version is checked, and intact


def test_a_legacy_folder_with_metadata_json_reads_as_version_1(tmp_path):
    """Archives from before issue #12: <agency>/<yyyy>/<mm>/<record id>/metadata.json."""
    archive = open_archive(Settings(data_dir=tmp_path / "data"))
    original = b"giay cu" * 40
    sha = hashlib.sha256(original).hexdigest()
    meta = RecordMetadata(record_id=record_id_for(sha), record_code=f"{DOSSIER}-KQ3", kind=Kind.result,
                          dossier_code=DOSSIER, original_sha256=sha, original_size=len(original))
    prefix = records.legacy_prefix(meta)
    objects = {"original": archive.store.put(f"{prefix}/original", original)}
    for name in ("pdfa.pdf", "text.txt", "words.json", "events.jsonl"):
        body = (Event(record_id=meta.record_id, action="ingested").model_dump_json() + "\n").encode() \
            if name == "events.jsonl" else b"x"
        objects[name] = archive.store.put(f"{prefix}/{name}", body)
    document = {"record": json.loads(meta.model_dump_json()),
                "objects": {n: {"key": o.key, "sha256": o.sha256, "size": o.size} for n, o in objects.items()}}
    archive.store.put(f"{prefix}/metadata.json", io.BytesIO(json.dumps(document).encode()))
    assert list(records.list_record_prefixes(archive.store)) == [prefix]
    assert records.find_prefix(archive.store, meta) == prefix
    got, got_objects, version = records.current_metadata(archive.store, prefix)
    assert version == 1 and got.record_code == meta.record_code and got_objects["metadata.json"].key.startswith(prefix)
    report = rebuild_report(archive)
    assert report.restored == 1 and catalog_vs_storage(archive) == []
    # its code stays taken: the next result of the dossier is KQ4
    assert catalog_write.reserve_result_code(archive.catalog, DOSSIER, "R" + "9" * 24) == f"{DOSSIER}-KQ4"


@pytest.mark.parametrize("backends", backend_params("sqlite+local", "postgresql+seaweedfs"), indirect=True)
def test_rebuild_repairs_duplicate_codes_and_skips_what_is_not_a_record(tmp_path, backends):
    """Old races left two records with one KQ; an interrupted ingest left a folder without
    metadata and temporaries. The rebuild succeeds, renumbers, and says so."""
    data, local = backends.data, backends.storage_url is None
    files = scans(tmp_path / "in", 3)
    for scan in files[:2]:
        assert sohoa(backends.env(), "ingest", scan, "--kind", "result", "--dossier", DOSSIER).returncode == 0
    archive = backends.archive()
    prefixes = list(records.list_record_prefixes(archive.store))
    # make the second record claim KQ1 too, as the racing code of issue #12 did
    stored = [records.read_stored_record(archive.store, p) for p in prefixes]
    loser = max(stored, key=lambda s: s.meta.record_code)
    records.write_metadata_version(archive.store, loser.prefix,
                                   loser.meta.model_copy(update={"record_code": f"{DOSSIER}-KQ1"}),
                                   loser.objects, "old race")
    # an interrupted ingest, and a leftover temporary of a dead writer
    fault = "local.linked@pdfa.pdf" if local else "record.stored@pdfa.pdf"
    crashed = sohoa(backends.env(SOHOA_FAULT=fault), "ingest", files[2])
    assert crashed.returncode == -signal.SIGKILL
    rebuilt = sohoa(backends.env(), "rebuild-catalog")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "2 records restored, 1 repaired" in rebuilt.stdout and "temporaries removed" in rebuilt.stdout
    assert "renumbered" in rebuilt.stdout and "interrupted ingest" in rebuilt.stderr
    codes = sorted(r.code for r in archive.catalog.records_of_dossier(DOSSIER))
    assert len(set(codes)) == 2 and f"{DOSSIER}-KQ1" in codes
    assert catalog_vs_storage(archive) == []
    if local:
        assert not [p for p in (data / "objects").rglob("*") if p.name.endswith((".tmp", ".pending"))]
    again = sohoa(backends.env(), "rebuild-catalog")  # and a second rebuild has nothing left to repair
    assert again.returncode == 0 and "0 repaired" in again.stdout
    assert sohoa(backends.env(), "ingest", files[2]).returncode == 0  # the interrupted file completes
    assert sohoa(backends.env(), "fixity").returncode == 0


REUSE_A = "000.00.12.H36-250301-0043"
REUSE_B = "000.00.12.H36-250301-0044"


@pytest.mark.parametrize("backends", backend_params("sqlite+local", "postgresql+seaweedfs"), indirect=True)
def test_a_reuse_is_a_new_metadata_version_and_survives_a_rebuild(tmp_path, backends):
    """Issue #12, 2 lists reuse among the metadata changes: each reuse is the next version, with
    the dossier in `reused_in`; the `reused` event stays; a rebuilt catalog restores the links."""
    from sohoa.archive.reuse import reuse

    [scan] = scans(tmp_path / "in", 1)
    assert sohoa(backends.env(), "ingest", scan).returncode == 0
    archive = backends.archive()
    rid = record_id_for(hashlib.sha256(scan.read_bytes()).hexdigest())
    prefix = archive.catalog.record(rid).prefix

    assert not reuse(archive, rid, REUSE_A, "can.bo").already_linked
    meta, objects, version = records.current_metadata(archive.store, prefix)
    assert version == 2 and meta.reused_in == [REUSE_A] and "metadata/v0002.json" in objects
    assert archive.catalog.record(rid).metadata_version == 2
    assert archive.catalog.record(rid).metadata_json["reused_in"] == [REUSE_A]
    assert reuse(archive, rid, REUSE_A, "can.bo").already_linked  # once per dossier: no version 3
    assert records.current_metadata(archive.store, prefix)[2] == 2

    run = sohoa(backends.env(), "reuse", rid, "--dossier", REUSE_B, "--by", "can.bo.hai")
    assert run.returncode == 0, run.stderr
    meta, objects, version = records.current_metadata(archive.store, prefix)
    assert version == 3 and meta.reused_in == [REUSE_A, REUSE_B]
    first = json.loads(archive.store.get(f"{prefix}/metadata/v0002.json"))
    assert first["record"]["reused_in"] == [REUSE_A]  # write-once: version 2 still says what it said
    stored_events = records.read_stored_record(archive.store, prefix).events
    reused = [e for e in stored_events if e.action == "reused"]
    assert [(catalog_write.reused_dossier(e), e.agent) for e in reused] == [(REUSE_A, "can.bo"), (REUSE_B, "can.bo.hai")]
    assert catalog_vs_storage(archive) == []

    def links() -> list[tuple[str, str]]:
        return sorted((link.dossier_code, link.by) for link in archive.catalog.reuse_links_of(rid))

    assert links() == [(REUSE_A, "can.bo"), (REUSE_B, "can.bo.hai")]
    rebuilt = sohoa(backends.env(), "rebuild-catalog")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert links() == [(REUSE_A, "can.bo"), (REUSE_B, "can.bo.hai")]
    assert archive.catalog.record(rid).metadata_version == 3 and catalog_vs_storage(archive) == []
    fixity = sohoa(backends.env(), "fixity")
    assert fixity.returncode == 0, fixity.stdout + fixity.stderr


@pytest.mark.parametrize("backends", backend_params("sqlite+local", "postgresql+seaweedfs"), indirect=True)
def test_concurrent_reuses_into_two_dossiers_both_survive(tmp_path, backends):
    """Two processes reuse one record at once: the loser of the version race reads again and
    writes the next version, so the current metadata lists both dossiers."""
    from test_codes_reserved import _together

    [scan] = scans(tmp_path / "in", 1)
    assert sohoa(backends.env(), "ingest", scan).returncode == 0
    rid = record_id_for(hashlib.sha256(scan.read_bytes()).hexdigest())
    runs = _together(backends.env(), [("reuse", rid, "--dossier", d) for d in (REUSE_A, REUSE_B)])
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    archive = backends.archive()
    prefix = archive.catalog.record(rid).prefix
    meta, objects, version = records.current_metadata(archive.store, prefix)
    assert version == 3 and sorted(meta.reused_in) == [REUSE_A, REUSE_B]
    assert sorted(link.dossier_code for link in archive.catalog.reuse_links_of(rid)) == [REUSE_A, REUSE_B]
    assert catalog_vs_storage(archive) == []
    assert sohoa(backends.env(), "fixity").returncode == 0


@pytest.mark.parametrize("backends", backend_params("sqlite+local", "postgresql+seaweedfs"), indirect=True)
def test_a_reuse_that_loses_the_version_race_reads_again_and_takes_the_next(tmp_path, backends):
    """The race made certain: between this reuse's read of version 1 and its write of version 2,
    another reuse (into another dossier) writes version 2. This one must not lose that dossier."""
    from sohoa.archive.backends import Archive
    from sohoa.archive.reuse import reuse

    [scan] = scans(tmp_path / "in", 1)
    assert sohoa(backends.env(), "ingest", scan).returncode == 0
    rid = record_id_for(hashlib.sha256(scan.read_bytes()).hexdigest())
    winner = backends.archive()
    real = backends.archive()

    class Interleaved:
        """The real store; before its first metadata-version put, the winner's reuse runs."""

        def __init__(self, store):
            self._store, self.raced = store, False

        def __getattr__(self, name):
            return getattr(self._store, name)

        def put(self, key, *args, **kwargs):
            if "/metadata/v" in key and not self.raced:
                self.raced = True
                assert not reuse(winner, rid, REUSE_B, "nguoi.thang").already_linked
            return self._store.put(key, *args, **kwargs)

    store = Interleaved(real.store)
    assert not reuse(Archive(store, real.catalog), rid, REUSE_A, "nguoi.sau").already_linked
    assert store.raced
    prefix = real.catalog.record(rid).prefix
    meta, objects, version = records.current_metadata(real.store, prefix)
    assert version == 3 and meta.reused_in == [REUSE_B, REUSE_A]
    assert real.catalog.record(rid).metadata_version == 3
    assert sorted(link.dossier_code for link in real.catalog.reuse_links_of(rid)) == [REUSE_A, REUSE_B]
    assert catalog_vs_storage(real) == []
    rebuilt = sohoa(backends.env(), "rebuild-catalog")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert sorted(link.dossier_code for link in real.catalog.reuse_links_of(rid)) == [REUSE_A, REUSE_B]
    assert sohoa(backends.env(), "fixity").returncode == 0


def test_old_metadata_without_reused_in_loads_and_its_reuse_events_still_link():
    """Metadata written before the field existed has no `reused_in`; its `reused` events (detail
    `dossier <code>`) are the fallback that restores the links."""
    old = {"record_id": "R" + "c" * 24, "record_code": "x", "original_sha256": "c" * 64, "original_size": 1}
    meta = RecordMetadata.model_validate(old)
    assert meta.reused_in == []
    event = Event(record_id=meta.record_id, action="reused", agent="a", detail=f"dossier {REUSE_A}")
    assert catalog_write.reused_dossier(event) == REUSE_A
    assert catalog_write.reused_dossier(event.model_copy(update={"outcome": "failure"})) is None
