"""Jobs and job items: the durable account of every file handed to the workers.

The workers' own tables, on the neutral base of sohoa.core.db; only the functions here write SQL
against them.

A job is a batch, the hot folder (`watch`) or the web uploads. Each item is one
file (path + SHA-256) and moves queued → running → stored | duplicate |
quarantined, or to `failed` (a run broke; the supervisor runs it again until
`max_attempts`). Workers, watcher, batch runner and web app share this table,
so the state survives any process being killed. Unlike the records, this is operational
state: `rebuild-catalog` cannot derive it from the store, and leaves it alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Final, Iterable

from sohoa.core.db import Base, Database
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

QUEUED: Final = "queued"
RUNNING: Final = "running"
FAILED: Final = "failed"
STORED: Final = "stored"
DUPLICATE: Final = "duplicate"
QUARANTINED: Final = "quarantined"
TERMINAL: Final = frozenset({STORED, DUPLICATE, QUARANTINED})
RETRIED: Final = "retried"  # a quarantined item sent again (as a new item) after its fields were fixed
DISMISSED: Final = "dismissed"  # a quarantined item set aside: kept, with who, when and why
IN_FLIGHT: Final = frozenset({QUEUED, RUNNING})


def now() -> datetime:
    return datetime.now(timezone.utc)


class Job(Base):
    __tablename__ = "jobs"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class JobItem(Base):
    __tablename__ = "job_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_name: Mapped[str] = mapped_column(String(120), ForeignKey("jobs.name"), index=True)
    path: Mapped[str] = mapped_column(Text)  # where the file came from (source of a re-stage)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    fields: Mapped[dict] = mapped_column(JSON)  # IngestFields.to_dict(), as given
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pages_done: Mapped[int] = mapped_column(Integer, default=0)
    record_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    record_code: Mapped[str | None] = mapped_column(String(96), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    settled: Mapped[bool] = mapped_column(Boolean, default=False)  # the watcher moved the file
    # A quarantined file someone dealt with ("Cần xử lý", migration 0010): retried (as item
    # `retry_item_id`) or dismissed, by whom, when and why; the file itself is kept.
    handled: Mapped[str | None] = mapped_column(String(16), nullable=True)
    handled_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    handled_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    retry_item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def name(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]

    @property
    def seconds(self) -> float | None:
        if self.submitted_at is None or self.finished_at is None:
            return None
        return round((_aware(self.finished_at) - _aware(self.submitted_at)).total_seconds(), 2)


def _aware(value: datetime) -> datetime:
    # SQLite gives naive datetimes back even for timezone=True columns; they were stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def ensure_job(catalog: Database, name: str, source: str) -> Job:
    with catalog.session() as session, session.begin():
        job = session.get(Job, name)
        if job is None:
            job = Job(name=name, source=source, created_at=now(), updated_at=now())
            session.add(job)
        return job


def job(catalog: Database, name: str) -> Job | None:
    with catalog.session() as session:
        return session.get(Job, name)


def jobs(catalog: Database) -> list[Job]:
    with catalog.session() as session:
        return list(session.scalars(select(Job).order_by(Job.created_at.desc())))


def add_item(catalog: Database, job_name: str, path: str, sha256: str, size: int, fields: dict) -> JobItem:
    """The item for this file in this job: the existing one when the job runs again (resume)."""
    with catalog.session() as session, session.begin():
        if session.get(Job, job_name) is None:  # the hot folder's and the uploads' jobs start themselves
            session.add(Job(name=job_name, source="", created_at=now(), updated_at=now()))
            session.flush()
        item = session.scalar(select(JobItem).where(
            JobItem.job_name == job_name, JobItem.path == path, JobItem.sha256 == sha256))
        if item is None:
            item = JobItem(job_name=job_name, path=path, sha256=sha256, size=size, fields=fields,
                           status=QUEUED, attempts=0, pages_done=0, settled=False)
            session.add(item)
        session.execute(update(Job).where(Job.name == job_name).values(updated_at=now()))
    return item


def get(catalog: Database, item_id: int) -> JobItem | None:
    with catalog.session() as session:
        return session.get(JobItem, item_id)


def items(catalog: Database, job_name: str | None = None, statuses: Iterable[str] | None = None,
          settled: bool | None = None, newest_first: bool = False, limit: int | None = None) -> list[JobItem]:
    """The items matching every filter given, in the order they were added (or newest first)."""
    query = select(JobItem).order_by(JobItem.id.desc() if newest_first else JobItem.id).limit(limit)
    if job_name is not None:
        query = query.where(JobItem.job_name == job_name)
    if statuses is not None:
        query = query.where(JobItem.status.in_(list(statuses)))
    if settled is not None:
        query = query.where(JobItem.settled == settled)
    with catalog.session() as session:
        return list(session.scalars(query))


def any_open(catalog: Database) -> bool:
    """Anything failed or in flight, in any job: only then has the supervisor work to tend."""
    with catalog.session() as session:
        return bool(session.scalar(select(exists().where(JobItem.status.in_([FAILED, *IN_FLIGHT])))))


def _set(catalog: Database, item_id: int, **values) -> None:
    with catalog.session() as session, session.begin():
        session.execute(update(JobItem).where(JobItem.id == item_id).values(**values))


def mark_queued(catalog: Database, item_id: int) -> None:
    _set(catalog, item_id, status=QUEUED, submitted_at=now(), pages_done=0)


def start_attempt(catalog: Database, item_id: int) -> JobItem | None:
    """A worker takes the item: one more attempt, unless it already ended (a redelivered task)."""
    with catalog.session() as session, session.begin():
        item = session.get(JobItem, item_id)
        if item is None or item.terminal:
            return item
        item.attempts += 1
        item.status = RUNNING
        item.pages_done = 0
        return item


def set_pages(catalog: Database, item_id: int, pages: int) -> None:
    _set(catalog, item_id, pages=pages)


def add_pages_done(catalog: Database, item_id: int, pages: int) -> None:
    _set(catalog, item_id, pages_done=JobItem.pages_done + pages)


def finish(catalog: Database, item_id: int, status: str, record_id: str | None = None,
           record_code: str | None = None, reason: str | None = None, exit_code: int | None = None,
           pages: int | None = None) -> None:
    assert status in TERMINAL
    values = dict(status=status, record_id=record_id, record_code=record_code, reason=reason,
                  exit_code=exit_code, finished_at=now())
    if pages is not None:
        values.update(pages=pages, pages_done=pages)
    with catalog.session() as session, session.begin():
        # Only the first ending counts: a redelivered duplicate run must not overwrite `stored`.
        session.execute(update(JobItem).where(JobItem.id == item_id, JobItem.status.not_in(TERMINAL))
                        .values(**values))


def mark_failed(catalog: Database, item_id: int, reason: str) -> None:
    with catalog.session() as session, session.begin():
        session.execute(update(JobItem).where(JobItem.id == item_id, JobItem.status.not_in(TERMINAL))
                        .values(status=FAILED, reason=reason))


def mark_settled(catalog: Database, item_id: int) -> None:
    _set(catalog, item_id, settled=True)


def stuck(catalog: Database, older_than: timedelta) -> list[JobItem]:
    """In-flight items nobody has finished for too long (their worker and message were lost)."""
    limit = now() - older_than
    with catalog.session() as session:
        return list(session.scalars(select(JobItem).where(
            JobItem.status.in_(list(IN_FLIGHT)), JobItem.submitted_at < limit)))


def counts(catalog: Database, job_name: str) -> dict[str, int]:
    """Files per status, plus pages known and pages done, for progress bars and `sohoa jobs`."""
    with catalog.session() as session:
        rows = session.execute(
            select(JobItem.status, func.count(), func.coalesce(func.sum(JobItem.pages), 0),
                   func.coalesce(func.sum(JobItem.pages_done), 0), func.count(JobItem.pages))
            .where(JobItem.job_name == job_name).group_by(JobItem.status)).all()
    out = {"files": 0, "pages": 0, "pages_done": 0, "files_counted": 0}  # files_counted: their pages known
    for status, files, pages, done, counted in rows:
        out[status] = int(files)
        out["files"] += int(files)
        out["pages"] += int(pages)
        out["pages_done"] += int(done)
        out["files_counted"] += int(counted)
    return out


def unindexed(catalog: Database, job_name: str) -> int:
    """Stored items of the job whose record has no `indexed` event yet: stored but not searchable."""
    from sohoa.archive.catalog import EventRow

    indexed = select(EventRow.record_id).where(EventRow.action == "indexed")
    with catalog.session() as session:
        return int(session.scalar(select(func.count()).select_from(JobItem).where(
            JobItem.job_name == job_name, JobItem.status == STORED, JobItem.record_id.not_in(indexed))) or 0)


def quarantined(catalog: Database, handled: bool = False, agencies: Iterable[str] | None = None,
                limit: int = 500) -> list[JobItem]:
    """Quarantined items, newest first: those nobody has dealt with yet (or, `handled`, those
    retried or dismissed); `agencies`: only items filed for one of them (None: every item)."""
    query = select(JobItem).where(JobItem.status == QUARANTINED,
                                  JobItem.handled.is_not(None) if handled else JobItem.handled.is_(None))
    if agencies is not None:
        query = query.where(JobItem.fields["agency"].as_string().in_(sorted(agencies)))
    order = JobItem.handled_at.desc() if handled else JobItem.id.desc()
    with catalog.session() as session:
        return list(session.scalars(query.order_by(order, JobItem.id.desc()).limit(limit)))


def set_handled(catalog: Database, item_id: int, how: str, by: str, note: str,
                retry_item_id: int | None = None) -> bool:
    """Record that a quarantined item was retried or dismissed; only the first one counts (False after)."""
    assert how in (RETRIED, DISMISSED)
    with catalog.session() as session, session.begin():
        return bool(session.execute(update(JobItem).where(
            JobItem.id == item_id, JobItem.status == QUARANTINED, JobItem.handled.is_(None)).values(
            handled=how, handled_by=by[:64], handled_at=now(), handled_note=note, retry_item_id=retry_item_id)).rowcount)


def ended_for(catalog: Database, username: str, since: datetime | None = None, limit: int = 100
              ) -> list[JobItem]:
    """Items the user handed in (their `scanned_by`) that ended (after `since`), newest first."""
    query = select(JobItem).where(JobItem.fields["scanned_by"].as_string() == username,
                                  JobItem.status.in_(sorted(TERMINAL)), JobItem.finished_at.is_not(None))
    if since is not None:
        query = query.where(JobItem.finished_at > since)
    with catalog.session() as session:
        return list(session.scalars(query.order_by(JobItem.finished_at.desc(), JobItem.id.desc()).limit(limit)))
