"""Xác nhận thông tin: the review queue (/xac-nhan, /api/review), one record's review page with the
proposals' boxes over its pages, the confirmation form (then the next record of the queue), the
JSON call `POST /api/records/{id}/describe`, and the larger page images the review page shows."""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.web import audit, records, review, roles
from sohoa.web.accounts import Principal
from sohoa.web.errors import WebError
from sohoa.web.routes import client, page
from sohoa.web.security import require
from sohoa.web.state import state
from starlette.concurrency import run_in_threadpool

router = APIRouter()
PAGE_SIZE: Final = 50
LIST_MAX: Final = 200
TAGS: Final = ["xác nhận thông tin"]


def _queue(request: Request, principal: Principal, limit: int, offset: int, what: str):
    web = state(request)
    total, rows = review.queue(web, principal, limit, offset)
    audit.write(web.catalog, principal.username, audit.LIST, None,
                f"{what}: {len(rows)} of {total} (offset {offset})", client(request),
                records=[row.record_id for row in rows])
    return total, rows


@router.get("/xac-nhan", include_in_schema=False)
def queue_page(request: Request, principal: Annotated[Principal, Depends(require(roles.SEARCH))],
               offset: Annotated[int, Query(ge=0)] = 0, xong: str = "") -> Response:
    total, rows = _queue(request, principal, PAGE_SIZE, offset, "review queue")
    done = _done_code(request, principal, xong)
    return page(request, "review.html", principal, rows=rows, total=total, offset=offset, size=PAGE_SIZE,
                done=done, item=None)


def _done_code(request: Request, principal: Principal, record_id: str) -> str:
    """The code of the record just confirmed (a URL names a record, never writes a message)."""
    if not record_id:
        return ""
    try:
        return review.in_scope(state(request), principal, record_id).code
    except SohoaError:
        return ""


@router.get("/api/review", tags=TAGS, summary="Records waiting for review, least certain first (audited)")
def api_queue(request: Request, principal: Annotated[Principal, Depends(require(roles.SEARCH))],
              limit: Annotated[int, Query(ge=1, le=LIST_MAX)] = PAGE_SIZE,
              offset: Annotated[int, Query(ge=0)] = 0) -> dict:
    total, rows = _queue(request, principal, limit, offset, "api review queue")
    return {"total": total, "records": [row.to_json() for row in rows]}


def _review_page(request: Request, principal: Principal, record_id: str, status: int = 200,
                 error: str = "", posted: dict[str, str] | None = None, done: str = "") -> Response:
    web = state(request)
    record = review.in_scope(web, principal, record_id)
    audit.write(web.catalog, principal.username, audit.VIEW, record.id, "review page", client(request))
    document = review.read_extracted(web, record, principal.username)
    fields = review.form_fields(record, document)
    if posted:  # the form again with what the person typed, after an error
        fields = [review.FormField(f.name, f.label, posted.get(f.name, f.value), f.proposed, f.confidence,
                                   f.unconfirmed, f.disagrees) for f in fields]
    shown = review.extracted_view(web, record, principal.username)
    return page(request, "review.html", principal, status=status, item=record, fields=fields, shown=shown,
                types=review.doc_types(web), error=error, done=done, can_confirm=principal.can(roles.REUSE),
                width=review.PAGE_WIDTH)


@router.get("/xac-nhan/{record_id}", include_in_schema=False)
def review_page(request: Request, record_id: str, principal: Annotated[Principal, Depends(require(roles.SEARCH))],
                xong: str = "") -> Response:
    return _review_page(request, principal, record_id, done=_done_code(request, principal, xong))


@router.post("/xac-nhan/{record_id}", include_in_schema=False)
async def confirm_form(request: Request, record_id: str,
                       principal: Annotated[Principal, Depends(require(roles.REUSE))]) -> Response:
    form = await request.form()
    posted = {name: str(form.get(name) or "") for name in review.FORM_FIELDS if name in form}
    return await run_in_threadpool(_confirm_posted, request, principal, record_id, posted)


def _confirm_posted(request: Request, principal: Principal, record_id: str, posted: dict[str, str]) -> Response:
    web = state(request)
    record = review.in_scope(web, principal, record_id)
    values = review.edited(record, posted)
    try:
        review.confirm(web, principal, record, values, True, client(request))
    except WebError as error:
        if error.status != 400:
            raise
        return _review_page(request, principal, record_id, status=400, error=error.message, posted=posted)
    following = review.next_waiting(web, principal, record.id)
    target = f"/xac-nhan/{quote(following)}" if following else "/xac-nhan"
    return RedirectResponse(f"{target}?xong={quote(record.id)}", status_code=303)


class DescribeRequest(BaseModel):
    set: dict[str, Any] = Field(default_factory=dict, description="FIELD → value as typed in a form "
                                "(dates YYYY-MM-DD, other_ids a list or comma separated); an empty value clears")
    confirm: bool | list[str] = Field(False, description="true: confirm every waiting field; or the names to confirm")


@router.post("/api/records/{record_id}/describe", tags=TAGS,
             summary="Set and/or confirm fields (as `sohoa describe`): a new metadata version and a `described` "
                     "event; the search index is updated")
def api_describe(request: Request, record_id: str, body: DescribeRequest,
                 principal: Annotated[Principal, Depends(require(roles.REUSE))]) -> dict:
    web = state(request)
    record = review.in_scope(web, principal, record_id)
    if isinstance(body.confirm, list):
        wrong = sorted(set(body.confirm) - set(review.describe.EDITABLE))
        if wrong:
            raise SohoaError(f"confirm: unknown fields {', '.join(wrong)}", ExitCode.USAGE)
    outcome = review.confirm(web, principal, record, body.set, body.confirm, client(request))
    current = records.load(web, record.id).metadata_json or {}
    return {"record_id": outcome.record_id, "record_code": outcome.record_code, "version": outcome.version,
            "changed": outcome.changed, "unconfirmed": current.get("unconfirmed") or [],
            "disagreements": current.get("disagreements") or []}


@router.get("/xac-nhan/{record_id}/trang/{number}.png", include_in_schema=False)
def page_image(request: Request, record_id: str, number: int,
               principal: Annotated[Principal, Depends(require(roles.SEARCH))], dossier: str = "") -> Response:
    """A page large enough to read, for the boxes drawn over it (the record page passes its purpose dossier)."""
    web = state(request)
    record, bound = records.load_for(web, principal, record_id, dossier)
    try:
        path = records.thumbnail(web, record, number, principal.username, review.PAGE_WIDTH)
    except WebError as error:
        if error.code == "fixity_failed":
            audit.write(web.catalog, principal.username, audit.INTEGRITY, record.id,
                        f"{records.PDFA}: SHA-256 mismatch, review image of page {number} refused", client(request))
        raise
    audit.write(web.catalog, principal.username, audit.THUMBNAIL, record.id, f"page {number} (review)",
                client(request), dossier=bound)
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
