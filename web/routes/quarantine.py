"""Cần xử lý: quarantined files of the user's agency scope (uploads, batches and the hot folder's
quarantine/ folder), with the reason in Vietnamese, a download of the file, "Thử lại" with fixed
fields (the file goes through the one upload pipeline again, as a new item) and "Bỏ qua" (the file
is kept; who, when and why are recorded on its item). Nothing here deletes a file."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from sohoa.core import codes
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.hashing import sha256_file
from sohoa.web import audit, labels, roles, scope, uploads
from sohoa.web.accounts import Principal
from sohoa.web.errors import WebError
from sohoa.web.routes import client, page
from sohoa.web.security import require
from sohoa.web.state import WebState, state
from sohoa.workers import jobs

router = APIRouter()
WATCH: Final = "watch"
SIDECARS: Final = (".error.txt", ".json")
FORM_FIELDS: Final = ("agency", "dossier", "procedure", "kind", "doc_type", "owner_id", "title")
HANDLED_SHOWN: Final = 50
_HASHES: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) → SHA-256 of the hot folder's quarantine files
_SYNC: Final = threading.Lock()


@dataclass(frozen=True)
class Entry:
    """One quarantined file as the page shows it."""

    item: jobs.JobItem
    path: Path | None  # where the file is kept, None when it is no longer there

    @property
    def source_vi(self) -> str:
        name = self.item.job_name
        return {uploads.JOB: "Tải lên", WATCH: "Thư mục quét"}.get(name, f"Lô {name}")

    def to_json(self) -> dict:
        item = self.item
        return {"id": item.id, "name": item.name, "job": item.job_name, "source": self.source_vi,
                "reason_label": labels.reason_vi(item.exit_code), "reason": item.reason,
                "finished_at": item.finished_at.isoformat() if item.finished_at else None,
                "fields": item.fields or {}, "file_kept": self.path is not None, "handled": item.handled,
                "handled_by": item.handled_by, "handled_note": item.handled_note,
                "handled_at": item.handled_at.isoformat() if item.handled_at else None,
                "retry_item_id": item.retry_item_id}


def quarantine_folder(web: WebState) -> Path:
    inbox = (web.settings.inbox_dir or web.settings.data_dir / "inbox").resolve()
    return inbox.parent / "quarantine"


def _folder_files(web: WebState) -> dict[str, Path]:
    """SHA-256 → file, for the documents in the hot folder's quarantine/ (not the error files)."""
    folder = quarantine_folder(web)
    found: dict[str, Path] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.name.endswith(SIDECARS):
            continue
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in _HASHES:
            _HASHES[key] = sha256_file(path)[0]
        found.setdefault(_HASHES[key], path)
    return found


def _folder_reason(path: Path) -> str:
    """The "Lý do:" line of the file's error file, as the watcher wrote it."""
    error = path.with_name(path.name + ".error.txt")
    try:
        lines = error.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("Lý do:")), "")


def _folder_agency(web: WebState, path: Path) -> str | None:
    try:
        return codes.agency_code(path.relative_to(quarantine_folder(web)).parts[0])
    except (SohoaError, ValueError, IndexError):
        return None


def sync_folder(web: WebState) -> dict[str, Path]:
    """Files in quarantine/ that no quarantined item knows (put there before the jobs listed them, or
    by hand) become quarantined items of the hot folder's job, so they can be retried or dismissed."""
    files = _folder_files(web)
    with _SYNC:
        known = {item.sha256 for item in jobs.items(web.catalog, statuses=[jobs.QUARANTINED])}
        for sha256, path in files.items():
            if sha256 in known:
                continue
            agency = _folder_agency(web, path)
            item = jobs.add_item(web.catalog, WATCH, str(path), sha256, path.stat().st_size,
                                 {"agency": agency} if agency else {})
            if not item.terminal:
                jobs.finish(web.catalog, item.id, jobs.QUARANTINED, reason=_folder_reason(path) or None)  # why: its error file
            jobs.mark_settled(web.catalog, item.id)
    return files


def _located(item: jobs.JobItem, folder_files: dict[str, Path]) -> Path | None:
    """Where the quarantined file is kept: the hot folder's quarantine/, or the upload's or batch's own copy."""
    if item.job_name == WATCH:
        return folder_files.get(item.sha256)
    path = Path(item.path)
    return path if path.is_file() else folder_files.get(item.sha256)


def _agencies(web: WebState, principal: Principal) -> list[str] | None:
    seen = scope.scope_of(web.catalog, principal)
    return None if seen.everything else sorted(seen.agencies or ())


def entries(web: WebState, principal: Principal, handled: bool = False,
            files: dict[str, Path] | None = None) -> list[Entry]:
    """The quarantined items of this user's scope; `files`: the folder already synced in this request."""
    files = sync_folder(web) if files is None else files
    found = jobs.quarantined(web.catalog, handled, _agencies(web, principal),
                             limit=HANDLED_SHOWN if handled else 500)
    return [Entry(item, _located(item, files)) for item in found]


def entry(web: WebState, principal: Principal, item_id: int) -> Entry:
    """One quarantined item of this user's scope; any other number is 404, as if it did not exist."""
    item = jobs.get(web.catalog, item_id)
    agencies = _agencies(web, principal)
    agency = (item.fields or {}).get("agency") if item is not None else None
    if item is None or item.status != jobs.QUARANTINED or (agencies is not None and agency not in agencies):
        raise SohoaError(f"Không có tệp cần xử lý số {item_id}.", ExitCode.NOT_FOUND)
    stored = Path(item.path)
    if item.job_name != WATCH and stored.is_file():  # an upload's or batch's own copy: no folder walk
        return Entry(item, stored)
    return Entry(item, _located(item, _folder_files(web)))


def _unhandled(found: Entry) -> None:
    if found.item.handled:
        raise SohoaError(f"Tệp {found.item.name} đã được xử lý ({found.item.handled_by}).", ExitCode.REFUSED)


def retry(web: WebState, principal: Principal, item_id: int, form: dict[str, str], who: str) -> jobs.JobItem:
    """The file again through the upload pipeline with the fixed fields: a new item of job `upload`
    (the user's, so their notifications follow it); the old one records the retry."""
    found = entry(web, principal, item_id)
    _unhandled(found)
    if found.path is None:
        raise SohoaError(f"Tệp {found.item.name} không còn trong thư mục lưu giữ; không thử lại được.",
                         ExitCode.INPUT_MISSING)
    given = {name: value for name, value in (found.item.fields or {}).items() if name in uploads.FIELD_NAMES}
    given.update({name: form.get(name, "") for name in FORM_FIELDS if name in form})
    fields = uploads.check_fields(web, principal, given)
    with found.path.open("rb") as stream:
        [new] = uploads.accept(web, principal, fields, [(found.item.name, stream)], who)
    if not jobs.set_handled(web.catalog, item_id, jobs.RETRIED, principal.username,
                            f"thử lại thành tệp tải lên số {new.id}", new.id):
        raise SohoaError(f"Tệp {found.item.name} đã được xử lý.", ExitCode.REFUSED)
    return new  # the upload's audit row names the new item


def dismiss(web: WebState, principal: Principal, item_id: int, reason: str, who: str) -> None:
    found = entry(web, principal, item_id)
    _unhandled(found)
    reason = " ".join(reason.split())
    if not reason:
        raise WebError(400, "Hãy ghi lý do bỏ qua tệp này.")
    if not jobs.set_handled(web.catalog, item_id, jobs.DISMISSED, principal.username, reason):
        raise SohoaError(f"Tệp {found.item.name} đã được xử lý.", ExitCode.REFUSED)
    audit.write(web.catalog, principal.username, audit.QUARANTINE, None,
                f"dismissed quarantined item {item_id}: {reason}", who)


@router.get("/can-xu-ly", include_in_schema=False)
def quarantine_page(request: Request, principal: Annotated[Principal, Depends(require(roles.JOBS))],
                    done: str = "") -> Response:
    web = state(request)
    files = sync_folder(web)  # once per page: it walks (and may hash) the hot folder's quarantine/
    waiting, handled = entries(web, principal, files=files), entries(web, principal, handled=True, files=files)
    audit.write(web.catalog, principal.username, audit.LIST, None,
                f"cần xử lý: {len(waiting)} waiting, {len(handled)} handled", client(request))
    return page(request, "quarantine.html", principal, waiting=waiting, handled=handled,
                can_fix=principal.can(roles.UPLOAD), done=done if done in ("retried", "dismissed") else "",
                form_fields=FORM_FIELDS, kinds=labels.KIND_VI, reason_vi=labels.reason_vi)


@router.get("/can-xu-ly/{item_id}/tep", include_in_schema=False)
def quarantine_file(request: Request, item_id: int,
                    principal: Annotated[Principal, Depends(require(roles.JOBS))]) -> Response:
    web = state(request)
    found = entry(web, principal, item_id)
    if found.path is None:
        raise SohoaError(f"Tệp {found.item.name} không còn trong thư mục lưu giữ.", ExitCode.NOT_FOUND)
    audit.write(web.catalog, principal.username, audit.DOWNLOAD_ORIGINAL, None,
                f"quarantined item {item_id}: {found.item.name}", client(request))
    return FileResponse(found.path, filename=found.item.name, headers={"Cache-Control": "private, no-store"})


@router.post("/can-xu-ly/{item_id}/thu-lai", include_in_schema=False)
async def retry_form(request: Request, item_id: int,
                     principal: Annotated[Principal, Depends(require(roles.UPLOAD))]) -> Response:
    form = {name: str(value) for name, value in (await request.form()).items() if name in FORM_FIELDS}
    await run_in_threadpool(retry, state(request), principal, item_id, form, client(request))
    return RedirectResponse("/can-xu-ly?done=retried", status_code=303)


@router.post("/can-xu-ly/{item_id}/bo-qua", include_in_schema=False)
def dismiss_form(request: Request, item_id: int, principal: Annotated[Principal, Depends(require(roles.UPLOAD))],
                 reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    dismiss(state(request), principal, item_id, reason, client(request))
    return RedirectResponse("/can-xu-ly?done=dismissed", status_code=303)


class RetryRequest(BaseModel):
    fields: dict[str, str] = Field(default_factory=dict, description="Fixed fields: " + ", ".join(FORM_FIELDS))


class DismissRequest(BaseModel):
    reason: str = Field(..., max_length=500, description="Why the file is set aside (kept, recorded)")


@router.get("/api/quarantine", tags=["lô số hóa"], summary="Quarantined files of your scope (Cần xử lý)")
def api_quarantine(request: Request, principal: Annotated[Principal, Depends(require(roles.JOBS))],
                   handled: bool = False) -> list[dict]:
    web = state(request)
    found = entries(web, principal, handled)
    audit.write(web.catalog, principal.username, audit.LIST, None, f"api quarantine: {len(found)}", client(request))
    return [one.to_json() for one in found]


@router.post("/api/quarantine/{item_id}/retry", tags=["lô số hóa"],
             summary="Send a quarantined file again with fixed fields (a new upload item)")
def api_retry(request: Request, item_id: int, body: RetryRequest,
              principal: Annotated[Principal, Depends(require(roles.UPLOAD))]) -> dict:
    new = retry(state(request), principal, item_id, {k: v for k, v in body.fields.items() if k in FORM_FIELDS},
                client(request))
    return uploads.item_view(state(request), principal, new)


@router.post("/api/quarantine/{item_id}/dismiss", tags=["lô số hóa"],
             summary="Set a quarantined file aside (kept; who, when and why recorded)")
def api_dismiss(request: Request, item_id: int, body: DismissRequest,
                principal: Annotated[Principal, Depends(require(roles.UPLOAD))]) -> dict:
    dismiss(state(request), principal, item_id, body.reason, client(request))
    return {"id": item_id, "handled": jobs.DISMISSED}
