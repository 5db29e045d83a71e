"""The webhook tables: endpoints, the outbox of events, one delivery per (event, endpoint) and
every delivery attempt. Owned by hooks/; only hooks/outbox.py and hooks/emit.py write them.

Not derived: storage cannot give an undelivered event back, so `sohoa rebuild-catalog` keeps these
tables as they are (no foreign key points at the catalog's derived tables, which a rebuild empties).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sohoa.core.db import Base

# Event states: written before its record (or reuse link) is committed, so it waits until the
# catalog shows that record; then its deliveries are made (`ready`). `void`: the record never came.
WAITING: Final = "waiting"
READY: Final = "ready"
VOID: Final = "void"
# Delivery states.
PENDING: Final = "pending"
DELIVERED: Final = "delivered"
FAILED: Final = "failed"  # attempts exhausted; kept, `sohoa webhooks redeliver` sends it again


class WebhookEndpoint(Base):
    """A receiver: its URL and the file holding the HMAC secret (the secret itself is never stored)."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    secret_file: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebhookEvent(Base):
    """One event of the outbox: its id (stable: the same fact always gets the same id), its type,
    what it is about, and the exact JSON body every attempt signs and sends."""

    __tablename__ = "webhook_events"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(32), index=True)
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(12), index=True)


class WebhookDelivery(Base):
    """An event on its way to one endpoint: `attempts` since it was last (re)queued, when to try
    next, and a lease so two drivers never post it at the same time."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "endpoint_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    state: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


Index("ix_webhook_deliveries_due", WebhookDelivery.state, WebhookDelivery.next_attempt_at)


class WebhookAttempt(Base):
    """The delivery log: every attempt, with its time, HTTP status or error, and duration."""

    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
