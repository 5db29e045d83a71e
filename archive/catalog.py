"""The catalog: a derived, rebuildable SQL view of the records in object storage.

SQLAlchemy 2.0 models; SQLite by default (under SOHOA_DATA_DIR), PostgreSQL in
production. The schema is created and upgraded by Alembic migrations only
(archive/migrations), never by `create_all`, so production databases follow
the same path as tests.
"""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

from sqlalchemy import (
    JSON, BigInteger, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint,
    create_engine, event, select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class Base(DeclarativeBase):
    pass


class Agency(Base):
    __tablename__ = "agencies"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    parent_code: Mapped[str | None] = mapped_column(String(32), ForeignKey("agencies.code"), nullable=True)
    level: Mapped[str] = mapped_column(String(20), default="")


class Dossier(Base):
    """A dossier of the one-stop registry; may be created bare when a record names it first."""

    __tablename__ = "dossiers"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(32), index=True)
    procedure_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    in_registry: Mapped[bool] = mapped_column(default=False)  # imported from the one-stop system
    owner_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Registry columns (migration 0003, issue #6): how it arrived, when and how its result was issued.
    channel: Mapped[str | None] = mapped_column(String(10), nullable=True)  # direct | postal | online
    result_issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    result_form: Mapped[str | None] = mapped_column(String(12), nullable=True)  # paper | electronic


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
    objects: Mapped[list["StoredObjectRow"]] = relationship(back_populates="record", cascade="all, delete-orphan")


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


from sqlalchemy import Float, Index  # noqa: E402  (kept apart: the ratio additions of issue #6)


class RatioTarget(Base):
    """A per-agency target (and points) of one QĐ 766 indicator; agency "*" is the default for all.

    NULL target or points means "inherit from the parent agency" (issue #6).
    """

    __tablename__ = "ratio_targets"
    agency_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    indicator: Mapped[str] = mapped_column(String(32), primary_key=True)
    target: Mapped[float | None] = mapped_column(Float, nullable=True)  # a fraction 0..1
    points: Mapped[float | None] = mapped_column(Float, nullable=True)


# Indexes the ratio queries lean on (migration 0003): period filters on the registry dates, and a
# covering (dossier, kind) index so "has a component / a result record" never touches the table.
Index("ix_dossiers_received_on", Dossier.received_on)
Index("ix_dossiers_result_issued_on", Dossier.result_issued_on)
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


def make_engine(url: str) -> Engine:
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):  # concurrent readers, durable writes
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Several processes (a worker pool, the watcher, the web app) may open a new catalog at once:
    # one migrates, the others wait for it and find the schema current.
    with _migration_lock(engine), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(1936681313)")  # 0x736f6861, 'soha'
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Catalog:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        migrate(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessions()

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

    def dispose(self) -> None:
        self.engine.dispose()
