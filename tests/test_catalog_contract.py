"""The catalog contract, run on SQLite (embedded) and a real PostgreSQL (production)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from sohoa.archive import catalog_write, records
from sohoa.archive.backends import Archive
from sohoa.archive.catalog import Catalog
from sohoa.archive.rebuild import rebuild
from sohoa.archive.stores import open_store
from sohoa.core.records import Event, Kind, RecordMetadata, record_id_for

DOSSIER = "000.00.12.H36-240115-0007"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def catalog(request, tmp_path):
    if request.param == "sqlite":
        catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    else:  # a fresh database on the session's cluster (conftest)
        catalog = Catalog(request.getfixturevalue("postgres_url"))
    yield catalog
    catalog.dispose()


def _record(archive: Archive, tmp_path: Path, n: int, kind: Kind = Kind.component) -> RecordMetadata:
    original = tmp_path / f"scan-{n}.jpg"
    original.write_bytes(f"ảnh quét số {n}".encode() * 50)
    pdfa = tmp_path / f"pdfa-{n}.pdf"
    pdfa.write_bytes(b"%PDF-1.7 test body " + bytes([n]))
    import hashlib

    sha = hashlib.sha256(original.read_bytes()).hexdigest()
    code = (f"{DOSSIER}-KQ{catalog_write.next_result_number(archive.catalog, DOSSIER)}"
            if kind == Kind.result else f"000.00.12.H36-TP-{sha[:10].upper()}")
    meta = RecordMetadata(record_id=record_id_for(sha), record_code=code, kind=kind,
                          agency_code="000.00.12.H36", dossier_code=DOSSIER, owner_id="001204012345",
                          title=f"Giấy xác nhận {n}", page_count=1, original_sha256=sha,
                          original_size=original.stat().st_size)
    events = [Event(record_id=meta.record_id, action="ingested"), Event(record_id=meta.record_id, action="stored")]
    objects = records.store_record(archive.store, meta, original, pdfa, [f"trang {n}"], [[]], events).objects
    catalog_write.add_record(archive.catalog, meta, objects, events)
    return meta


def test_schema_is_migrated_by_alembic(catalog):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from sohoa.core.db import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None and int(head) >= 4  # the jobs tables (0004) and everything before
    with catalog.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
        tables = set(catalog.engine.dialect.get_table_names(connection))
    assert {"records", "objects", "events", "reuse_links", "jobs", "job_items"} <= tables


def test_records_dedup_lookup_and_result_numbering(catalog, tmp_path):
    archive = Archive(open_store((tmp_path / "objects").as_uri()), catalog)
    first = _record(archive, tmp_path, 1)
    result1 = _record(archive, tmp_path, 2, Kind.result)
    result2 = _record(archive, tmp_path, 3, Kind.result)
    assert (result1.record_code, result2.record_code) == (f"{DOSSIER}-KQ1", f"{DOSSIER}-KQ2")
    assert catalog.record_by_sha(first.original_sha256).id == first.record_id
    found = catalog.record(result2.record_code)
    assert found.id == result2.record_id and len(found.objects) == 6
    assert found.metadata_json["title"] == "Giấy xác nhận 3"


def test_rebuild_from_storage_gives_the_same_catalog(catalog, tmp_path):
    archive = Archive(open_store((tmp_path / "objects").as_uri()), catalog)
    metas = [_record(archive, tmp_path, n) for n in range(4)]
    before = {m.record_id: sorted((o.name, o.sha256) for o in catalog.record(m.record_id).objects) for m in metas}
    restored, skipped = rebuild(archive)
    assert (restored, skipped) == (4, [])
    after = {m.record_id: sorted((o.name, o.sha256) for o in catalog.record(m.record_id).objects) for m in metas}
    assert after == before
    assert catalog.record(metas[0].record_id).metadata_json["owner_id"] == "001204012345"


# That a rebuild keeps every table it cannot derive (registry, targets, accounts, audit, jobs):
# tests/test_rebuild_keeps.py.
