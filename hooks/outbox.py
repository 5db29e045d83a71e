"""The outbox's bookkeeping: receivers, deliveries due, leases, the attempt log, backoff, redelivery.

An event's life (hooks/emit.py writes it `waiting`):
- `fan_out`: once the catalog shows its record (or reuse link), one delivery per active receiver
  is made and the event is `ready`; an event whose record never came is `void` after VOID_AFTER;
- `claim`: a due delivery is leased to one driver (a worker task, the embedded loop, the CLI),
  so two never post it at the same time;
- `finish`: the attempt goes into the log; a 2xx ends the delivery (`delivered`), anything else
  schedules the next attempt `backoff × 2^(n-1)` seconds later (at most `backoff_max`), until
  `max_attempts`, then `failed`: kept, and `requeue` (`sohoa webhooks redeliver`) starts it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Final

from sqlalchemy import exists, func, or_, select, update

from sohoa.archive.catalog import Catalog
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.settings import Settings
from sohoa.hooks import delivery, emit
from sohoa.hooks.models import (
    DELIVERED, FAILED, PENDING, READY, VOID, WAITING, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent,
)

VOID_AFTER: Final = timedelta(days=7)  # an event whose record is still not in the catalog by then
LEASE_SLACK: Final = 30.0  # seconds a lease outlives the attempt's timeout
FAN_OUT_BATCH: Final = 200


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite gives datetimes back without their zone; every one we write is UTC."""
    return value.replace(tzinfo=timezone.utc) if value is not None and value.tzinfo is None else value


@dataclass(frozen=True)
class Endpoint:
    id: int
    url: str
    secret_file: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to this driver: everything one attempt needs."""

    delivery_id: int
    event_id: str
    event_type: str
    body: bytes
    url: str
    secret_file: str
    attempt: int  # the number of this attempt since the delivery was (re)queued, from 1


@dataclass(frozen=True)
class Finished:
    """How an attempt left its delivery: `delivered`, `pending` (next try in `retry_in` s) or `failed`."""

    delivery_id: int
    event_id: str
    url: str
    state: str
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    retry_in: float | None


@dataclass(frozen=True)
class LogLine:
    """One attempt of the delivery log."""

    event_id: str
    event_type: str
    dossier_code: str
    url: str
    state: str  # the delivery's state now
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


# ------------------------------------------------------------------ receivers


def _endpoint(row: WebhookEndpoint) -> Endpoint:
    return Endpoint(row.id, row.url, row.secret_file, row.active, _aware(row.created_at))


def add_endpoint(catalog: Catalog, url: str, secret_file: Path) -> Endpoint:
    """A receiver (or the same URL again, active, with this secret file). The URL and the secret
    file are checked now; the secret is read again before every attempt, never stored."""
    url = delivery.check_url(url)
    secret_file = Path(secret_file).resolve()
    delivery.read_secret(secret_file)
    with catalog.session() as session, session.begin():
        row = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.url == url))
        if row is None:
            row = WebhookEndpoint(url=url, secret_file=str(secret_file), active=True, created_at=now_utc())
            session.add(row)
        else:
            row.secret_file, row.active = str(secret_file), True
        session.flush()
        return _endpoint(row)


def remove_endpoint(catalog: Catalog, id_or_url: str) -> Endpoint:
    """Stop sending to a receiver. Its deliveries are kept; adding the URL again resumes them."""
    with catalog.session() as session, session.begin():
        where = (WebhookEndpoint.id == int(id_or_url)) if id_or_url.isdigit() else (WebhookEndpoint.url == id_or_url)
        row = session.scalar(select(WebhookEndpoint).where(where))
        if row is None:
            raise SohoaError(f"no webhook {id_or_url!r} (see `sohoa webhooks list`)", ExitCode.NOT_FOUND)
        row.active = False
        return _endpoint(row)


def endpoints(catalog: Catalog, active_only: bool = False) -> list[Endpoint]:
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    if active_only:
        query = query.where(WebhookEndpoint.active.is_(True))
    with catalog.session() as session:
        return [_endpoint(row) for row in session.scalars(query)]


# ------------------------------------------------------------------ events → deliveries


def fan_out(catalog: Catalog, now: datetime | None = None) -> int:
    """Waiting events whose record is committed get a delivery per active receiver (the event is
    then `ready`); those older than VOID_AFTER whose record never came (or that no receiver was
    there for) become `void`. Returns the number of events made ready."""
    now = now or now_utc()
    made = 0
    with catalog.session() as session, session.begin():
        waiting = list(session.scalars(select(WebhookEvent).where(WebhookEvent.state == WAITING)
                                       .order_by(WebhookEvent.created_at).limit(FAN_OUT_BATCH)))
        if not waiting:
            return 0
        receivers = list(session.scalars(select(WebhookEndpoint.id).where(WebhookEndpoint.active.is_(True))))
        for event in waiting:
            if receivers and emit.committed(session, event):  # no receiver yet: the event waits for one
                _deliveries(session, event.id, receivers, now)
                event.state = READY
                made += 1
            elif _aware(event.created_at) < now - VOID_AFTER:
                event.state = VOID
    return made


def _deliveries(session, event_id: str, receivers: list[int], now: datetime) -> int:
    """A pending delivery of the event to each receiver that has none yet."""
    have = set(session.scalars(select(WebhookDelivery.endpoint_id).where(WebhookDelivery.event_id == event_id)))
    fresh = [r for r in receivers if r not in have]
    session.add_all(WebhookDelivery(event_id=event_id, endpoint_id=r, state=PENDING, attempts=0,
                                    next_attempt_at=now) for r in fresh)
    return len(fresh)


def _due_query(now: datetime):
    return (select(WebhookDelivery.id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.state == PENDING, WebhookDelivery.next_attempt_at <= now,
                   WebhookEndpoint.active.is_(True),
                   or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now)))


def due(catalog: Catalog, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Deliveries to attempt now (oldest first), not leased by anyone."""
    now = now or now_utc()
    with catalog.session() as session:
        return list(session.scalars(_due_query(now).order_by(WebhookDelivery.next_attempt_at).limit(limit)))


def receiver_of(catalog: Catalog, delivery_id: int) -> str | None:
    """The URL a delivery goes to."""
    with catalog.session() as session:
        return session.scalar(select(WebhookEndpoint.url).join(
            WebhookDelivery, WebhookDelivery.endpoint_id == WebhookEndpoint.id).where(WebhookDelivery.id == delivery_id))


def next_due(catalog: Catalog) -> datetime | None:
    """When the earliest pending delivery of an active receiver is due (None: nothing pending)."""
    with catalog.session() as session:
        found = session.scalar(
            select(func.min(WebhookDelivery.next_attempt_at))
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.state == PENDING, WebhookEndpoint.active.is_(True)))
    return _aware(found)


def has_work(catalog: Catalog) -> bool:
    """Something for a driver to do: an active receiver, and a waiting event or a pending delivery.
    Without a receiver nothing is swept (events wait, and go to a receiver added before VOID_AFTER)."""
    with catalog.session() as session:
        return bool(session.scalar(select(
            exists().where(WebhookEndpoint.active.is_(True))
            & (exists().where(WebhookEvent.state == WAITING) | exists().where(WebhookDelivery.state == PENDING)))))


# ------------------------------------------------------------------ one attempt


def claim(catalog: Catalog, delivery_id: int, lease_seconds: float, now: datetime | None = None) -> Claimed | None:
    """Lease a due delivery to this caller; None when it is not due, leased, or ended."""
    now = now or now_utc()
    with catalog.session() as session, session.begin():
        # The conditions are on the row itself, so PostgreSQL checks them again on the row it
        # locks: of two drivers claiming at once, one updates and the other finds it leased.
        taken = session.execute(
            update(WebhookDelivery).where(
                WebhookDelivery.id == delivery_id, WebhookDelivery.state == PENDING,
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now))
            .values(lease_until=now + timedelta(seconds=lease_seconds))).rowcount
        if taken != 1:
            return None
        row = session.get(WebhookDelivery, delivery_id)
        receiver = session.get(WebhookEndpoint, row.endpoint_id)
        if not receiver.active:  # removed meanwhile: leave the delivery as it was
            row.lease_until = None
            return None
        event = session.get(WebhookEvent, row.event_id)
        return Claimed(row.id, event.id, event.type, event.body.encode("utf-8"), receiver.url,
                       receiver.secret_file, row.attempts + 1)


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones."""
    return min(settings.webhook_backoff_max, settings.webhook_backoff * 2 ** max(0, attempts - 1))


def finish(catalog: Catalog, claimed: Claimed, result: delivery.AttemptResult, settings: Settings,
           now: datetime | None = None) -> Finished:
    """Log the attempt and move the delivery on: delivered, retried later, or failed."""
    now = now or now_utc()
    retry_in = None
    with catalog.session() as session, session.begin():
        row = session.get(WebhookDelivery, claimed.delivery_id)
        row.attempts += 1
        row.lease_until = None
        if result.ok:
            row.state, row.delivered_at = DELIVERED, now
        elif row.attempts >= settings.webhook_max_attempts:
            row.state = FAILED
        else:
            retry_in = backoff(settings, row.attempts)
            row.next_attempt_at = now + timedelta(seconds=retry_in)
        session.add(WebhookAttempt(delivery_id=row.id, at=now, status_code=result.status_code,
                                   error=result.error, duration_ms=result.duration_ms))
        state = row.state
    return Finished(claimed.delivery_id, claimed.event_id, claimed.url, state, claimed.attempt,
                    result.status_code, result.error, result.duration_ms, retry_in)


# ------------------------------------------------------------------ redelivery and the log


def requeue(catalog: Catalog, event_id: str | None = None, failed: bool = False,
            now: datetime | None = None) -> int:
    """Send again: one event (to every active receiver, delivered or not, and to receivers added
    since), or every `failed` delivery. Attempts count again from 1. Returns deliveries requeued."""
    now = now or now_utc()
    with catalog.session() as session, session.begin():
        query = update(WebhookDelivery).values(state=PENDING, attempts=0, next_attempt_at=now, lease_until=None)
        if event_id is not None:
            event = session.get(WebhookEvent, event_id)
            if event is None:
                raise SohoaError(f"no webhook event {event_id!r} (see `sohoa webhooks log`)", ExitCode.NOT_FOUND)
            if event.state == READY:
                receivers = list(session.scalars(select(WebhookEndpoint.id).where(WebhookEndpoint.active.is_(True))))
                _deliveries(session, event.id, receivers, now)
            session.flush()
            query = query.where(WebhookDelivery.event_id == event_id)
        elif failed:
            query = query.where(WebhookDelivery.state == FAILED)
        else:
            raise SohoaError("name an event, or --failed", ExitCode.USAGE)
        return session.execute(query).rowcount


def log(catalog: Catalog, event_id: str | None = None, failed_only: bool = False, limit: int = 50) -> list[LogLine]:
    """The latest attempts, newest first (of one event, or of failed deliveries only)."""
    query = (select(WebhookAttempt, WebhookDelivery.state, WebhookEvent, WebhookEndpoint.url)
             .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
             .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
             .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
             .order_by(WebhookAttempt.at.desc(), WebhookAttempt.id.desc()).limit(limit))
    if event_id is not None:
        query = query.where(WebhookEvent.id == event_id)
    if failed_only:
        query = query.where(WebhookDelivery.state == FAILED)
    with catalog.session() as session:
        return [LogLine(event.id, event.type, event.dossier_code, url, state, _aware(attempt.at),
                        attempt.status_code, attempt.error, attempt.duration_ms)
                for attempt, state, event, url in session.execute(query)]


@dataclass(frozen=True)
class EventState:
    id: str
    type: str
    dossier_code: str
    record_id: str
    state: str
    created_at: datetime
    deliveries: dict[str, int]  # delivery state → how many


def events(catalog: Catalog, limit: int = 50, event_id: str | None = None) -> list[EventState]:
    """The latest events with their deliveries counted by state."""
    query = select(WebhookEvent).order_by(WebhookEvent.created_at.desc()).limit(limit)
    if event_id is not None:
        query = query.where(WebhookEvent.id == event_id)
    with catalog.session() as session:
        rows = list(session.scalars(query))
        counts: dict[str, dict[str, int]] = {}
        for event, state, count in session.execute(
                select(WebhookDelivery.event_id, WebhookDelivery.state, func.count())
                .where(WebhookDelivery.event_id.in_([r.id for r in rows]))
                .group_by(WebhookDelivery.event_id, WebhookDelivery.state)):
            counts.setdefault(event, {})[state] = count
    return [EventState(r.id, r.type, r.dossier_code, r.record_id, r.state, _aware(r.created_at), counts.get(r.id, {}))
            for r in rows]
