"""Hồ sơ: the dossier API of the one-stop system (issue #19) and the dossier page (issue #18).

- POST /api/dossiers: one dossier upserted with the registry import's own validation
  (sohoa.ratios.registry.validate), 201 created / 200 updated, 422 naming the field otherwise;
- POST /api/dossiers/{code}/result: its result issued (date, form, MaKetQua);
- GET /api/dossiers/{code}[?format=dvcqg]: the dossier view (web/dossiers.py), or the national
  portal's fields through the mapping file (sohoa.ratios.dvcqg);
- GET /ho-so/{code}: the same view as a page.
Machine-role tokens reach these endpoints only (web/roles.py); everyone works in their agency subtree:
another agency's dossier is a 404 to read and a 403 to write.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sohoa.ratios import dvcqg, registry
from sohoa.ratios.csvinput import RowError
from sohoa.ratios.registry import FieldError, RegistryEntry
from sohoa.web import audit, dossiers, roles, scope
from sohoa.web.accounts import Principal
from sohoa.web.errors import WebError
from sohoa.web.routes import client, page
from sohoa.web.security import require
from sohoa.web.state import state
from starlette.concurrency import run_in_threadpool

router = APIRouter()
FIELDS: Final = frozenset((*registry.COLUMNS, *registry.OPTIONAL))
RESULT_FIELDS: Final = frozenset(("result_issued_on", "result_form", "result_code"))
INVALID_TITLE_VI: Final = "Dữ liệu hồ sơ không hợp lệ"


def invalid(field: str, message: str) -> JSONResponse:
    """A 422 naming the field, in Vietnamese."""
    return JSONResponse({"error": "invalid", "title": INVALID_TITLE_VI, "field": field, "message": message},
                        status_code=422)


async def _body(request: Request, allowed: frozenset[str]) -> dict[str, str | None] | JSONResponse:
    """The JSON object sent, as registry cells (strings), or the 422 that explains what is wrong."""
    try:
        payload = await request.json()
    except ValueError:
        return invalid("", "Nội dung gửi lên không phải JSON hợp lệ.")
    if not isinstance(payload, dict):
        return invalid("", "Gửi một đối tượng JSON: {\"dossier_code\": …, \"agency_code\": …}.")
    unknown = sorted(set(payload) - allowed)
    if unknown:
        return invalid(unknown[0], f"Trường {unknown[0]!r} không được hỗ trợ; các trường: {', '.join(sorted(allowed))}.")
    for name, value in payload.items():
        if isinstance(value, (dict, list, bool)):
            return invalid(name, f"{registry.FIELD_VI.get(name, name)} ({name}): cần một giá trị đơn (chuỗi hoặc số).")
    return {name: None if value is None else str(value) for name, value in payload.items()}


def entry_json(entry: RegistryEntry) -> dict[str, Any]:
    return {name: value.isoformat() if hasattr(value, "isoformat") else value
            for name, value in entry.cells().items()} | {"exempted_total": entry.exempted}


@router.post("/api/dossiers", tags=["hồ sơ"], status_code=201,
             summary="Create or update one dossier of the one-stop registry (idempotent on its code)",
             description="A JSON object with the registry CSV's fields (" + ", ".join(registry.COLUMNS) +
                         "; optional: " + ", ".join(registry.OPTIONAL) + "). 201 when the dossier is new, "
                         "200 when it was updated; 422 with `field` and a Vietnamese `message` when a field is "
                         "wrong; 403 for a dossier outside your agencies.")
async def api_dossier_upsert(request: Request,
                             principal: Annotated[Principal, Depends(require(roles.REGISTRY))]) -> Response:
    cells = await _body(request, FIELDS)
    if isinstance(cells, JSONResponse):
        return cells
    web = state(request)
    seen = scope.scope_of(web.catalog, principal)
    _, checked = next(scope.scoped_rows(web.catalog, seen, [(1, cells)]))
    if isinstance(checked, RowError):
        raise WebError(403, f"Hồ sơ ngoài phạm vi của bạn: {checked.reason}.", "forbidden")
    try:
        entry, created = await run_in_threadpool(registry.upsert_one, web.catalog, cells)
    except FieldError as exc:
        return invalid(exc.field, exc.message_vi)
    await run_in_threadpool(audit.write, web.catalog, principal.username, audit.DOSSIER_WRITE, None,
                            f"hồ sơ {entry.code}: {'tạo mới' if created else 'cập nhật'}", client(request),
                            dossier=entry.code)
    return JSONResponse({"created": created, "dossier": entry_json(entry)}, status_code=201 if created else 200)


@router.post("/api/dossiers/{code}/result", tags=["hồ sơ"],
             summary="The dossier's result was issued: date, form (paper | electronic) and result code (MaKetQua)",
             description="A JSON object {result_issued_on, result_form, result_code}; the dossier must be in the "
                         "registry and in your agencies (404 otherwise); 422 naming the field when one is wrong.")
async def api_dossier_result(request: Request, code: str,
                             principal: Annotated[Principal, Depends(require(roles.REGISTRY))]) -> Response:
    cells = await _body(request, RESULT_FIELDS)
    if isinstance(cells, JSONResponse):
        return cells
    web = state(request)
    entry = dossiers.entry_in_scope(web.catalog, scope.scope_of(web.catalog, principal), code)
    try:
        entry = await run_in_threadpool(registry.set_result, web.catalog, entry.code, cells)
    except FieldError as exc:
        return invalid(exc.field, exc.message_vi)
    await run_in_threadpool(audit.write, web.catalog, principal.username, audit.DOSSIER_WRITE, None,
                            f"hồ sơ {entry.code}: trả kết quả {entry.result_issued_on} ({entry.result_form})",
                            client(request), dossier=entry.code)
    return JSONResponse({"dossier": entry_json(entry)})


def load_view(request: Request, principal: Principal, code: str) -> dossiers.DossierView:
    """The view in the caller's scope, and its one audit row (naming every record it shows)."""
    web = state(request)
    found = dossiers.view(web.archive, web.index, scope.scope_of(web.catalog, principal), code)
    audit.write(web.catalog, principal.username, audit.DOSSIER, None, f"hồ sơ {found.code}", client(request),
                records=found.shown, dossier=found.code)
    return found


def national_view(request: Request, found: dossiers.DossierView) -> dict[str, Any]:
    settings = state(request).settings
    return dvcqg.apply(dvcqg.load(settings.dvcqg_mapping), found.to_json(), str(request.base_url).rstrip("/"))


@router.get("/api/dossiers/{code}", tags=["hồ sơ"],
            summary="The dossier: components, results, reuse, what the owner's Kho holds that it lacks; "
                    "format=dvcqg: the national portal's fields")
def api_dossier(request: Request, code: str, principal: Annotated[Principal, Depends(require(roles.DOSSIERS))],
                format: Annotated[Literal["json", "dvcqg"], Query(description="dvcqg: the national portal's "
                                                                  "fields (docs/integration.md)")] = "json") -> dict:
    found = load_view(request, principal, code)
    return national_view(request, found) if format == "dvcqg" else found.to_json()


@router.get("/ho-so/{code}", include_in_schema=False)
def dossier_page(request: Request, code: str,
                 principal: Annotated[Principal, Depends(require(roles.DOSSIERS))]) -> Response:
    found = load_view(request, principal, code)
    return page(request, "dossier.html", principal, dossier=found, data=found.to_json(),
                channels=dossiers.CHANNELS_VI, forms=dossiers.RESULT_FORMS_VI, reasons=registry.EXEMPT_REASONS,
                can_reuse=principal.can(roles.REUSE))

