"""`sohoa rebuild-catalog`: the catalog is derived; rebuild it from the record folders alone.

Only the catalog's own tables (`catalog.DERIVED`: records, objects, events, reuse links) are
emptied and refilled. Everything else in the database (the agency tree, the dossier registry,
the targets, users, sessions, API tokens, the audit log, jobs) cannot be derived from storage
and is left exactly as it was. Result-code reservations are brought in line with storage: every
result code storage holds is marked stored; pending reservations of ingests under way are kept.

A rebuild succeeds on any state an ingest can leave behind, and says what it did:
- leftover temporaries of interrupted writes are removed (`cleaned`);
- a folder without metadata (an interrupted ingest) or with unreadable metadata is skipped with the
  reason; the next ingest of the same file completes it;
- a second folder of the same record id (records stored before issue #12 on another day) is
  skipped: the folder of today's layout, else the first, is the record;
- two records holding the same result code (races before issue #12) are repaired: the older keeps
  the code, the other gets the next free number as a new metadata version with a `corrected`
  event (`repaired`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import delete, select

from sohoa.archive import catalog_write, records
from sohoa.archive.backends import Archive
from sohoa.archive.catalog import DERIVED, CodeReservation
from sohoa.core.records import Kind


@dataclass
class RebuildReport:
    restored: int = 0
    skipped: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)


def rebuild(archive: Archive) -> tuple[int, list[str]]:
    """(records restored, folders skipped with the reason). Existing catalog rows are replaced."""
    report = rebuild_report(archive)
    return report.restored, report.skipped


def rebuild_report(archive: Archive, agent: str = "sohoa rebuild-catalog") -> RebuildReport:
    report = RebuildReport()
    store = archive.store
    try:
        report.cleaned = records.clean_temporaries(store)
    except Exception as exc:  # noqa: BLE001 - leftovers must not stop the rebuild
        report.skipped.append(f"temporaries: {type(exc).__name__}: {exc}")
    for prefix in records.list_incomplete_prefixes(store):
        report.skipped.append(f"{prefix}: interrupted ingest (no metadata); ingesting the file again completes it")
    found: dict[str, records.StoredRecord] = {}
    for prefix in records.list_record_prefixes(store):
        try:
            stored = records.read_stored_record(store, prefix)
        except Exception as exc:  # noqa: BLE001 - one unreadable folder must not stop the rebuild
            report.skipped.append(f"{prefix}: {type(exc).__name__}: {exc}")
            continue
        rid = stored.meta.record_id
        other = found.get(rid)
        if other is not None:
            keep, drop = (stored, other) if prefix == records.record_prefix(stored.meta) else (other, stored)
            found[rid] = keep
            report.skipped.append(f"{drop.prefix}: a second folder of record {rid} (kept {keep.prefix})")
            continue
        found[rid] = stored

    # Codes held twice: the older record keeps it; storage's codes are reserved before renumbering.
    by_code: dict[str, list[records.StoredRecord]] = {}
    for stored in sorted(found.values(), key=lambda s: (s.meta.created_at, s.meta.record_id)):
        by_code.setdefault(stored.meta.record_code, []).append(stored)
    _reserve_stored(archive, [holders[0] for holders in by_code.values()])
    for code, holders in by_code.items():
        for loser in holders[1:]:
            rid = loser.meta.record_id
            if loser.meta.kind != Kind.result or not loser.meta.dossier_code:
                del found[rid]
                report.skipped.append(f"{loser.prefix}: code {code} is also held by {holders[0].meta.record_id}")
                continue
            try:
                new_code = catalog_write.reserve_result_code(archive.catalog, loser.meta.dossier_code, rid)
                meta = loser.meta.model_copy(update={"record_code": new_code})
                version = records.write_metadata_version(
                    store, loser.prefix, meta, loser.objects, agent, action="corrected",
                    detail=f"code {code} was also held by {holders[0].meta.record_id}; renumbered {new_code}")
                found[rid] = records.read_stored_record(store, loser.prefix)
                report.repaired.append(f"{loser.prefix}: {code} also held by {holders[0].meta.record_id}, "
                                       f"renumbered {new_code} (metadata version {version})")
            except Exception as exc:  # noqa: BLE001 - the record stays out of the catalog, said why
                del found[rid]
                report.skipped.append(f"{loser.prefix}: code {code} is also held by "
                                      f"{holders[0].meta.record_id}, and renumbering failed: {exc}")

    with archive.catalog.session() as session, session.begin():
        for table in DERIVED:
            session.execute(delete(table))
        session.execute(delete(CodeReservation).where(CodeReservation.state == "stored"))
        session.flush()
        for stored in found.values():
            catalog_write.insert_record(session, stored.meta, stored.objects, stored.events, stored.prefix)
            session.flush()
            catalog_write.restore_reuse_links(session, stored.events, stored.meta)
            report.restored += 1
        _upsert_reservations(session, found.values())
    return report


def _reserve_stored(archive: Archive, holders: list[records.StoredRecord]) -> None:
    with archive.catalog.session() as session, session.begin():
        _upsert_reservations(session, holders)


def _upsert_reservations(session, holders) -> None:
    """Every result code in storage reserved `stored` for its record (a pending claim on it goes)."""
    now = datetime.now(timezone.utc)
    for stored in holders:
        found = catalog_write.result_number(stored.meta.record_code) if stored.meta.kind == Kind.result else None
        if found is None:
            continue
        dossier, n = found
        rid = stored.meta.record_id
        session.execute(delete(CodeReservation).where(
            ((CodeReservation.dossier_code == dossier) & (CodeReservation.n == n) & (CodeReservation.record_id != rid))
            | (CodeReservation.code == stored.meta.record_code) & (CodeReservation.record_id != rid)
            | ((CodeReservation.record_id == rid) & (CodeReservation.dossier_code == dossier)
               & (CodeReservation.n != n))))
        row = session.scalar(select(CodeReservation).where(CodeReservation.record_id == rid,
                                                           CodeReservation.dossier_code == dossier))
        if row is None:
            session.add(CodeReservation(dossier_code=dossier, n=n, code=stored.meta.record_code,
                                        record_id=rid, state="stored", at=now))
        else:
            row.state = "stored"
        session.flush()
