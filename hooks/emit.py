"""Write an event into the outbox: a record of a dossier stored, or a record reused into a dossier.

Emitting is one insert into `webhook_events`, made just before the catalog transaction that stores
the record (ingest/pipeline.py `catalog`) or links the reuse (`reuse` below, which every caller of
`sohoa.archive.reuse.reuse` goes through). The event waits (`waiting`) until the catalog shows its
record or reuse link; only then are its deliveries made (hooks/outbox.py `fan_out`). So a crash at
any point loses nothing and announces nothing that did not happen: a crash after the insert and
before the commit leaves a waiting event that the retried ingest finds again (the same fact has the
same event id) or that is voided after `VOID_AFTER`; a crash after the commit leaves an event that
the next worker or loop tick delivers.

The body holds what the one-stop system already owns about the dossier and the document, and no
personal data: no owner ID, no name, no date of birth, no title or summary (they may quote a name).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Final

import sqlalchemy.exc
from sqlalchemy import delete, exists, func, select, update

from sohoa.archive.catalog import Catalog, EventRow, Record, ReuseLink
from sohoa.archive.catalog_write import WITHDRAWN
from sohoa.core.records import Kind, RecordMetadata
from sohoa.hooks.models import VOID, WAITING, WebhookEvent

RECORD_STORED: Final = "record.stored"  # a component of a dossier digitised
RESULT_DIGITISED: Final = "dossier.result_digitised"  # the dossier's result digitised
RECORD_REUSED: Final = "record.reused"  # a digitised record attached to another dossier
RECORD_REUSE_WITHDRAWN: Final = "record.reuse_withdrawn"  # that reuse undone (the same day): it stops counting
EVENT_TYPES: Final = (RECORD_STORED, RESULT_DIGITISED, RECORD_REUSED, RECORD_REUSE_WITHDRAWN)
PAYLOAD_VERSION: Final = 1
_NAMESPACE: Final = uuid.UUID("5d1c6f3e-0b7a-4c1e-9a43-736f686f6131")  # sohoa webhook event ids


@dataclass(frozen=True)
class Emitted:
    """The outbox row of a fact: its id, and whether this call inserted it (False: it was there)."""

    event_id: str
    inserted: bool


def event_id(kind: str, record_id: str, dossier: str = "", generation: int = 0) -> str:
    """The same fact always gets the same id, so a retried ingest or reuse never emits twice."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}|{record_id}|{dossier}|{generation}"))


def _iso(value: date | datetime | None) -> str | None:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    return value.isoformat() if value is not None else None


def payload(event: str, kind: str, dossier: str, meta: dict[str, Any], occurred: datetime) -> dict[str, Any]:
    """The JSON body (`meta`: the record's metadata as JSON). Codes and dates only: see the module."""
    return {
        "version": PAYLOAD_VERSION, "id": event, "type": kind, "occurred_at": _iso(occurred),
        "dossier": dossier, "agency": meta.get("agency_code"), "procedure": meta.get("procedure_code"),
        "record": {
            "id": meta["record_id"], "code": meta["record_code"], "kind": meta.get("kind"),
            "dossier": meta.get("dossier_code"), "doc_type": meta.get("doc_type_code"),
            "doc_type_name": meta.get("doc_type_name"), "pages": meta.get("page_count"),
            "issued_on": meta.get("issued_on"), "stored_at": meta.get("created_at"),
        },
    }


def _insert(catalog: Catalog, event: str, kind: str, record_id: str, dossier: str, body: dict) -> Emitted:
    """One insert; the same id again is a no-op, except that it wakes a voided event (the record
    it waited for is being committed after all)."""
    now = datetime.now(timezone.utc)
    row = WebhookEvent(id=event, type=kind, record_id=record_id, dossier_code=dossier, created_at=now,
                       state=WAITING, body=json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    try:
        with catalog.session() as session, session.begin():
            session.add(row)
        return Emitted(event, True)
    except sqlalchemy.exc.IntegrityError:
        with catalog.session() as session, session.begin():
            session.execute(update(WebhookEvent).where(WebhookEvent.id == event, WebhookEvent.state == VOID)
                            .values(state=WAITING, created_at=now))
        return Emitted(event, False)


def emit_stored(catalog: Catalog, meta: RecordMetadata) -> Emitted | None:
    """Before the catalog stores a record: its event if it belongs to a dossier, else None."""
    if not meta.dossier_code:
        return None
    kind = RESULT_DIGITISED if meta.kind == Kind.result else RECORD_STORED
    event = event_id(kind, meta.record_id)
    body = payload(event, kind, meta.dossier_code, json.loads(meta.model_dump_json()), datetime.now(timezone.utc))
    return _insert(catalog, event, kind, meta.record_id, meta.dossier_code, body)


def _withdrawals(session, record_id: str, dossier: str) -> int:
    """How many times the reuse of the record into the dossier has been withdrawn (catalog events)."""
    return session.scalar(select(func.count()).select_from(EventRow).where(
        EventRow.record_id == record_id, EventRow.action == WITHDRAWN,
        EventRow.detail.contains(f"dossier {dossier}", autoescape=True))) or 0


def _reuse_event(catalog: Catalog, kind: str, record: Record, dossier: str) -> Emitted:
    """A reuse or its withdrawal. Each withdrawal starts a new generation: a reuse withdrawn and made
    again is a new fact (a new id), and so is its second withdrawal."""
    with catalog.session() as session:
        generation = _withdrawals(session, record.id, dossier)
    event = event_id(kind, record.id, dossier, generation)
    meta = dict(record.metadata_json or {}, record_id=record.id, record_code=record.code, kind=record.kind,
                dossier_code=record.dossier_code)
    body = payload(event, kind, dossier, meta, datetime.now(timezone.utc))
    if kind == RECORD_REUSE_WITHDRAWN:
        body["withdrawal"] = generation + 1  # the n-th withdrawal of this reuse: what `committed` waits for
    return _insert(catalog, event, kind, record.id, dossier, body)


def emit_reused(catalog: Catalog, record: Record, dossier: str) -> Emitted:
    """Before a reuse link is made."""
    return _reuse_event(catalog, RECORD_REUSED, record, dossier)


def emit_withdrawn(catalog: Catalog, record: Record, dossier: str) -> Emitted:
    """Before a reuse is withdrawn (the link removed, the `reuse-withdrawn` event catalogued)."""
    return _reuse_event(catalog, RECORD_REUSE_WITHDRAWN, record, dossier)


def committed(session, event: WebhookEvent) -> bool:
    """Whether the catalog shows what the event announces: its record, its reuse link, or its
    withdrawal (the n-th `reuse-withdrawn` event of that reuse)."""
    if event.type == RECORD_REUSED:
        return bool(session.scalar(select(exists().where(ReuseLink.record_id == event.record_id,
                                                         ReuseLink.dossier_code == event.dossier_code))))
    if event.type == RECORD_REUSE_WITHDRAWN:
        wanted = json.loads(event.body).get("withdrawal", 1)
        return _withdrawals(session, event.record_id, event.dossier_code) >= wanted
    return bool(session.scalar(select(exists().where(Record.id == event.record_id))))


def discard(catalog: Catalog, emitted: Emitted) -> None:
    """Take back an event this call inserted for a reuse or withdrawal that was refused (nothing changed)."""
    if not emitted.inserted:
        return
    with catalog.session() as session, session.begin():
        row = session.get(WebhookEvent, emitted.event_id)
        if row is not None and row.state == WAITING and not committed(session, row):
            session.execute(delete(WebhookEvent).where(WebhookEvent.id == row.id))
