"""The record page: metadata, page thumbnails, the PDF/A inline, downloads, events, and "Sử dụng lại".
Every view and download is written to the audit log before the bytes leave."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from sohoa.archive import catalog_write
from sohoa.archive.storage import ChecksumMismatch
from pydantic import BaseModel, Field
from sohoa.core.codes import RETENTION_CODES
from sohoa.archive.reuse import withdraw_refusal
from sohoa.hooks.reuse import reuse, withdraw  # the reuse and its withdrawal, announced to the webhooks
from sohoa.web import audit, records, review, roles, scope
from sohoa.web.accounts import Principal
from sohoa.web.errors import WebError
from sohoa.web.routes import client, page
from sohoa.web.security import Forbidden, require
from sohoa.web.state import WebState, state

router = APIRouter()
log = logging.getLogger("sohoa.web")
LIST_MAX: Final = 200
ASCII_NAME_MAX: Final = 150
PAGE_VIEWS: Final = (audit.VIEW,)  # a row that already covers what the record page loads by itself


def _disposition(kind: str, filename: str) -> str:
    """RFC 6266: `filename*` carries the real name (UTF-8, percent-encoded), `filename` a plain ASCII
    fallback. Whatever the name holds (newlines, ESC, quotes, undecodable bytes), the header stays
    one legal line."""
    text = filename.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = "".join(ch for ch in unicodedata.normalize("NFC", text) if ch.isprintable()).strip() or "download"
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_name = "".join(ch for ch in folded.encode("ascii", "ignore").decode()
                         if ch.isprintable() and ch not in '"\\;%').strip()[-ASCII_NAME_MAX:] or "download"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(text, safe='')}"


class VerifiedResponse(Response):
    """A download streamed through the verified read. When the SHA-256 does not match, the final
    chunk was never sent: the mismatch is recorded and the response ends without its last body
    message, so the server closes the connection short of the declared Content-Length and the
    client sees a failed download, never HTTP 200 with the whole of the altered bytes."""

    def __init__(self, download: records.Download, media_type: str, headers: dict[str, str],
                 on_abort) -> None:
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.body = b""
        self.download, self.on_abort = download, on_abort
        self.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self.raw_headers.append((b"content-type", media_type.encode("latin-1")))

    async def __call__(self, scope, receive, send) -> None:
        chunks: Iterator[bytes] = self.download.chunks or iter(())
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        sent = 0
        try:
            while True:
                try:
                    chunk = await run_in_threadpool(next, chunks, None)
                except ChecksumMismatch:
                    if self.download.on_mismatch:
                        await run_in_threadpool(self.download.on_mismatch)
                    await run_in_threadpool(self.on_abort)
                    return  # no final body message: the connection is closed short
                if chunk is None:
                    break
                sent += len(chunk)
                if sent > self.download.size:  # more bytes than the catalog knows of: altered too
                    if self.download.on_mismatch:
                        await run_in_threadpool(self.download.on_mismatch)
                    await run_in_threadpool(self.on_abort)
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _send(web: WebState, principal: Principal, record_id: str, name: str, action: str, inline: bool,
          who: str, dossier: str = "", unsigned: bool = False, embedded: bool = False) -> Response:
    """`embedded`: the PDF/A the record page frames; the page's own `view` row of the last minutes
    covers it (one view, one row), else it writes its own."""
    record, bound = records.load_for(web, principal, record_id, dossier)
    if name == records.PDFA:
        name = records.pdf_name(record, unsigned)  # the signed PDF/A once the record is signed
    if not (embedded and audit.covered(web.catalog, principal.username, record.id, PAGE_VIEWS)):
        audit.write(web.catalog, principal.username, action, record.id, name + _purpose(bound), who, dossier=bound)

    def aborted() -> None:
        log.error("%s %s: stored bytes fail their SHA-256; %s refused (see sohoa fixity)", record.code, name, action)
        audit.write(web.catalog, principal.username, audit.INTEGRITY, record.id,
                    f"{name}: SHA-256 mismatch, {action} refused", who)

    try:
        download = records.download(web, record, name, principal.username, f"{action} by {principal.username}")
    except WebError as error:
        if error.code == "fixity_failed":
            aborted()
        raise
    media = "application/pdf" if name in (records.PDFA, records.SIGNED) else records.original_media_type(record)
    headers = {"Content-Disposition": _disposition("inline" if inline else "attachment",
                                                   records.download_name(record, name)),
               "X-Sohoa-SHA256": download.sha256,
               "Cache-Control": "private, no-store"}  # personal data: no copies in shared caches
    if download.body is not None:
        return Response(download.body, media_type=media, headers=headers)
    headers["Content-Length"] = str(download.size)
    return VerifiedResponse(download, media, headers, aborted)


def _purpose(bound: str | None) -> str:
    """The audit detail of a cross-agency access: the dossier that allowed it."""
    return f" (dossier {bound}, other agency)" if bound else ""


@router.get("/ban-ghi/{record_id}", include_in_schema=False)
def record_page(request: Request, record_id: str, principal: Annotated[Principal, Depends(require(roles.SEARCH))],
                reused: str = "", linked: int = 0, dossier: str = "", withdrawn: str = "") -> Response:
    web = state(request)
    record, bound = records.load_for(web, principal, record_id, dossier)
    audit.write(web.catalog, principal.username, audit.VIEW, record.id, _purpose(bound).strip(), client(request),
                dossier=bound)
    shown = min(record.page_count, records.THUMB_PAGES)
    seen = scope.scope_of(web.catalog, principal)
    links = records.reuse_links(web, record, seen)
    reused = reused if reused in {link.dossier_code for link in links} else ""  # a link cannot make up a message
    withdrawn = withdrawn if withdrawn and withdrawn not in {link.dossier_code for link in links} and any(
        catalog_write.withdrawn_dossier(e) == withdrawn for e in records.events(web, record, seen)) else ""
    withdrawable = {link.dossier_code for link in links
                    if principal.can(roles.REUSE) and not withdraw_refusal(link, principal.username)}
    return page(request, "record.html", principal, record=record, meta=scope.redact(seen, record.metadata_json),
                withdrawn=withdrawn, withdrawable=withdrawable,
                events=records.events(web, record, seen), links=links, thumbs=range(1, shown + 1),
                more_pages=record.page_count - shown, retention=RETENTION_CODES, can_reuse=principal.can(roles.REUSE),
                reused=reused, already=bool(linked), bound=bound,
                extracted=review.extracted_view(web, record, principal.username))


@router.get("/ban-ghi/{record_id}/pdfa", include_in_schema=False)
def record_pdfa(request: Request, record_id: str, principal: Annotated[Principal, Depends(require(roles.SEARCH))],
                download: bool = False, dossier: str = "", unsigned: bool = False, embedded: bool = False) -> Response:
    action = audit.DOWNLOAD_PDFA if download else audit.VIEW_PDF
    return _send(state(request), principal, record_id, records.PDFA, action, not download, client(request), dossier,
                 unsigned, embedded and not download)


@router.get("/ban-ghi/{record_id}/goc", include_in_schema=False)
def record_original(request: Request, record_id: str,
                    principal: Annotated[Principal, Depends(require(roles.SEARCH))], dossier: str = "") -> Response:
    return _send(state(request), principal, record_id, records.ORIGINAL, audit.DOWNLOAD_ORIGINAL, False,
                 client(request), dossier)


@router.get("/ban-ghi/{record_id}/trang/{number}.png", include_in_schema=False)
def record_thumbnail(request: Request, record_id: str, number: int,
                     principal: Annotated[Principal, Depends(require(roles.SEARCH))], dossier: str = "",
                     embedded: bool = False) -> Response:
    """`embedded`: a thumbnail the record page or the document list shows; their one row of the last
    minutes covers it, else it writes its own."""
    web = state(request)
    record, _bound = records.load_for(web, principal, record_id, dossier)
    try:
        path = records.thumbnail(web, record, number, principal.username)
    except WebError as error:
        if error.code == "fixity_failed":
            audit.write(web.catalog, principal.username, audit.INTEGRITY, record.id,
                        f"{records.PDFA}: SHA-256 mismatch, thumbnail of page {number} refused", client(request))
        raise
    if not (embedded and audit.covered(web.catalog, principal.username, record.id, PAGE_VIEWS + (audit.LIST,))):
        audit.write(web.catalog, principal.username, audit.THUMBNAIL, record.id, f"page {number}", client(request),
                    dossier=_bound)
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


def _reuse(web: WebState, principal: Principal, record_id: str, dossier: str, who: str):
    """Reuse into a dossier of the user's subtree (else 403) of a record they may see, or of another
    agency's record when the dossier is registered to its owner (else 404, as if it did not exist)."""
    code, (record,) = _reusable(web, principal, [record_id], dossier)
    other = not scope.scope_of(web.catalog, principal).covers(record.agency_code)
    outcome = reuse(web.archive, record.id, code, principal.username)
    audit.write(web.catalog, principal.username, audit.REUSE, outcome.record_id,
                f"dossier {outcome.dossier_code}{' (already linked)' if outcome.already_linked else ''}"
                f"{' (other agency)' if other else ''}", who, dossier=outcome.dossier_code)
    return outcome


class ReuseRequest(BaseModel):
    dossier: str = Field(..., description="The new dossier's code <agency>-YYMMDD-NNNN", max_length=100)


def _reusable(web: WebState, principal: Principal, record_ids: list[str], dossier: str):
    """(dossier code, records) for a reuse this user may make: the dossier of their subtree (else 403),
    each record one they may see or one of the dossier's owner (else 404, as if it did not exist)."""
    seen = scope.scope_of(web.catalog, principal)
    try:
        code = scope.check_dossier(web.catalog, seen, dossier)
    except scope.OutOfScope as refused:
        raise Forbidden(refused.message) from None
    found = []
    for record_id in dict.fromkeys(r.strip() for r in record_ids if r.strip()):
        record = records.load(web, record_id)
        if not scope.may_reuse(web.catalog, seen, record.agency_code, record.owner_id, code):
            raise scope.hidden(record_id)
        found.append(record)
    if not found:
        raise WebError(400, "Chưa chọn giấy tờ nào để sử dụng lại.")
    return code, found


@router.get("/su-dung-lai", include_in_schema=False)
def reuse_confirm(request: Request, principal: Annotated[Principal, Depends(require(roles.REUSE))],
                  ids: Annotated[list[str], Query(max_length=LIST_MAX)] = [],  # noqa: B006 - FastAPI's list default
                  dossier: Annotated[str, Query(max_length=100)] = "") -> Response:
    """The confirm step of "Sử dụng lại": what will be linked to which dossier, before anything is written."""
    web = state(request)
    code, found = _reusable(web, principal, ids, dossier)
    audit.write(web.catalog, principal.username, audit.VIEW, None, f"reuse confirmation, dossier {code}",
                client(request), records=[r.id for r in found], dossier=code)
    linked = {r.id for r in found if web.catalog.reuse_link(r.id, code) is not None}
    return page(request, "reuse_confirm.html", principal, dossier=code, records=found, linked=linked,
                registered=scope.registered(web.catalog, code))


@router.post("/su-dung-lai", include_in_schema=False)
def reuse_many(request: Request, principal: Annotated[Principal, Depends(require(roles.REUSE))],
               ids: Annotated[list[str], Form(max_length=LIST_MAX)] = [],  # noqa: B006
               dossier: Annotated[str, Form(max_length=100)] = "") -> Response:
    """The confirmed reuse of one or more records (the list's bulk action) into one dossier."""
    web = state(request)
    code, found = _reusable(web, principal, ids, dossier)
    outcomes = [_reuse(web, principal, record.id, code, client(request)) for record in found]
    if len(outcomes) == 1:
        return RedirectResponse(f"/ban-ghi/{outcomes[0].record_id}?reused={quote(code)}"
                                f"&linked={int(outcomes[0].already_linked)}&dossier={quote(code)}", status_code=303)
    return RedirectResponse(f"/van-ban?reused={quote(code)}", status_code=303)


@router.post("/ban-ghi/{record_id}/rut-su-dung-lai", include_in_schema=False)
def withdraw_form(request: Request, record_id: str, principal: Annotated[Principal, Depends(require(roles.REUSE))],
                  dossier: Annotated[str, Form(max_length=100)] = "") -> Response:
    outcome = _withdraw(state(request), principal, record_id, dossier, client(request))
    return RedirectResponse(f"/ban-ghi/{outcome.record_id}?withdrawn={quote(outcome.dossier_code)}", status_code=303)


def _withdraw(web: WebState, principal: Principal, record_id: str, dossier: str, who: str):
    """Withdraw a reuse: the same checks as making it, then `withdraw_reuse` (same user, same day)."""
    code, found = _reusable(web, principal, [record_id], dossier)
    outcome = withdraw(web.archive, found[0].id, code, principal.username)
    audit.write(web.catalog, principal.username, audit.REUSE_WITHDRAWN, outcome.record_id,
                f"dossier {outcome.dossier_code}", who, dossier=outcome.dossier_code)
    return outcome


@router.post("/api/records/{record_id}/reuse/withdraw", tags=["sử dụng lại"],
             summary="Withdraw a reuse made today by the same user (a `reuse-withdrawn` event; the link stops "
                     "counting); 409 for another user or another day")
def api_withdraw(request: Request, record_id: str, body: ReuseRequest,
                 principal: Annotated[Principal, Depends(require(roles.REUSE))]) -> dict:
    outcome = _withdraw(state(request), principal, record_id, body.dossier, client(request))
    return {"record_id": outcome.record_id, "record_code": outcome.record_code,
            "dossier_code": outcome.dossier_code, "withdrawn": True}


@router.post("/ban-ghi/{record_id}/su-dung-lai", include_in_schema=False)
def reuse_form(request: Request, record_id: str, principal: Annotated[Principal, Depends(require(roles.REUSE))],
               dossier: Annotated[str, Form(max_length=100)] = "") -> Response:
    outcome = _reuse(state(request), principal, record_id, dossier, client(request))
    return RedirectResponse(f"/ban-ghi/{outcome.record_id}?reused={quote(outcome.dossier_code)}"
                            f"&linked={int(outcome.already_linked)}&dossier={quote(outcome.dossier_code)}",
                            status_code=303)


@router.post("/api/records/{record_id}/reuse", tags=["sử dụng lại"],
             summary="Attach the record to a new dossier (as `sohoa reuse`); 409 if it has expired")
def api_reuse(request: Request, record_id: str, body: ReuseRequest,
              principal: Annotated[Principal, Depends(require(roles.REUSE))]) -> dict:
    outcome = _reuse(state(request), principal, record_id, body.dossier, client(request))
    return {"record_id": outcome.record_id, "record_code": outcome.record_code,
            "dossier_code": outcome.dossier_code, "already_linked": outcome.already_linked}


@router.get("/api/records/{record_id}", tags=["bản ghi"],
            summary="Metadata, objects with SHA-256, events and reuse links (as `sohoa show --json`); audited")
def api_record(request: Request, record_id: str, principal: Annotated[Principal, Depends(require(roles.SEARCH))],
               dossier: Annotated[str, Query(max_length=100, description="Purpose: a dossier of yours "
                                                                       "registered to the record's owner")] = "") -> dict:
    web = state(request)
    record, bound = records.load_for(web, principal, record_id, dossier)
    audit.write(web.catalog, principal.username, audit.VIEW, record.id, "api" + _purpose(bound), client(request))
    return records.record_json(web, record, scope.scope_of(web.catalog, principal))


@router.get("/api/records/{record_id}/pdfa", tags=["bản ghi"],
            summary="The PDF/A (SHA-256 verified): the signed one once the record is signed, "
                    "the unsigned one with ?unsigned=1; audited")
def api_record_pdfa(request: Request, record_id: str,
                    principal: Annotated[Principal, Depends(require(roles.SEARCH))],
                    dossier: Annotated[str, Query(max_length=100)] = "", unsigned: bool = False) -> Response:
    return _send(state(request), principal, record_id, records.PDFA, audit.DOWNLOAD_PDFA, False, client(request),
                 dossier, unsigned)


@router.get("/api/records/{record_id}/original", tags=["bản ghi"],
            summary="The original bytes as received (SHA-256 verified); audited")
def api_record_original(request: Request, record_id: str,
                        principal: Annotated[Principal, Depends(require(roles.SEARCH))],
                        dossier: Annotated[str, Query(max_length=100)] = "") -> Response:
    return _send(state(request), principal, record_id, records.ORIGINAL, audit.DOWNLOAD_ORIGINAL, False,
                 client(request), dossier)


@router.post("/ban-ghi/{record_id}/ban-sao", include_in_schema=False)
def certified_copy(request: Request, record_id: str,
                   principal: Annotated[Principal, Depends(require(roles.SEARCH))]) -> Response:
    """A leader's "Cấp bản sao điện tử": the record with "BẢN SAO" and the agency's signature, audited."""
    if principal.role not in (roles.LEADER, roles.ADMIN):
        raise WebError(403, "Chỉ lãnh đạo cơ quan được cấp bản sao điện tử có chứng thực.", "forbidden")
    web = state(request)
    record, _bound = records.load_for(web, principal, record_id)
    info = records.certified(web, record)
    audit.write(web.catalog, principal.username, audit.CERTIFY, record.id, f"web sha256 {info['sha256']}",
                client(request))
    return Response(info["body"], media_type="application/pdf", headers={
        "Content-Disposition": _disposition("attachment", f"{record.code}-ban-sao.pdf"),
        "X-Sohoa-SHA256": info["sha256"], "Cache-Control": "private, no-store"})

