"""Tables of migrations 0005 and 0008: users, web sessions, API tokens, the audit log (hash-chained,
with its head row), and the login throttle.

The web package owns them (only web/accounts.py and web/audit.py write them). They live in the
one database (one to back up), on the neutral base of sohoa.core.db, and are operational state:
`rebuild-catalog` cannot derive them from storage and leaves them alone.
Secrets are never stored: passwords as Argon2 hashes, session and API tokens as SHA-256 digests.
"""

from __future__ import annotations

from datetime import datetime

from sohoa.core.db import Base
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column


class User(Base):
    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    agency_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    notices_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # 0010


class WebSession(Base):
    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), ForeignKey("users.username"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(64), ForeignKey("users.username"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # None: never
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)  # GET/HEAD only
    prefixes: Mapped[str] = mapped_column(Text, default="")  # space-separated path prefixes; "" = any endpoint
    agencies: Mapped[str] = mapped_column(Text, default="")  # space-separated agency codes; "" = the user's scope
    machine: Mapped[bool] = mapped_column(Boolean, default=False)  # the dossier API only (0011)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    client: Mapped[str] = mapped_column(String(64), default="")
    dossier_code: Mapped[str | None] = mapped_column(String(64), nullable=True)  # why: the dossier, if any
    record_ids: Mapped[str] = mapped_column(Text, default="")  # every record shown (space-separated)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")  # SHA-256(prev_hash + canonical content)


class AuditHead(Base):
    """One row (id 1): the newest audit row's id and hash. Writers lock it first (an UPDATE, so
    SQLite takes its write lock and PostgreSQL its row lock) and so append one at a time; it also
    shows rows deleted from the end of the chain."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)


class LoginThrottle(Base):
    """Consecutive failed logins of one account ("user:NAME") or one client address ("addr:IP")."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
