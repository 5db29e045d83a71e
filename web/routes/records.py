"""The record page: metadata, page thumbnails, the PDF/A inline, downloads, events, and "Sử dụng lại".
Every view and download is written to the audit log before the bytes leave."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sohoa.core import codes
from sohoa.core.codes import RETENTION_CODES
from sohoa.archive.reuse import reuse
from sohoa.web import audit, records, roles
from sohoa.web.accounts import Principal
from sohoa.web.routes import client, page
from sohoa.web.security import require
from sohoa.web.state import WebState, state

router = APIRouter()
LIST_MAX: Final = 200


def _disposition(kind: str, filename: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode() or "download"
    ascii_name = ascii_name.replace('"', "").replace("\\", "")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _send(web: WebState, principal: Principal, record_id: str, name: str, action: str, inline: bool,
          who: str) -> StreamingResponse:
    record = records.load(web, record_id)
    obj = records.stored_object(record, name)
    audit.write(web.catalog, principal.username, action, record.id, name, who)
    media = "application/pdf" if name == records.PDFA else records.original_media_type(record)
    headers = {"Content-Disposition": _disposition("inline" if inline else "attachment",
                                                   records.download_name(record, name)),
               "Content-Length": str(obj.size), "X-Sohoa-SHA256": obj.sha256,
               "Cache-Control": "private, no-store"}  # personal data: no copies in shared caches
    return StreamingResponse(records.verified_stream(web, record, name), media_type=media, headers=headers)


@router.get("/ban-ghi/{record_id}", include_in_schema=False)
def record_page(request: Request, record_id: str, principal: Annotated[Principal, Depends(require(roles.SEARCH))],
                reused: str = "", linked: int = 0) -> Response:
    web = state(request)
    record = records.load(web, record_id)
    audit.write(web.catalog, principal.username, audit.VIEW, record.id, "", client(request))
    shown = min(record.page_count, records.THUMB_PAGES)
    links = records.reuse_links(web, record)
    reused = reused if reused in {link.dossier_code for link in links} else ""  # a link cannot make up a message
    return page(request, "record.html", principal, record=record, meta=record.metadata_json,
                events=records.events(web, record), links=links, thumbs=range(1, shown + 1),
                more_pages=record.page_count - shown, retention=RETENTION_CODES, can_reuse=principal.can(roles.REUSE),
                reused=reused, already=bool(linked))


@router.get("/ban-ghi/{record_id}/pdfa", include_in_schema=False)
def record_pdfa(request: Request, record_id: str, principal: Annotated[Principal, Depends(require(roles.SEARCH))],
                download: bool = False) -> Response:
    action = audit.DOWNLOAD_PDFA if download else audit.VIEW_PDF
    return _send(state(request), principal, record_id, records.PDFA, action, not download, client(request))


@router.get("/ban-ghi/{record_id}/goc", include_in_schema=False)
def record_original(request: Request, record_id: str,
                    principal: Annotated[Principal, Depends(require(roles.SEARCH))]) -> Response:
    return _send(state(request), principal, record_id, records.ORIGINAL, audit.DOWNLOAD_ORIGINAL, False,
                 client(request))


@router.get("/ban-ghi/{record_id}/trang/{number}.png", include_in_schema=False)
def record_thumbnail(request: Request, record_id: str, number: int,
                     principal: Annotated[Principal, Depends(require(roles.SEARCH))]) -> Response:
    web = state(request)
    path = records.thumbnail(web, records.load(web, record_id), number)
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


def _reuse(web: WebState, principal: Principal, record_id: str, dossier: str, who: str):
    outcome = reuse(web.archive, record_id, dossier, principal.username)
    audit.write(web.catalog, principal.username, audit.REUSE, outcome.record_id,
                f"dossier {outcome.dossier_code}{' (already linked)' if outcome.already_linked else ''}", who)
    return outcome


@router.post("/ban-ghi/{record_id}/su-dung-lai", include_in_schema=False)
def reuse_form(request: Request, record_id: str, principal: Annotated[Principal, Depends(require(roles.REUSE))],
               dossier: Annotated[str, Form(max_length=100)] = "") -> Response:
    outcome = _reuse(state(request), principal, record_id, dossier, client(request))
    return RedirectResponse(f"/ban-ghi/{outcome.record_id}?reused={quote(outcome.dossier_code)}"
                            f"&linked={int(outcome.already_linked)}", status_code=303)


class ReuseRequest(BaseModel):
    dossier: str = Field(..., description="The new dossier's code <agency>-YYMMDD-NNNN", max_length=100)


@router.post("/api/records/{record_id}/reuse", tags=["sử dụng lại"],
             summary="Attach the record to a new dossier (as `sohoa reuse`); 409 if it has expired")
def api_reuse(request: Request, record_id: str, body: ReuseRequest,
              principal: Annotated[Principal, Depends(require(roles.REUSE))]) -> dict:
    outcome = _reuse(state(request), principal, record_id, body.dossier, client(request))
    return {"record_id": outcome.record_id, "record_code": outcome.record_code,
            "dossier_code": outcome.dossier_code, "already_linked": outcome.already_linked}


@router.get("/api/records", tags=["bản ghi"], summary="Records in the catalog, newest first, with filters")
def api_records(request: Request, principal: Annotated[Principal, Depends(require(roles.SEARCH))],
                dossier: str = "", owner_id: str = "", agency: str = "",
                limit: Annotated[int, Query(ge=1, le=LIST_MAX)] = 50,
                offset: Annotated[int, Query(ge=0)] = 0) -> dict:
    total, rows = state(request).catalog.list_records(
        dossier_code=codes.dossier_code(dossier) if dossier.strip() else None,
        owner_id=codes.owner_id(owner_id) if owner_id.strip() else None,
        agency_code=codes.agency_code(agency) if agency.strip() else None, limit=limit, offset=offset)
    return {"total": total, "records": [row.metadata_json for row in rows]}


@router.get("/api/records/{record_id}", tags=["bản ghi"],
            summary="Metadata, objects with SHA-256, events and reuse links (as `sohoa show --json`); audited")
def api_record(request: Request, record_id: str, principal: Annotated[Principal, Depends(require(roles.SEARCH))]) -> dict:
    web = state(request)
    record = records.load(web, record_id)
    audit.write(web.catalog, principal.username, audit.VIEW, record.id, "api", client(request))
    return records.record_json(web, record)


@router.get("/api/records/{record_id}/pdfa", tags=["bản ghi"], summary="The PDF/A (SHA-256 verified); audited")
def api_record_pdfa(request: Request, record_id: str,
                    principal: Annotated[Principal, Depends(require(roles.SEARCH))]) -> Response:
    return _send(state(request), principal, record_id, records.PDFA, audit.DOWNLOAD_PDFA, False, client(request))


@router.get("/api/records/{record_id}/original", tags=["bản ghi"],
            summary="The original bytes as received (SHA-256 verified); audited")
def api_record_original(request: Request, record_id: str,
                        principal: Annotated[Principal, Depends(require(roles.SEARCH))]) -> Response:
    return _send(state(request), principal, record_id, records.ORIGINAL, audit.DOWNLOAD_ORIGINAL, False,
                 client(request))
