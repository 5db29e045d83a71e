"""Văn bản: the records of the user's agency subtree, newest first, with page thumbnails; sortable
(stored, issued, type, code), filterable (type, agency, stored dates, owner ID, dossier) and paged,
with bulk actions on a selection (set fields, reuse into a dossier, export, cover sheets). The same
list is `GET /api/records`. One audit row per page names every record shown.

Scanners see the list too (permission `browse`), so they do not scan twice what their agency has
already digitised; they get codes, titles, types, dossiers and dates, not the owner's ID column,
the thumbnails or the record page (those stay with `search`)."""

from __future__ import annotations

import io
import math
import tempfile
import zipfile
from pathlib import Path
from datetime import datetime, timedelta
from typing import Annotated, Final, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sohoa.archive.catalog import Record
from sohoa.core import codes
from sohoa.core.records import VIETNAM, vietnam_midnight
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ratios.agencies import subordinates
from sohoa.web import audit, records, review, roles, scope
from sohoa.web.accounts import Principal
from sohoa.web.routes import client, form_day, page, refuse_id_lookup
from sohoa.web.errors import WebError
from sohoa.web.security import Forbidden, require
from sohoa.web.state import WebState, state

router = APIRouter()
PAGE_SIZE: Final = 20
LIST_MAX: Final = 200
BULK_FIELDS: Final = ("doc_type_code", "issuing_agency", "procedure_code")  # set on every selected record
SORTS_VI: Final = {"stored": "Ngày lưu", "issued": "Ngày ban hành", "type": "Loại giấy tờ", "code": "Mã giấy tờ"}


class ListParams(BaseModel):
    """The filters, order and page of the document list (the page and `GET /api/records`)."""

    doc_type: str = Field("", max_length=64, description="Document type code")
    agency: str = Field("", max_length=32, description="Agency code; includes its subordinate agencies")
    owner_id: str = Field("", max_length=20)
    dossier: str = Field("", max_length=100)
    stored_from: str = Field("", alias="from", description="Stored on or after YYYY-MM-DD (Vietnam time)")
    stored_to: str = Field("", alias="to", description="Stored on or before YYYY-MM-DD (Vietnam time)")
    sort: Literal["stored", "issued", "type", "code"] = "stored"
    order: Literal["desc", "asc"] = "desc"
    page: int = Field(1, ge=1, le=100000)
    size: int = Field(PAGE_SIZE, ge=1, le=LIST_MAX)

    model_config = {"populate_by_name": True}

    def link(self, **changes) -> str:
        values = {**self.model_dump(by_alias=True), **changes}
        defaults = {"sort": "stored", "order": "desc", "page": 1, "size": PAGE_SIZE}
        return "/van-ban?" + urlencode({k: v for k, v in values.items()
                                        if v not in ("", None) and defaults.get(k) != v})


def list_page(web: WebState, principal: Principal, params: ListParams,
              offset: int | None = None) -> tuple[int, list[Record]]:
    """(how many match, this page of them) within the user's agency subtree; `offset` instead of the page."""
    refuse_id_lookup(principal, params.owner_id)
    agencies = scope.scope_of(web.catalog, principal).as_list()
    if params.agency.strip():
        chosen = subordinates(web.catalog, codes.agency_code(params.agency))
        agencies = chosen if agencies is None else [code for code in chosen if code in set(agencies)]
    until = form_day(params.stored_to, "đến ngày")
    return web.catalog.list_records(
        dossier_code=codes.dossier_code(params.dossier) if params.dossier.strip() else None,
        owner_id=codes.owner_id(params.owner_id) if params.owner_id.strip() else None,
        doc_type_code=params.doc_type.strip() or None, agencies=agencies,
        stored_from=vietnam_midnight(form_day(params.stored_from, "từ ngày")),
        stored_before=vietnam_midnight(until + timedelta(days=1) if until else None),
        sort=params.sort, descending=params.order == "desc",
        limit=params.size, offset=(params.page - 1) * params.size if offset is None else offset)


def _audit(request: Request, principal: Principal, what: str, params: ListParams, total: int,
           rows: list[Record]) -> None:
    asked = params.model_dump_json(exclude_defaults=True, by_alias=True)
    audit.write(state(request).catalog, principal.username, audit.LIST, None,
                f"{what}: {len(rows)}/{total} {asked}", client(request),
                records=[row.id for row in rows], dossier=params.dossier.strip() or None)


@router.get("/van-ban", include_in_schema=False)
def documents_page(request: Request, principal: Annotated[Principal, Depends(require(roles.BROWSE))],
                   params: Annotated[ListParams, Query()], reused: str = "", count: int = 0,
                   done: str = "") -> Response:
    web = state(request)
    error, total, rows = "", 0, []
    try:
        total, rows = list_page(web, principal, params)
    except SohoaError as exc:
        if exc.exit_code not in (ExitCode.USAGE, ExitCode.INVALID_CODE):
            raise
        error = exc.message
    _audit(request, principal, "văn bản", params, total, rows)
    seen = scope.scope_of(web.catalog, principal)
    return page(request, "documents.html", principal, status=400 if error else 200, params=params, rows=rows,
                notice=_notice(web, principal, reused, done, count),
                total=total, pages=math.ceil(total / params.size) if total else 0, error=error, sorts=SORTS_VI,
                can_view=principal.can(roles.SEARCH), can_reuse=principal.can(roles.REUSE),
                agency_choices=sorted(seen.agencies) if seen.agencies is not None else [])


def _notice(web: WebState, principal: Principal, reused: str, done: str, count: int) -> str:
    """The message after a bulk action, built here from what the catalog holds: a link cannot make one up."""
    if done == "none":
        return "Chưa chọn văn bản nào: hãy đánh dấu các văn bản cần thao tác."
    if done == "described":
        return f"Đã cập nhật thông tin {max(count, 0)} văn bản."
    if reused:
        links = [link for link in web.catalog.reuse_links_into(reused) if link.by == principal.username]
        if links:
            return f"Đã sử dụng lại {len(links)} giấy tờ cho hồ sơ {reused}."
    return ""


@router.get("/api/records", tags=["bản ghi"],
            summary="Records of your agency scope: filters (doc_type, agency, from, to, owner_id, dossier), "
                    "sort (stored, issued, type, code), order and paging; audited")
def api_records(request: Request, principal: Annotated[Principal, Depends(require(roles.SEARCH))],
                params: Annotated[ListParams, Query()],
                limit: Annotated[int | None, Query(ge=1, le=LIST_MAX)] = None,
                offset: Annotated[int | None, Query(ge=0)] = None) -> dict:
    """`limit`/`offset` (the older form) take the place of `size`/`page` when given."""
    if limit is not None:
        params = params.model_copy(update={"size": limit})
    web = state(request)
    total, rows = list_page(web, principal, params, offset)
    _audit(request, principal, "api records", params, total, rows)
    seen = scope.scope_of(web.catalog, principal)
    return {"total": total, "page": params.page, "size": params.size,
            "records": [scope.redact(seen, row.metadata_json) for row in rows]}


@router.post("/van-ban/thao-tac", include_in_schema=False)
async def bulk_action(request: Request, principal: Annotated[Principal, Depends(require(roles.REUSE))]) -> Response:
    """The list's bulk actions on the selected records: `reuse` (to the confirm step), `describe`
    (set fields: a new metadata version each, as the review queue), `export` (one BagIt bag with
    METS, zipped) and `sheets` (the cover sheets of their dossiers)."""
    form = await request.form()
    ids = list(dict.fromkeys(str(value) for value in form.getlist("ids") if str(value).strip()))[:LIST_MAX]
    action, dossier = str(form.get("action") or ""), str(form.get("dossier") or "").strip()
    if not ids:  # the form as rendered, nothing ticked: back to the list with a word, not an error page
        return RedirectResponse("/van-ban?done=none", status_code=303)
    if action == "reuse":
        return RedirectResponse("/su-dung-lai?" + urlencode([("ids", rid) for rid in ids] + [("dossier", dossier)]),
                                status_code=303)
    web, who = state(request), client(request)
    if action == "describe":
        values = {name: str(form.get(name) or "").strip() for name in BULK_FIELDS if str(form.get(name) or "").strip()}
        changed = await run_in_threadpool(bulk_describe, web, principal, ids, values, who)
        return RedirectResponse(f"/van-ban?done=described&count={changed}", status_code=303)
    if action == "export":
        body, name = await run_in_threadpool(bulk_export, web, principal, ids, who)
        return Response(body, media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})
    if action == "sheets":
        body = await run_in_threadpool(bulk_sheets, web, principal, ids)
        return Response(body, media_type="application/pdf", headers={
            "Content-Disposition": 'attachment; filename="to-bia-ho-so.pdf"', "Cache-Control": "private, no-store"})
    raise WebError(400, "Thao tác không hợp lệ.")


def _selected(web: WebState, principal: Principal, ids: list[str]) -> list[Record]:
    """The selected records, each of the user's scope (another agency's: 404, as if missing)."""
    return [records.load_for(web, principal, rid)[0] for rid in ids]


def bulk_describe(web: WebState, principal: Principal, ids: list[str], values: dict[str, str], who: str) -> int:
    """The same fields on every selected record, each through the review queue's `confirm` (a new
    metadata version and a `described` event, its own audit row): how many changed."""
    if not values:
        raise WebError(400, "Hãy nhập ít nhất một thông tin cần cập nhật (loại giấy tờ, cơ quan ban hành, mã thủ tục).")
    found = [review.in_scope(web, principal, rid) for rid in ids]
    return sum(bool(review.confirm(web, principal, record, values, False, who).changed) for record in found)


def bulk_export(web: WebState, principal: Principal, ids: list[str], who: str) -> tuple[bytes, str]:
    """One BagIt bag of the selected records with their METS (archive/export.py, as `sohoa export`), zipped."""
    from sohoa.archive.export import export_bag, mets_of

    if not principal.can(roles.SEARCH):
        raise Forbidden("Bạn không có quyền tải văn bản.")
    chosen = _selected(web, principal, ids)
    audit.write(web.catalog, principal.username, audit.DOWNLOAD_ORIGINAL, None,
                f"export of {len(chosen)} records (BagIt + METS zip)", who, records=[r.id for r in chosen])
    with tempfile.TemporaryDirectory(prefix="sohoa-export-", dir=web.settings.data_dir) as folder:
        bag = export_bag(web.archive, chosen, Path(folder) / "bag", {"METS.xml": mets_of(web.archive, chosen)})
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(bag.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(bag).as_posix())
    return out.getvalue(), f"van-ban-{datetime.now(VIETNAM):%Y%m%d-%H%M%S}.zip"


def bulk_sheets(web: WebState, principal: Principal, ids: list[str]) -> bytes:
    """The cover sheet of each dossier the selected records are filed in (as `sohoa sheets`)."""
    from sohoa.split.sheets import cover_page, sheets_pdf

    dossiers = sorted({r.dossier_code for r in _selected(web, principal, ids) if r.dossier_code})
    if not dossiers:
        raise WebError(400, "Các văn bản đã chọn chưa thuộc hồ sơ nào: không có tờ bìa để in.")
    return sheets_pdf([cover_page(code) for code in dossiers])
