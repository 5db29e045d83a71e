"""`rebuild-catalog` rebuilds the archive's derived tables from storage and keeps, row for row,
every table it cannot derive (registry, targets, accounts, audit, jobs) — on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from sohoa.archive import catalog_write, fixity, records
from sohoa.archive.backends import Archive
from sohoa.archive.catalog import DERIVED, Catalog
from sohoa.archive.rebuild import rebuild
from sohoa.archive.stores import open_store
from sohoa.core.db import Base
from sohoa.core.records import Event, Kind, RecordMetadata, record_id_for
from sohoa.ratios import agencies, procedures, registry, targets
from sohoa.ratios.indicators import INDICATORS
from sohoa.archive.reuse import reuse
from sohoa.web import accounts, audit
from sohoa.workers import jobs

AGENCY = "000.00.12.H36"
DOSSIER = f"{AGENCY}-240115-0007"  # named by the record only: no registry row
REGISTERED = f"{AGENCY}-240301-0009"  # sent by the one-stop registry; the record is reused into it
NOT_DERIVED = {"agencies", "dossiers", "ratio_targets", "users", "web_sessions", "api_tokens", "audit_log",
               "jobs", "job_items", "fixity_runs"}
NOT_DERIVED = NOT_DERIVED | {"code_reservations"}  # kept by a rebuild, stored codes re-marked from storage
NOT_DERIVED = NOT_DERIVED | {"audit_head", "login_throttle"}  # the audit chain's head, failed logins (0008)
# The webhook outbox (0012): an undelivered event cannot be derived from storage.
NOT_DERIVED = NOT_DERIVED | {"webhook_endpoints", "webhook_events", "webhook_deliveries", "webhook_attempts"}
NOT_DERIVED = NOT_DERIVED | {"procedures"}  # the procedure catalogue an admin imports (0013)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def catalog(request, tmp_path):
    if request.param == "sqlite":
        catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    else:  # a fresh database on the session's cluster (conftest)
        catalog = Catalog(request.getfixturevalue("postgres_url"))
    yield catalog
    catalog.dispose()


def _store_record(archive: Archive, tmp_path: Path) -> RecordMetadata:
    original = tmp_path / "scan.jpg"
    original.write_bytes("giấy khai sinh".encode() * 50)
    pdfa = tmp_path / "scan.pdf"
    pdfa.write_bytes(b"%PDF-1.7 test body")
    sha = hashlib.sha256(original.read_bytes()).hexdigest()
    meta = RecordMetadata(record_id=record_id_for(sha), record_code=f"{AGENCY}-TP-{sha[:10].upper()}",
                          kind=Kind.component, agency_code=AGENCY, dossier_code=DOSSIER, owner_id="001204012345",
                          title="Giấy khai sinh", page_count=1, original_sha256=sha,
                          original_size=original.stat().st_size)
    events = [Event(record_id=meta.record_id, action="ingested"), Event(record_id=meta.record_id, action="stored")]
    objects = records.store_record(archive.store, meta, original, pdfa, ["giấy khai sinh"], [[]], events).objects
    catalog_write.add_record(archive.catalog, meta, objects, events)
    return meta


def _fill_what_storage_cannot_give_back(catalog: Catalog) -> None:
    """One row (at least) in every table the rebuild cannot derive, each written by its owner."""
    report = agencies.upsert_agencies(catalog, [(1, {"code": AGENCY, "name": "Sở Tư pháp", "parent_code": "",
                                                     "level": "department"})])
    assert not report.rejected
    report = registry.import_rows(catalog, [{
        "dossier_code": REGISTERED, "agency_code": AGENCY, "procedure_code": "1.001234", "received_on": "2024-03-01",
        "channel": "online", "owner_id": "001204012345", "result_issued_on": "2024-03-05",
        "result_form": "electronic"}])
    assert not report.rejected
    targets.set_targets(catalog, AGENCY, {INDICATORS[0]: 0.9}, {INDICATORS[0]: 40.0})
    report = procedures.upsert_procedures(catalog, [(1, {"code": "1.001234", "name": "Đăng ký khai sinh",
                                                         "field": "Hộ tịch"})])
    assert not report.rejected
    user = accounts.add_user(catalog, "can.bo", "official", "mat-khau-dai-123", full_name="Lê Văn Cán")
    accounts.create_session(catalog, user)
    accounts.create_token(catalog, user.username, "hệ thống một cửa")
    audit.write(catalog, user.username, audit.VIEW, "r1", "api", "127.0.0.1")
    accounts.record_failure(catalog, user.username, "127.0.0.1")
    jobs.ensure_job(catalog, "lo-1", "/scans/lo-1")
    item = jobs.add_item(catalog, "lo-1", "/scans/lo-1/a.pdf", "ab" * 32, 10, {"agency": AGENCY})
    catalog_write.reserve_result_code(catalog, REGISTERED, "R" + "0" * 24)  # an ingest under way
    jobs.finish(catalog, item.id, jobs.QUARANTINED, reason="không đọc được")


def _webhook_rows(catalog: Catalog, meta: RecordMetadata, tmp_path: Path) -> None:
    """A receiver that is down, the record's event, its delivery and one failed attempt."""
    from sohoa.core.settings import Settings
    from sohoa.hooks import emit, outbox, service

    secret = tmp_path / "webhook.secret"
    secret.write_bytes(b"bi-mat-mot-cua-0123456789")
    secret.chmod(0o600)
    outbox.add_endpoint(catalog, "http://127.0.0.1:9/webhook", secret)  # the discard port: nobody answers
    emit.emit_stored(catalog, meta)
    assert [f.state for f in service.deliver_due(catalog, Settings(webhook_timeout=1))] == ["pending"]


def _rows(catalog: Catalog, names: set[str]) -> dict[str, list[tuple]]:
    with catalog.engine.connect() as connection:
        return {name: sorted(tuple(map(str, row)) for row in connection.execute(select(Base.metadata.tables[name])))
                for name in sorted(names)}


def test_every_table_has_one_owner_and_the_metadata_is_complete(catalog):
    """The neutral base knows every table the migrations create, so autogenerate sees the whole schema."""
    import sohoa.hooks.models  # noqa: F401
    import sohoa.ratios.models  # noqa: F401 - the owners' models, as migrations/env.py imports them
    import sohoa.web.models  # noqa: F401

    in_database = set(inspect(catalog.engine).get_table_names()) - {"alembic_version"}
    assert set(Base.metadata.tables) == in_database
    derived = {table.__tablename__ for table in DERIVED}
    assert derived == {"records", "objects", "events", "reuse_links"}
    assert in_database - derived == NOT_DERIVED


def test_rebuild_keeps_every_table_it_cannot_derive(catalog, tmp_path):
    archive = Archive(open_store((tmp_path / "objects").as_uri()), catalog)
    meta = _store_record(archive, tmp_path)
    _fill_what_storage_cannot_give_back(catalog)
    _webhook_rows(catalog, meta, tmp_path)
    reuse(archive, meta.record_id, REGISTERED, by="can.bo")
    fixity.check(archive)  # a run in fixity_runs: the rebuild keeps the history of fixity checks
    before = _rows(catalog, NOT_DERIVED)
    assert all(before.values()), [name for name, rows in before.items() if not rows]

    assert rebuild(archive) == (1, [])

    assert _rows(catalog, NOT_DERIVED) == before
    record = catalog.record(meta.record_id)
    assert record is not None and record.dossier_code == DOSSIER
    assert [link.dossier_code for link in catalog.reuse_links_of(meta.record_id)] == [REGISTERED]
    assert catalog.records_in_dossier(REGISTERED) == {meta.record_id}
    assert accounts.authenticate(catalog, "can.bo", "mat-khau-dai-123") is not None
