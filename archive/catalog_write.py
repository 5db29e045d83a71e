"""Put a stored record (metadata, objects, events) and its reuse links into the catalog.

The only writer of the catalog's tables. A record's dossier is its `dossier_code`; the dossier
registry belongs to ratios/ and is never written from here."""

from __future__ import annotations

import json
import random
import re
import time
from datetime import datetime, timezone
from typing import Final

import sqlalchemy.exc
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from sohoa.archive.catalog import Catalog, CodeReservation, EventRow, Record, ReuseLink, StoredObjectRow
from sohoa.archive.records import metadata_version_of
from sohoa.core import codes
from sohoa.core.errors import SohoaError
from sohoa.core.records import Event, Kind, ObjectInfo, RecordMetadata

_RESULT = re.compile(r"^(?P<dossier>.+)-KQ(?P<n>\d+)$")


def event_row(event: Event) -> EventRow:
    return EventRow(record_id=event.record_id, action=event.action, at=event.at, agent=event.agent,
                    tool=event.tool, tool_version=event.tool_version, outcome=event.outcome,
                    detail=event.detail)


def add_record(catalog: Catalog, meta: RecordMetadata, objects: dict[str, ObjectInfo],
               events: list[Event], prefix: str | None = None) -> None:
    with catalog.session() as session, session.begin():
        insert_record(session, meta, objects, events, prefix)


def _prefix_of(objects: dict[str, ObjectInfo], meta: RecordMetadata) -> str:
    """The record's folder: where its objects are (metadata.json is always among them)."""
    info = objects.get("metadata.json") or objects.get("original")
    if info is not None:
        return info.key.rsplit("/", 1)[0]
    from sohoa.archive.records import record_prefix

    return record_prefix(meta)


def _apply(record: Record, meta: RecordMetadata, objects: dict[str, ObjectInfo], prefix: str | None) -> None:
    record.code = meta.record_code
    record.kind = meta.kind.value
    record.agency_code = meta.agency_code
    record.dossier_code = meta.dossier_code
    record.procedure_code = meta.procedure_code
    record.doc_type_code = meta.doc_type_code
    record.owner_id = meta.owner_id
    record.title = meta.title
    record.issued_on = meta.issued_on
    record.valid_until = meta.valid_until
    record.retention_code = meta.retention_code
    record.page_count = meta.page_count
    record.original_sha256 = meta.original_sha256
    record.prefix = prefix or _prefix_of(objects, meta)
    record.created_at = meta.created_at
    record.metadata_json = json.loads(meta.model_dump_json())
    record.metadata_version = max(metadata_version_of(objects), 1)
    record.review_confidence = meta.review_confidence if (meta.unconfirmed or meta.disagreements) else None


def insert_record(session: Session, meta: RecordMetadata, objects: dict[str, ObjectInfo],
                  events: list[Event], prefix: str | None = None) -> None:
    """The record, its objects and events; its result code's reservation becomes `stored`."""
    record = Record(id=meta.record_id)
    _apply(record, meta, objects, prefix)
    record.objects = [StoredObjectRow(name=name, key=info.key, sha256=info.sha256, size=info.size)
                      for name, info in objects.items()]
    session.add(record)
    session.add_all(event_row(event) for event in events)
    _mark_stored(session, meta)


def set_metadata(catalog: Catalog, meta: RecordMetadata, objects: dict[str, ObjectInfo],
                 events: list[Event] = ()) -> bool:
    """The catalog row follows a newer metadata version in storage (`write_metadata_version`).

    Only moves forward: returns False (and changes nothing) when the catalog already has this
    version or a later one. `events` are added (the `described`/`corrected` event)."""
    version = metadata_version_of(objects)
    with catalog.session() as session, session.begin():
        record = session.get(Record, meta.record_id)
        if record is None:
            raise SohoaError(f"no record {meta.record_id!r} in the catalog")
        if record.metadata_version >= version:
            return False
        _apply(record, meta, objects, record.prefix)
        known = {row.name: row for row in record.objects}
        for name, info in objects.items():
            row = known.get(name)
            if row is None:
                record.objects.append(StoredObjectRow(name=name, key=info.key, sha256=info.sha256, size=info.size))
            else:
                row.key, row.sha256, row.size = info.key, info.sha256, info.size
        session.add_all(event_row(event) for event in events)
        _mark_stored(session, meta)
    return True


# --- result codes: reserved, not counted -----------------------------------------------------


def result_number(code: str) -> tuple[str, int] | None:
    """(dossier, n) of a result code `<dossier>-KQ<n>`, None for any other code."""
    found = _RESULT.match(code or "")
    return (found["dossier"], int(found["n"])) if found else None


def reserve_result_code(catalog: Catalog, dossier_code: str, record_id: str) -> str:
    """The result code of `record_id` in the dossier, reserved in its own transaction.

    The retry of a record gets its reservation back; anyone else gets the next number no other
    reservation or catalogued record holds. Concurrent callers never get the same code: the
    (dossier, n) unique constraint refuses the loser, which takes the next number."""
    dossier = codes.dossier_code(dossier_code)
    for attempt in range(50):
        try:
            with catalog.session() as session, session.begin():
                mine = session.scalar(select(CodeReservation).where(
                    CodeReservation.record_id == record_id, CodeReservation.dossier_code == dossier))
                if mine is not None:
                    return mine.code
                taken = session.scalar(select(func.max(CodeReservation.n))
                                       .where(CodeReservation.dossier_code == dossier)) or 0
                counted = [result_number(code) for code in session.scalars(select(Record.code).where(
                    Record.dossier_code == dossier, Record.kind == Kind.result.value))]
                n = max([taken, *(found[1] for found in counted if found)]) + 1
                code = codes.result_code(dossier, n)
                session.add(CodeReservation(dossier_code=dossier, n=n, code=code, record_id=record_id,
                                            state="pending", at=datetime.now(timezone.utc)))
            return code
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError):
            # another ingest took that number first (or held the SQLite write lock): try the next
            time.sleep(random.uniform(0.005, 0.05) * min(attempt + 1, 10))
    raise SohoaError(f"{dossier}: could not reserve a result number (too much contention); try again")


def release_result_code(catalog: Catalog, record_id: str, code: str) -> None:
    """Give back a pending reservation whose ingest ended before any metadata named it."""
    with catalog.session() as session, session.begin():
        session.execute(delete(CodeReservation).where(
            CodeReservation.record_id == record_id, CodeReservation.code == code,
            CodeReservation.state == "pending"))


def _mark_stored(session: Session, meta: RecordMetadata) -> None:
    found = result_number(meta.record_code) if meta.kind == Kind.result else None
    if found is None:
        return
    session.execute(update(CodeReservation).where(CodeReservation.code == meta.record_code,
                                                  CodeReservation.record_id == meta.record_id)
                    .values(state="stored"))


def next_result_number(catalog: Catalog, dossier_code: str) -> int:
    """Deprecated: counting races (issue #12). Use `reserve_result_code`."""
    with catalog.session() as session:
        count = session.scalar(select(func.count()).select_from(Record).where(
            Record.dossier_code == dossier_code, Record.kind == Kind.result.value))
    return int(count or 0) + 1


def add_event(catalog: Catalog, event: Event) -> None:
    with catalog.session() as session, session.begin():
        session.add(event_row(event))


def add_reuse(catalog: Catalog, event: Event, dossier_code: str) -> None:
    """A record reused into a later dossier: the link the ratios count and the `reused` event."""
    with catalog.session() as session, session.begin():
        session.add(ReuseLink(record_id=event.record_id, dossier_code=dossier_code, at=event.at, by=event.agent))
        session.add(event_row(event))


def remove_reuse(catalog: Catalog, event: Event, dossier_code: str) -> bool:
    """A reuse withdrawn: the link stops counting, and the `reuse-withdrawn` event is kept.
    False when there was no link to remove (a retry)."""
    with catalog.session() as session, session.begin():
        removed = session.execute(delete(ReuseLink).where(ReuseLink.record_id == event.record_id,
                                                          ReuseLink.dossier_code == dossier_code)).rowcount
        session.add(event_row(event))
    return bool(removed)


_REUSED = re.compile(r"(?:^|: )dossier (\S+)")
WITHDRAWN: Final = "reuse-withdrawn"


def reused_dossier(event: Event) -> str | None:
    """The dossier a successful `reused` event names (`dossier <code>`, `metadata version N:
    dossier <code>`), else None."""
    if event.action != "reused" or event.outcome != "success":
        return None
    found = _REUSED.search(event.detail)
    return found.group(1) if found else None


def withdrawn_dossier(event: Event) -> str | None:
    """The dossier a `reuse-withdrawn` event names, else None."""
    if event.action != WITHDRAWN:
        return None
    found = _REUSED.search(event.detail)
    return found.group(1) if found else None


_VERSION = re.compile(r"metadata version (\d+)")


def _order(event: Event) -> tuple:
    """Events of one second (stored times are whole seconds) ordered by the metadata version they name."""
    found = _VERSION.search(event.detail or "")
    return event.at.replace(microsecond=0), int(found.group(1)) if found else 0


def live_reuses(events: list[Event]) -> dict[str, Event]:
    """Dossier → the `reused` event that still stands (the first since the last withdrawal)."""
    first: dict[str, Event] = {}
    for event in sorted(events, key=_order):
        code = reused_dossier(event)
        if code is not None:
            first.setdefault(code, event)
        withdrawn = withdrawn_dossier(event)
        if withdrawn is not None:
            first.pop(withdrawn, None)
    return first


def restore_reuse_links(session: Session, events: list[Event], meta: RecordMetadata | None = None) -> None:
    """Reuse links are derived from the metadata's `reused_in` (when and by whom from its `reused`
    event), and from `reused` events for archives older than that field, so a rebuilt catalog
    keeps them. The metadata decides: a dossier withdrawn (a `reuse-withdrawn` event) is linked
    again only while `reused_in` lists it."""
    first = live_reuses(events)
    withdrawn = {code for event in events if (code := withdrawn_dossier(event)) is not None}
    listed = list(meta.reused_in) if meta is not None else []
    dossiers = list(dict.fromkeys([*listed, *(code for code in first if code not in withdrawn)]))
    for code in dossiers:
        event = first.get(code)
        at, by = (event.at, event.agent) if event is not None else (meta.created_at, "sohoa")
        session.add(ReuseLink(record_id=meta.record_id if meta is not None else event.record_id,
                              dossier_code=code, at=at, by=by))
