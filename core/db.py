"""The one SQL database of sohoa: the neutral declarative base, the engine, and the schema upgrade.

Every package that keeps state in SQL declares its tables on `Base` and is the only one that
writes SQL against them; the others call its functions:

    archive/catalog.py  records, objects, events, reuse_links   derived: `rebuild-catalog` rebuilds them
    ratios/models.py    agencies, dossiers, ratio_targets       the one-stop registry and the targets
    web/models.py       users, web_sessions, api_tokens, audit_log
    workers/jobs.py     jobs, job_items

SQLite by default (under SOHOA_DATA_DIR), PostgreSQL in production. The schema is created and
upgraded by one Alembic history (the `migrations/` folder beside the packages), never by
`create_all`, so production databases follow the same path as tests.
"""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path
from typing import Final, Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

MIGRATIONS: Final = Path(__file__).resolve().parent.parent / "migrations"
_ADVISORY_LOCK: Final = 1936681313  # 0x736f6861, 'soha': one migrating process per PostgreSQL database


class Base(DeclarativeBase):
    """The declarative base of every table, whichever package owns it."""


def make_engine(url: str) -> Engine:
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            from sohoa.core.private import prepare_sqlite

            prepare_sqlite(Path(database))  # 0600, and so are its -wal and -shm
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
    # Several processes (a worker pool, the watcher, the web app) may open a new database at once:
    # one migrates, the others wait for it and find the schema current.
    with _migration_lock(engine), engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK})")
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


class Database:
    """An open, migrated database: the engine and its sessions. Owners' functions take one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        migrate(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()
