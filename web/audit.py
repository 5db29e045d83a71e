"""The audit log: every view or download of a record (who, when, what, from where), plus logins,
Kho look-ups, uploads, reuses and account changes. Written by the web app, listed by `sohoa audit`.

The log is append-only from the application's side: nothing here updates or deletes a row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from sohoa.core.db import Database
from sohoa.web.accounts import now
from sohoa.web.models import AuditEntry
from sqlalchemy import select

VIEW: Final = "view"  # the record page or its JSON
VIEW_PDF: Final = "view-pdf"  # the PDF/A shown inline
DOWNLOAD_PDFA: Final = "download-pdfa"
DOWNLOAD_ORIGINAL: Final = "download-original"
KHO: Final = "kho"  # an owner's Kho looked up (personal data)
REUSE: Final = "reuse"
UPLOAD: Final = "upload"
LOGIN: Final = "login"
LOGIN_FAILED: Final = "login-failed"
LOGOUT: Final = "logout"
ADMIN: Final = "admin"  # users, tokens, agencies, targets changed
INTEGRITY: Final = "integrity-failed"  # a download or thumbnail refused: the stored bytes fail their SHA-256

LABELS_VI: Final[dict[str, str]] = {
    VIEW: "Xem bản ghi", VIEW_PDF: "Xem PDF/A", DOWNLOAD_PDFA: "Tải PDF/A", DOWNLOAD_ORIGINAL: "Tải bản gốc",
    KHO: "Tra cứu Kho", REUSE: "Sử dụng lại", UPLOAD: "Tải lên", LOGIN: "Đăng nhập",
    LOGIN_FAILED: "Đăng nhập sai", LOGOUT: "Đăng xuất", ADMIN: "Quản trị",
    INTEGRITY: "Chặn tải (sai SHA-256)",
}


def write(catalog: Database, username: str, action: str, record_id: str | None = None, detail: str = "",
          client: str = "") -> None:
    with catalog.session() as session, session.begin():
        session.add(AuditEntry(at=now(), username=username[:64], action=action, record_id=record_id,
                               detail=detail, client=client[:64]))


def entries(catalog: Database, username: str | None = None, record_id: str | None = None,
            action: str | None = None, since: datetime | None = None, limit: int = 100,
            offset: int = 0) -> list[AuditEntry]:
    """Newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if username:
        query = query.where(AuditEntry.username == username)
    if record_id:
        query = query.where(AuditEntry.record_id == record_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if since:
        query = query.where(AuditEntry.at >= since)
    with catalog.session() as session:
        return list(session.scalars(query.offset(offset).limit(limit)))


def to_json(entry: AuditEntry) -> dict:
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)  # SQLite gives naive UTC back
    at = at.astimezone(UTC)  # PostgreSQL answers in its session's time zone
    return {"id": entry.id, "at": at.isoformat(), "username": entry.username, "action": entry.action,
            "record_id": entry.record_id, "detail": entry.detail, "client": entry.client}
