"""Tải lên: choose the dossier fields, drop several files, watch each one go received → OCR → stored."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sohoa.core.codes import RETENTION_CODES
from sohoa.ratios.agencies import load_tree
from sohoa.web import audit, roles, uploads
from sohoa.web.accounts import Principal
from sohoa.web.errors import WebError
from sohoa.web.routes import client, page
from sohoa.web.security import require
from sohoa.web.state import WebState, state
from sohoa.workers import jobs
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUploadFile

router = APIRouter()
RECENT: Final = 20  # uploads listed under the form
RECENT_SCAN: Final = 500  # newest upload items looked through for this user's
MAX_SEPARATORS: Final = 50  # separator sheets printed at once


class UploadFields(BaseModel):
    """What scanning staff say about the files (the fields of `sohoa ingest`)."""

    agency: str = Field("", description="Mã cơ quan (QCVN 102), e.g. 000.00.12.H36; default: the user's agency")
    dossier: str = Field("", description="Mã hồ sơ <agency>-YYMMDD-NNNN")
    procedure: str = Field("", description="Mã thủ tục hành chính")
    kind: str = Field("component", description="component (thành phần hồ sơ) | result (kết quả)")
    doc_type: str = Field("", description="Mã loại giấy tờ / kết quả")
    owner_id: str = Field("", description="CCCD (12 digits) or tax code of the owner")
    title: str = Field("", description="Tên giấy tờ")
    number_symbol: str = Field("", description="Số, ký hiệu")
    issued_on: str = Field("", description="Ngày ban hành YYYY-MM-DD")
    issuing_agency: str = Field("", description="Cơ quan ban hành")
    summary: str = Field("", description="Trích yếu")
    valid_until: str = Field("", description="Hiệu lực đến YYYY-MM-DD")
    retention: str = Field("06", description="Thời hạn bảo quản 01..07")


def _agency_choices(web: WebState, principal: Principal) -> list[tuple[str, str]]:
    allowed = uploads.allowed_agencies(web, principal)
    names = {code: agency.name for code, agency in load_tree(web.catalog).agencies.items()}
    codes = sorted(names) if allowed is None else allowed
    return [(code, names.get(code, "")) for code in codes]


@router.get("/to-bia", include_in_schema=False)
def sheets_pdf(request: Request, principal: Annotated[Principal, Depends(require(roles.UPLOAD))],
               dossier: Annotated[str, Query(max_length=100)] = "",
               count: Annotated[int, Query(ge=0, le=MAX_SEPARATORS)] = 3) -> Response:
    """"In tờ bìa": the cover sheet of a dossier of the user's agencies and `count` separator sheets
    (issue #15), as `sohoa sheets`; scan them with the dossier and ingest splits it per document."""
    from sohoa.core import codes
    from sohoa.split.sheets import Separator, cover_page, separator_page, sheets_pdf as render

    web = state(request)
    code = codes.dossier_code(dossier) if dossier.strip() else None  # a bad code: 400 in Vietnamese
    allowed = uploads.allowed_agencies(web, principal)
    if code and allowed is not None and code.split("-")[0] not in allowed:
        raise WebError(404, "Không có hồ sơ này trong phạm vi cơ quan của bạn.", "not-found")
    if not code and not count:
        raise WebError(400, "Hãy nhập mã hồ sơ hoặc số tờ phân cách.")
    pages = ([cover_page(code)] if code else []) + [separator_page(Separator(), code) for _ in range(count)]
    body = render(pages)
    name = f"to-bia-{code}.pdf" if code else "to-phan-cach.pdf"
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})


def _recent(web: WebState, principal: Principal) -> list[dict]:
    rows = jobs.items(web.catalog, uploads.JOB, newest_first=True, limit=RECENT_SCAN)
    mine = [row for row in rows if principal.role == roles.ADMIN or row.fields.get("scanned_by") == principal.username]
    return [uploads.item_view(web, principal, row) for row in mine[:RECENT]]


@router.get("/tai-len", include_in_schema=False)
def upload_page(request: Request, principal: Annotated[Principal, Depends(require(roles.UPLOAD))],
                items: str = "") -> Response:
    web = state(request)
    recent = _recent(web, principal)
    if recent:  # file names and record codes of the recent uploads: one audit row with their records
        audit.write(web.catalog, principal.username, audit.LIST, None, "tải lên gần đây", client(request),
                    records=[str(row["record_id"]) for row in recent if row.get("record_id")])
    return page(request, "upload.html", principal, agencies=_agency_choices(web, principal),
                retention_codes=RETENTION_CODES, recent=recent,
                max_mb=web.config.max_upload_mb, max_files=uploads.MAX_FILES,
                just_sent={part.strip() for part in items.split(",") if part.strip()})


def _accept(web: WebState, principal: Principal, form: dict, files: list, who: str) -> list[dict]:
    fields = uploads.check_fields(web, principal, form)
    items = uploads.accept(web, principal, fields, files, who)
    return [uploads.item_view(web, principal, jobs.get(web.catalog, item.id) or item) for item in items]


@router.post("/tai-len", include_in_schema=False)
async def upload_form(request: Request, principal: Annotated[Principal, Depends(require(roles.UPLOAD))]) -> Response:
    """The form without JavaScript: save, then show the status list (it refreshes itself)."""
    form = await request.form()
    files = [(f.filename, f.file) for f in form.getlist("files")
             if isinstance(f, StarletteUploadFile) and f.filename]
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    items = await run_in_threadpool(_accept, state(request), principal, fields, files, client(request))
    return RedirectResponse(f"/tai-len?items={','.join(str(i['id']) for i in items)}", status_code=303)


@router.post("/api/uploads", tags=["tải lên"], status_code=201,
             summary="Upload scans for the workers (job 'upload'); returns one item per file")
def api_upload(request: Request, principal: Annotated[Principal, Depends(require(roles.UPLOAD))],
               fields: Annotated[UploadFields, Form()],
               files: Annotated[list[UploadFile] | None, File(description="PDF, TIFF, JPEG or PNG files")] = None,
               ) -> JSONResponse:
    given = [(f.filename, f.file) for f in files or []]
    items = _accept(state(request), principal, fields.model_dump(), given, client(request))
    return JSONResponse({"items": items}, status_code=201)


def _ids(text: str) -> list[int]:
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise WebError(400, "Danh sách mã tệp không hợp lệ (ví dụ: 12,13,14).") from None
    if len(ids) > 200:
        raise WebError(400, "Tối đa 200 mã tệp mỗi lần hỏi.")
    return ids


@router.get("/api/uploads", tags=["tải lên"], summary="Status of several uploads (ids=1,2,3)")
def api_upload_status(request: Request, principal: Annotated[Principal, Depends(require(roles.UPLOAD))],
                      ids: Annotated[str, Query(description="comma-separated item ids")] = "") -> dict:
    web = state(request)
    items = [uploads.item_view(web, principal, uploads.visible_item(web, principal, i)) for i in _ids(ids)]
    _audit_status(request, principal, items)
    return {"items": items}


def _audit_status(request: Request, principal: Principal, items: list[dict]) -> None:
    """The upload page polls these every second or two: file names and record codes, one row a window."""
    audit.write_polled(state(request).catalog, principal.username, audit.LIST, "tải lên: trạng thái",
                       client(request), [str(item["record_id"]) for item in items if item.get("record_id")])


@router.get("/api/uploads/{item_id}", tags=["tải lên"], summary="Status of one upload")
def api_upload_item(request: Request, item_id: int,
                    principal: Annotated[Principal, Depends(require(roles.UPLOAD))]) -> dict:
    web = state(request)
    item = uploads.item_view(web, principal, uploads.visible_item(web, principal, item_id))
    _audit_status(request, principal, [item])
    return item
