"""The audit log: every view or download of a record (who, when, what, from where), plus logins,
Kho look-ups, uploads, reuses and account changes. Written by the web app, listed by `sohoa audit`.

The log is append-only from the application's side: nothing here updates or deletes a row. Every
response that carries personal data writes exactly one row: who, what, which records (all of them:
a search writes one row naming every hit), why (the dossier, when there is one) and from where.

Rows are hash-chained: each stores the hash of the row before it (`prev_hash`) and
`hash = SHA-256(prev_hash + "\n" + canonical content)`; the one `audit_head` row holds the newest
id, hash and the number of rows. A writer first updates the head row, which takes SQLite's write
lock (the busy timeout queues the others) or PostgreSQL's row lock, so concurrent writers append
one at a time and the chain never forks. `verify` walks the chain: an edited row, a deleted row
(in the middle or at the end) or a forged hash is found and named (`sohoa audit --verify`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sohoa.core.db import Database
from sohoa.core.hashing import sha256_bytes
from sohoa.web.accounts import now
from sohoa.web.models import AuditEntry, AuditHead
from sqlalchemy import func, literal, or_, select, update

VIEW: Final = "view"  # the record page or its JSON
VIEW_PDF: Final = "view-pdf"  # the PDF/A shown inline
DOWNLOAD_PDFA: Final = "download-pdfa"
DOWNLOAD_ORIGINAL: Final = "download-original"
KHO: Final = "kho"  # an owner's Kho looked up (personal data)
REUSE: Final = "reuse"
REUSE_WITHDRAWN: Final = "reuse-withdrawn"  # a reuse undone the same day by the official who made it
QUARANTINE: Final = "quarantine"  # a quarantined file set aside ("Cần xử lý": bỏ qua)
UPLOAD: Final = "upload"
LOGIN: Final = "login"
LOGIN_FAILED: Final = "login-failed"
LOGOUT: Final = "logout"
ADMIN: Final = "admin"  # users, tokens, agencies, targets changed
INTEGRITY: Final = "integrity-failed"  # a download or thumbnail refused: the stored bytes fail their SHA-256
SEARCH: Final = "search"  # search hits (the page, the API): every record shown
SUGGEST: Final = "suggest"  # reuse suggestions for a dossier or an owner
THUMBNAIL: Final = "thumbnail"  # a page image of a record
LIST: Final = "list"  # a list of records (/api/records)
LOGIN_BLOCKED: Final = "login-blocked"  # refused without checking the password: too many failures
UNLOCK: Final = "unlock"  # an admin lifted a login block
OWNER_DATA: Final = "owner-data"  # an owner's confirmed fields handed out for reuse (personal data)
DESCRIBE: Final = "describe"  # metadata of a record set or confirmed (the review queue, sohoa describe)
CERTIFY: Final = "certify"  # an authenticated electronic copy ("BẢN SAO") made and signed (sohoa certify, the record page)
DOSSIER: Final = "dossier"  # a dossier viewed: its page, GET /api/dossiers/{code}, sohoa dossiers show --as
DOSSIER_WRITE: Final = "dossier-write"  # a dossier or its result sent through the dossier API
HEAD_ID: Final = 1
VERIFY_BATCH: Final = 1000

LABELS_VI: Final[dict[str, str]] = {
    VIEW: "Xem bản ghi", VIEW_PDF: "Xem PDF/A", DOWNLOAD_PDFA: "Tải PDF/A", DOWNLOAD_ORIGINAL: "Tải bản gốc",
    KHO: "Tra cứu Kho", REUSE: "Sử dụng lại", REUSE_WITHDRAWN: "Rút lại sử dụng lại", QUARANTINE: "Bỏ qua tệp cần xử lý", UPLOAD: "Tải lên", LOGIN: "Đăng nhập",
    LOGIN_FAILED: "Đăng nhập sai", LOGOUT: "Đăng xuất", ADMIN: "Quản trị",
    INTEGRITY: "Chặn tải (sai SHA-256)", SEARCH: "Tìm kiếm", SUGGEST: "Gợi ý sử dụng lại",
    THUMBNAIL: "Xem ảnh trang", LIST: "Danh sách bản ghi", LOGIN_BLOCKED: "Đăng nhập bị chặn tạm thời",
    UNLOCK: "Mở khóa đăng nhập", OWNER_DATA: "Sử dụng lại dữ liệu của công dân",
    DESCRIBE: "Xác nhận thông tin", CERTIFY: "Cấp bản sao điện tử",
    DOSSIER: "Xem hồ sơ", DOSSIER_WRITE: "Cập nhật hồ sơ (API)",
}


def _utc(value: datetime) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite gives naive UTC back
    return aware.astimezone(UTC)  # PostgreSQL answers in its session's time zone


def canonical(entry: AuditEntry) -> str:
    """The content a row's hash covers, the same whichever database stored it."""
    return json.dumps([entry.id, _utc(entry.at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), entry.username, entry.action,
                       entry.record_id or "", entry.record_ids or "", entry.dossier_code or "", entry.detail or "",
                       entry.client or ""], ensure_ascii=False, separators=(",", ":"))


def chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    return sha256_bytes(f"{prev_hash}\n{canonical(entry)}".encode("utf-8"))


def write(catalog: Database, username: str, action: str, record_id: str | None = None, detail: str = "",
          client: str = "", *, records: Iterable[str] = (), dossier: str | None = None) -> None:
    """Append one row. `records`: every record the response shows (a list, search hits);
    `dossier`: the purpose of the access, when there is one."""
    shown = list(dict.fromkeys(r for r in records if r))
    if record_id is None and len(shown) == 1:
        record_id = shown[0]
    with catalog.session() as session, session.begin():
        # The lock first: nothing is read before this UPDATE holds the head row.
        locked = session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID)
                                 .values(count=AuditHead.count + 1)).rowcount
        if not locked:
            session.add(AuditHead(id=HEAD_ID, last_id=0, last_hash="", count=1))
            session.flush()
        head = session.scalars(select(AuditHead).where(AuditHead.id == HEAD_ID)
                               .execution_options(populate_existing=True)).one()
        entry = AuditEntry(at=now(), username=username[:64], action=action, record_id=record_id,
                           detail=detail, client=client[:64], dossier_code=(dossier or None) and dossier[:64],
                           record_ids=" ".join(shown), prev_hash=head.last_hash, hash="")
        session.add(entry)
        session.flush()  # the id is part of the hashed content
        entry.hash = chain_hash(head.last_hash, entry)
        head.last_id, head.last_hash = entry.id, entry.hash


@dataclass(frozen=True)
class Verification:
    checked: int
    problem: str = ""  # the first broken row, one line; "" when the chain holds
    broken_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problem


def verify(catalog: Database) -> Verification:
    """Walk the chain from the first row; stop at the first row that breaks it."""
    previous_hash, previous_id, checked = "", 0, 0
    with catalog.session() as session:
        while True:
            batch = list(session.scalars(select(AuditEntry).where(AuditEntry.id > previous_id)
                                         .order_by(AuditEntry.id).limit(VERIFY_BATCH)))
            for entry in batch:
                if entry.prev_hash != previous_hash:
                    where = f"after row #{previous_id}" if previous_id else "at the start of the log"
                    return Verification(checked, f"audit row #{entry.id}: the chain is broken {where}: "
                                                 "a row before it was deleted or altered", entry.id)
                if entry.hash != chain_hash(previous_hash, entry):
                    return Verification(checked, f"audit row #{entry.id}: its content does not match its hash: "
                                                 "the row was altered", entry.id)
                previous_hash, previous_id = entry.hash, entry.id
                checked += 1
            if len(batch) < VERIFY_BATCH:
                break
        head = session.get(AuditHead, HEAD_ID)
    last_id, last_hash, count = (head.last_id, head.last_hash, head.count) if head else (0, "", 0)
    if (last_id, last_hash) != (previous_id, previous_hash) or count != checked:
        return Verification(checked, f"audit row #{last_id}: the newest row the log recorded is missing or altered "
                                     f"(the chain ends at #{previous_id}, {checked} of {count} rows): rows were "
                                     "deleted from the end", last_id)
    return Verification(checked)


def printable(text: str | None) -> str:
    """Text for a terminal line: control characters (newline, ESC, …) and backslashes escaped, so a
    forged user name cannot start a new line or recolour one."""
    out = []
    for ch in text or "":
        if ch == "\\":
            out.append("\\\\")
        elif ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)


def _filtered(query, username: str | None, record_id: str | None, action: str | None, since: datetime | None,
              until: datetime | None = None, dossier: str | None = None):
    """The WHERE of the log's filters: a record matches a row naming it alone or among others."""
    if username:
        query = query.where(AuditEntry.username == username)
    if record_id:
        query = query.where(or_(AuditEntry.record_id == record_id,
                                   (literal(" ") + AuditEntry.record_ids + " ").contains(f" {record_id} ")))
    if action:
        query = query.where(AuditEntry.action == action)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    if dossier:
        query = query.where(AuditEntry.dossier_code == dossier)
    return query


def entries(catalog: Database, username: str | None = None, record_id: str | None = None,
            action: str | None = None, since: datetime | None = None, limit: int = 100,
            offset: int = 0, until: datetime | None = None, dossier: str | None = None) -> list[AuditEntry]:
    """Newest first; `until` excluded."""
    query = _filtered(select(AuditEntry), username, record_id, action, since, until, dossier)
    with catalog.session() as session:
        return list(session.scalars(query.order_by(AuditEntry.id.desc()).offset(offset).limit(limit)))


def count(catalog: Database, username: str | None = None, record_id: str | None = None,
          action: str | None = None, since: datetime | None = None, until: datetime | None = None,
          dossier: str | None = None) -> int:
    """How many rows `entries` would page through with the same filters."""
    query = _filtered(select(func.count()).select_from(AuditEntry), username, record_id, action, since, until,
                      dossier)
    with catalog.session() as session:
        return int(session.scalar(query) or 0)


def to_json(entry: AuditEntry) -> dict:
    return {"id": entry.id, "at": _utc(entry.at).isoformat(), "username": entry.username, "action": entry.action,
            "record_id": entry.record_id, "records": entry.record_ids.split() if entry.record_ids else [],
            "dossier": entry.dossier_code, "detail": entry.detail, "client": entry.client, "hash": entry.hash}


POLL_WINDOW: Final = timedelta(minutes=10)


def write_polled(catalog: Database, username: str, action: str, detail: str, client: str,
                 records: Iterable[str]) -> bool:
    """For a response a page polls every few seconds: one row per user, `detail` and POLL_WINDOW,
    and a new one sooner only when the records shown changed. Returns whether a row was written."""
    shown = " ".join(dict.fromkeys(r for r in records if r))
    cutoff = datetime.now(UTC) - POLL_WINDOW
    recent = entries(catalog, username=username, action=action, limit=200)  # newest first
    last = next((row for row in recent if row.detail == detail), None)
    if last is not None and _utc(last.at) >= cutoff and (last.record_ids or "") == shown:
        return False
    write(catalog, username, action, None, detail, client, records=shown.split())
    return True


def covered(catalog: Database, username: str, record_id: str, actions: Iterable[str],
            window: timedelta = POLL_WINDOW) -> bool:
    """Whether a row of this user within `window`, of one of `actions`, already names the record:
    the parts a page loads by itself (the record page's inline PDF/A, the thumbnails of the record
    page or the document list) add no row of their own to the page's one row."""
    cutoff = datetime.now(UTC) - window
    query = select(AuditEntry.id).where(
        AuditEntry.username == username, AuditEntry.action.in_(list(actions)), AuditEntry.at >= cutoff,
        or_(AuditEntry.record_id == record_id,
            (literal(" ") + AuditEntry.record_ids + " ").contains(f" {record_id} "))).limit(1)
    with catalog.session() as session:
        return session.scalar(query) is not None
