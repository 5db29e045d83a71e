"""`sohoa rebuild-catalog`: the catalog is derived; rebuild it from the record folders alone."""

from __future__ import annotations

from sqlalchemy import delete

from sohoa.archive import catalog_write, records
from sohoa.archive.backends import Archive
from sohoa.archive.catalog import Dossier, EventRow, Record, ReuseLink, StoredObjectRow


def rebuild(archive: Archive) -> tuple[int, list[str]]:
    """(records restored, folders skipped with the reason). Existing catalog rows are replaced."""
    skipped: list[str] = []
    restored = 0
    with archive.catalog.session() as session, session.begin():
        for table in (ReuseLink, EventRow, StoredObjectRow, Record):
            session.execute(delete(table))
        # Registry dossiers came from the one-stop system, not from the store: keep them. Bare rows
        # that records created are derived and come back with their records.
        session.execute(delete(Dossier).where(Dossier.in_registry.is_(False)))
        for key in archive.store.list():
            if not key.endswith("/metadata.json") or "/events/" in key:
                continue
            try:
                meta, objects = records.read_record_document(archive.store, key)
                events = records.read_events(archive.store, meta)
            except Exception as exc:  # noqa: BLE001 - one unreadable folder must not stop the rebuild
                skipped.append(f"{key}: {type(exc).__name__}: {exc}")
                continue
            catalog_write.insert_record(session, meta, objects, events)
            session.flush()
            catalog_write.restore_reuse_links(session, events)
            restored += 1
    return restored, skipped
