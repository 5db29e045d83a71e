"""Thông báo: what became of the files a user handed in (their uploads, the batch files filed in
their name): stored, already archived, or "Cần xử lý". Derived from the job items (`scanned_by`)
and the user's "seen up to" moment (migration 0010), nothing else is stored. The menu's badge counts
the unseen ones (app.js asks `/api/notifications/count` every 15 seconds); the page lists them and
moves the marker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sohoa.web import accounts, audit, labels, scope, uploads
from sohoa.web.accounts import Principal
from sohoa.web.routes import client, page
from sohoa.web.security import require
from sohoa.web.state import WebState, state
from sohoa.workers import jobs

router = APIRouter()
SHOWN: Final = 100  # the page lists the latest this many
COUNT_MAX: Final = 99  # the badge says "99+" beyond


@dataclass(frozen=True)
class Notice:
    item: jobs.JobItem
    unseen: bool
    view: dict  # uploads.item_json as this user may see it

    @property
    def message_vi(self) -> str:
        status = self.item.status
        if status == jobs.STORED:
            return "Đã lưu vào kho"
        if status == jobs.DUPLICATE:
            return self.view["status_label"]
        return f"Cần xử lý: {labels.reason_vi(self.item.exit_code)}"

    def to_json(self) -> dict:
        return {"id": self.item.id, "job": self.item.job_name, "name": self.item.name, "status": self.item.status,
                "message": self.message_vi, "unseen": self.unseen, "record_id": self.view["record_id"],
                "record_code": self.view["record_code"],
                "finished_at": _utc(self.item.finished_at).isoformat() if self.item.finished_at else None}


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def unseen_count(web: WebState, principal: Principal) -> int:
    seen = accounts.notices_seen(web.catalog, principal.username)
    return len(jobs.ended_for(web.catalog, principal.username, seen, limit=COUNT_MAX + 1))


def notices(web: WebState, principal: Principal) -> list[Notice]:
    seen = accounts.notices_seen(web.catalog, principal.username)
    viewer = scope.scope_of(web.catalog, principal)
    return [Notice(item, seen is None or _utc(item.finished_at) > seen, uploads.item_json(item, viewer, web.catalog))
            for item in jobs.ended_for(web.catalog, principal.username, limit=SHOWN)]


def mark_seen(web: WebState, principal: Principal, shown: list[Notice]) -> None:
    """Seen up to the newest one shown: one ending after the page was read stays unseen."""
    if shown:
        accounts.mark_notices_seen(web.catalog, principal.username, max(_utc(n.item.finished_at) for n in shown))


def _audit(request: Request, principal: Principal, shown: list[Notice], polled: bool) -> None:
    """File names and record codes of the user's own files: one row (the polled API: once per window)."""
    web, records = state(request), [n.view["record_id"] for n in shown if n.view["record_id"]]
    detail = f"thông báo: {len(shown)}"
    if polled:
        audit.write_polled(web.catalog, principal.username, audit.LIST, "thông báo (api)", client(request), records)
    else:
        audit.write(web.catalog, principal.username, audit.LIST, None, detail, client(request), records=records)


@router.get("/thong-bao", include_in_schema=False)
def notices_page(request: Request, principal: Annotated[Principal, Depends(require())]) -> Response:
    web = state(request)
    shown = notices(web, principal)
    _audit(request, principal, shown, polled=False)
    mark_seen(web, principal, shown)
    return page(request, "notifications.html", principal, notices=shown)


@router.get("/api/notifications/count", tags=["thông báo"],
            summary="How many of your files ended (stored, duplicate, Cần xử lý) since you last looked")
def api_count(request: Request, principal: Annotated[Principal, Depends(require())]) -> dict:
    count = unseen_count(state(request), principal)
    return {"unseen": count, "label": f"{COUNT_MAX}+" if count > COUNT_MAX else str(count)}


@router.get("/api/notifications", tags=["thông báo"],
            summary="Your files that ended, newest first, each marked unseen or not; ?seen=true moves the marker")
def api_notifications(request: Request, principal: Annotated[Principal, Depends(require())],
                      seen: bool = False) -> dict:
    web = state(request)
    shown = notices(web, principal)
    _audit(request, principal, shown, polled=True)
    if seen:
        mark_seen(web, principal, shown)
    return {"unseen": sum(n.unseen for n in shown), "items": [n.to_json() for n in shown]}
