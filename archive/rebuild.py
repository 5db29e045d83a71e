"""`sohoa rebuild-catalog`: the catalog is derived; rebuild it from the record folders alone.

Only the catalog's own tables (`catalog.DERIVED`: records, objects, events, reuse links) are
emptied and refilled. Everything else in the database (the agency tree, the dossier registry,
the targets, users, sessions, API tokens, the audit log, jobs) cannot be derived from storage
and is left exactly as it was.
"""

from __future__ import annotations

from sqlalchemy import delete

from sohoa.archive import catalog_write, records
from sohoa.archive.backends import Archive
from sohoa.archive.catalog import DERIVED


def rebuild(archive: Archive) -> tuple[int, list[str]]:
    """(records restored, folders skipped with the reason). Existing catalog rows are replaced."""
    skipped: list[str] = []
    restored = 0
    with archive.catalog.session() as session, session.begin():
        for table in DERIVED:
            session.execute(delete(table))
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
