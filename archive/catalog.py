"""The catalog: a derived, rebuildable SQL view of the records in object storage.

Derived, and rebuilt from the record folders alone by `sohoa rebuild-catalog` (archive/rebuild.py):
the tables declared here, `records`, `objects`, `events` and `reuse_links` (a link is read back
from the record's `reused` event). A record's `dossier_code` is a plain column: the dossier
registry is not the archive's (archive sits below ratios and does not import it).

Not derived, and never touched by a rebuild: `fixity_runs` (declared here, written by
archive/fixity.py), `code_reservations` (declared here; a rebuild keeps its pending rows and marks
stored the code of every record it restores) and the other owners' tables in the same database (see
sohoa.core.db) — the agency tree, the dossier registry and the ratio targets (ratios/models.py),
users, sessions, API tokens and the audit log (web/models.py), jobs and job items
(workers/jobs.py). Storage cannot give them back: back up the database for them.

Other packages read the catalog through `Catalog`'s methods and write it through
archive/catalog_write.py; ratios/aggregate.py builds its counts on the query parts at the end.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Final

from sqlalchemy import (
    JSON, BigInteger, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
    case, exists, func, select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import ColumnElement, Subquery

from sohoa.core.db import Base, Database
from sohoa.core.records import Kind

class ReuseLink(Base):
    """An already-digitised record attached to a later dossier instead of asking for the paper again."""

    __tablename__ = "reuse_links"
    __table_args__ = (UniqueConstraint("record_id", "dossier_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by: Mapped[str] = mapped_column(String(100))


class Record(Base):
    __tablename__ = "records"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    code: Mapped[str] = mapped_column(String(96), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    agency_code: Mapped[str] = mapped_column(String(32), index=True)
    dossier_code: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    procedure_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    doc_type_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    owner_id: Mapped[str | None] = mapped_column(String(20), index=True, nullable=True)
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    retention_code: Mapped[str] = mapped_column(String(2))
    page_count: Mapped[int] = mapped_column(Integer)
    original_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(200))  # folder of the record in object storage
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    metadata_json: Mapped[dict] = mapped_column(JSON)
    metadata_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # the current one in storage
    # The review queue (issue #14): lowest confidence of the unconfirmed proposals, NULL = none.
    review_confidence: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    objects: Mapped[list["StoredObjectRow"]] = relationship(back_populates="record", cascade="all, delete-orphan")


LIST_SORTS: Final = {"stored": Record.created_at, "issued": Record.issued_on, "type": Record.doc_type_code,
                     "code": Record.code}  # the orders of list_records (the web's document list)


class CodeReservation(Base):
    """A result number of a dossier, reserved for one record before anything is written to storage.

    (dossier, n) is unique, so two concurrent ingests never get the same KQn; (record id, dossier)
    too, so a retry of the same record gets its own reservation back. `state` is `pending` until the
    record is in the catalog, then `stored`. A pending reservation is released when its ingest
    ends before writing metadata that names it; once a code is in stored metadata it stays taken.
    Not derived: `sohoa rebuild-catalog` keeps the pending rows and marks stored every code it
    finds in storage.
    """

    __tablename__ = "code_reservations"
    __table_args__ = (UniqueConstraint("dossier_code", "n"), UniqueConstraint("record_id", "dossier_code"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_code: Mapped[str] = mapped_column(String(64))
    n: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(96), unique=True)
    record_id: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(12))  # pending | stored
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StoredObjectRow(Base):
    __tablename__ = "objects"
    __table_args__ = (UniqueConstraint("record_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(300), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    record: Mapped[Record] = relationship(back_populates="objects")


# The ratio queries count records per (dossier, kind) without touching the table (migration 0003).
Index("ix_records_dossier_kind", Record.dossier_code, Record.kind)


class EventRow(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(32), index=True)
    action: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    agent: Mapped[str] = mapped_column(String(100))
    tool: Mapped[str] = mapped_column(String(100))
    tool_version: Mapped[str] = mapped_column(String(50))
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text)


class FixityRun(Base):
    """One fixity run (archive/fixity.py): a full check, a repair or a scheduled slice. Not derived:
    storage does not hold it, and a rebuild keeps it. A slice's `slot` (the schedule's period
    number) is unique, so of several processes that find a slice due, one runs it."""

    __tablename__ = "fixity_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(12))  # full | repair | slice
    slot: Mapped[int | None] = mapped_column(BigInteger, unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(12))  # running | ok | problems | error
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    total: Mapped[int] = mapped_column(Integer, default=0)  # records in catalog or storage at the start
    checked: Mapped[int] = mapped_column(Integer, default=0)
    objects: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    problems: Mapped[int] = mapped_column(Integer, default=0)
    repaired: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[str | None] = mapped_column(String(32), nullable=True)  # a slice: the last record id checked
    findings: Mapped[list] = mapped_column(JSON, default=list)  # the first FINDINGS_KEPT findings
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class Catalog(Database):
    """The database, seen from the archive: lookups over the derived tables."""

    def record_by_sha(self, sha256: str) -> Record | None:
        with self.session() as session:
            return session.scalar(select(Record).where(Record.original_sha256 == sha256))

    def record(self, id_or_code: str) -> Record | None:
        with self.session() as session:
            found = session.get(Record, id_or_code) or session.scalar(
                select(Record).where(Record.code == id_or_code)
            )
            if found is not None:
                found.objects  # load while the session is open
            return found

    def records_of_dossier(self, dossier_code: str) -> list[Record]:
        """The records filed in a dossier (objects loaded), oldest first."""
        with self.session() as session:
            found = list(session.scalars(select(Record).where(Record.dossier_code == dossier_code)
                                         .order_by(Record.created_at, Record.id)))
            for record in found:
                record.objects  # load while the session is open
            return found

    def list_records(self, dossier_code: str | None = None, owner_id: str | None = None,
                     agency_code: str | None = None, limit: int = 50, offset: int = 0,
                     agencies: Collection[str] | None = None, doc_type_code: str | None = None,
                     stored_from: datetime | None = None, stored_before: datetime | None = None,
                     sort: str = "stored", descending: bool = True) -> tuple[int, list[Record]]:
        """(how many match, one page of them, newest stored first unless `sort` says otherwise:
        stored | issued | type | code); an empty filter matches everything. `agencies` (a caller's
        scope) keeps records of those agencies only: None = all, empty = none."""
        query = select(Record)
        if agencies is not None:
            query = query.where(Record.agency_code.in_(sorted(agencies)))
        for column, value in ((Record.dossier_code, dossier_code), (Record.owner_id, owner_id),
                              (Record.agency_code, agency_code), (Record.doc_type_code, doc_type_code)):
            if value:
                query = query.where(column == value)
        if stored_from is not None:
            query = query.where(Record.created_at >= stored_from)
        if stored_before is not None:
            query = query.where(Record.created_at < stored_before)
        column = LIST_SORTS.get(sort, Record.created_at)
        order = [(column.desc() if descending else column.asc()).nulls_last()]
        if column is not Record.created_at:
            order.append(Record.created_at.desc())
        with self.session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            page = session.scalars(query.order_by(*order, Record.id).offset(offset).limit(limit))
            return int(total or 0), list(page)

    def review_queue(self, limit: int = 50, offset: int = 0,
                     agencies: Collection[str] | None = None) -> tuple[int, list[Record]]:
        """Records with proposals nobody has confirmed, least certain first (agencies: as list_records)."""
        query = select(Record).where(Record.review_confidence.is_not(None))
        if agencies is not None:
            query = query.where(Record.agency_code.in_(sorted(agencies)))
        with self.session() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery()))
            page = session.scalars(query.order_by(Record.review_confidence, Record.created_at, Record.id)
                                   .offset(offset).limit(limit))
            return int(total or 0), list(page)

    def record_documents(self) -> list[tuple[dict, str]]:
        """(metadata, storage folder) of every record: what the search index is rebuilt from."""
        with self.session() as session:
            return [(metadata, prefix) for metadata, prefix in
                    session.execute(select(Record.metadata_json, Record.prefix))]

    def events_of(self, record_id: str) -> list[EventRow]:
        with self.session() as session:
            return list(session.scalars(select(EventRow).where(EventRow.record_id == record_id)
                                        .order_by(EventRow.at, EventRow.id)))

    def reuse_links_of(self, record_id: str) -> list[ReuseLink]:
        """The later dossiers this record was reused in, oldest first."""
        with self.session() as session:
            return list(session.scalars(select(ReuseLink).where(ReuseLink.record_id == record_id)
                                        .order_by(ReuseLink.at)))

    def reuse_links_into(self, dossier_code: str) -> list[ReuseLink]:
        """The records reused into this dossier, oldest first."""
        with self.session() as session:
            return list(session.scalars(select(ReuseLink).where(ReuseLink.dossier_code == dossier_code)
                                        .order_by(ReuseLink.at, ReuseLink.id)))

    def reuse_link(self, record_id: str, dossier_code: str) -> ReuseLink | None:
        with self.session() as session:
            return session.scalar(select(ReuseLink).where(ReuseLink.record_id == record_id,
                                                          ReuseLink.dossier_code == dossier_code))

    def records_in_dossier(self, dossier_code: str) -> set[str]:
        """Ids of the records the dossier already has: filed in it or reused into it."""
        with self.session() as session:
            linked = set(session.scalars(select(ReuseLink.record_id).where(ReuseLink.dossier_code == dossier_code)))
            return linked | set(session.scalars(select(Record.id).where(Record.dossier_code == dossier_code)))

    def owner_in_dossier(self, dossier_code: str) -> str | None:
        """The owner named by a record filed in the dossier, if any."""
        with self.session() as session:
            return session.scalar(select(Record.owner_id).where(
                Record.dossier_code == dossier_code, Record.owner_id.is_not(None)).limit(1))


# Query parts for the owners above that count over the catalog in SQL (ratios/aggregate.py), so
# a million dossiers are counted in the database without their queries naming the archive's tables.

def filed_in(dossier_code: ColumnElement, kind: Kind) -> ColumnElement[bool]:
    """EXISTS a record of this kind filed in the dossier (answered by the (dossier, kind) index)."""
    return exists().where(Record.dossier_code == dossier_code, Record.kind == kind.value)


def reused_into(dossier_code: ColumnElement) -> ColumnElement[bool]:
    """EXISTS a reuse link of an earlier record into the dossier."""
    return exists().where(ReuseLink.dossier_code == dossier_code)


def filed_flags() -> Subquery:
    """Per dossier code that any record names: `component` and `result`, 1 if such a record is filed."""
    def has(kind: Kind):
        return func.max(case((Record.kind == kind.value, 1), else_=0))

    return (select(Record.dossier_code.label("code"), has(Kind.component).label("component"),
                   has(Kind.result).label("result"))
            .where(Record.dossier_code.is_not(None)).group_by(Record.dossier_code).subquery("filed"))


def reused_dossiers() -> Subquery:
    """The distinct dossier codes (`code`) some record was reused into."""
    return select(ReuseLink.dossier_code.label("code")).distinct().subquery("reused")


DERIVED: Final = (ReuseLink, EventRow, StoredObjectRow, Record)  # what a rebuild empties, children first
