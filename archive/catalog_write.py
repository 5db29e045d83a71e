"""Put a stored record (metadata, objects, events) and its reuse links into the catalog.

The only writer of the catalog's tables. A record's dossier is its `dossier_code`; the dossier
registry belongs to ratios/ and is never written from here."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sohoa.archive.catalog import Catalog, EventRow, Record, ReuseLink, StoredObjectRow
from sohoa.archive.records import record_prefix
from sohoa.core.records import Event, Kind, ObjectInfo, RecordMetadata


def event_row(event: Event) -> EventRow:
    return EventRow(record_id=event.record_id, action=event.action, at=event.at, agent=event.agent,
                    tool=event.tool, tool_version=event.tool_version, outcome=event.outcome,
                    detail=event.detail)


def add_record(catalog: Catalog, meta: RecordMetadata, objects: dict[str, ObjectInfo],
               events: list[Event]) -> None:
    with catalog.session() as session, session.begin():
        insert_record(session, meta, objects, events)


def insert_record(session: Session, meta: RecordMetadata, objects: dict[str, ObjectInfo],
                  events: list[Event]) -> None:
    record = Record(
        id=meta.record_id, code=meta.record_code, kind=meta.kind.value, agency_code=meta.agency_code,
        dossier_code=meta.dossier_code, procedure_code=meta.procedure_code,
        doc_type_code=meta.doc_type_code, owner_id=meta.owner_id, title=meta.title,
        issued_on=meta.issued_on, valid_until=meta.valid_until, retention_code=meta.retention_code,
        page_count=meta.page_count, original_sha256=meta.original_sha256, prefix=record_prefix(meta),
        created_at=meta.created_at, metadata_json=json.loads(meta.model_dump_json()),
    )
    record.objects = [StoredObjectRow(name=name, key=info.key, sha256=info.sha256, size=info.size)
                      for name, info in objects.items()]
    session.add(record)
    session.add_all(event_row(event) for event in events)


def next_result_number(catalog: Catalog, dossier_code: str) -> int:
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


def restore_reuse_links(session: Session, events: list[Event]) -> None:
    """Reuse links are derived from `reused` events, so a rebuilt catalog keeps them."""
    for event in events:
        if event.action == "reused" and event.outcome == "success" and event.detail.startswith("dossier "):
            code = event.detail.split()[1]
            session.add(ReuseLink(record_id=event.record_id, dossier_code=code, at=event.at, by=event.agent))
