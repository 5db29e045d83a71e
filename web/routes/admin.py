"""Quản trị: users and API tokens, agencies, targets, and the audit log (admin only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sohoa.core.records import vietnam_midnight
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ratios import agencies, procedures, targets
from sohoa.ratios.csvinput import rows
from sohoa.ratios.indicators import INDICATORS, LABELS_VI
from sohoa.web import accounts, audit, labels, roles
from sohoa.web.accounts import Principal
from sohoa.web.errors import WebError
from sohoa.web.routes import client, form_day, page
from sohoa.web.routes.reports import csv_body, import_json
from sohoa.web.security import require
from sohoa.web.state import WebState, state
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUploadFile

router = APIRouter()
MANAGE = Depends(require(roles.MANAGE))
AUDIT_PAGE: Final = 100
AGENCIES_SHOWN: Final = 300
NOTICES: Final[dict[str, str]] = {  # messages after a redirect, by key: a URL can pick one, never write one
    "user-added": "Đã tạo tài khoản.", "user-disabled": "Đã khóa tài khoản; các phiên và token của tài khoản bị hủy.",
    "user-enabled": "Đã mở khóa tài khoản.", "password-set": "Đã đặt mật khẩu mới; các phiên và API token cũ bị hủy.",
    "targets-set": "Đã lưu chỉ tiêu.", "targets-unchanged": "Chưa nhập chỉ tiêu nào: không có gì thay đổi.", "token-revoked": "Đã thu hồi token.",
    "unlocked": "Đã mở chặn đăng nhập của tài khoản.",
}


def _admin_page(request: Request, principal: Principal, status: int = 200, **extra) -> Response:
    web = state(request)
    tree = agencies.load_tree(web.catalog)
    shown = list(tree.walk(tree.roots))[:AGENCIES_SHOWN]
    effective = targets.effective(web.catalog, tree)
    target_rows = [(targets.ALL_AGENCIES, "Mặc định (mọi cơ quan)", effective[targets.ALL_AGENCIES])] + [
        (code, tree.agencies[code].name, effective[code]) for code, _ in shown]
    context = {"users": accounts.list_users(web.catalog), "tokens": accounts.list_tokens(web.catalog),
               "blocked": accounts.blocked_accounts(web.catalog),
               "roles_list": roles.ROLES, "agencies": [(code, depth, tree.agencies[code]) for code, depth in shown],
               "agency_total": len(tree.agencies),
               "agency_names": {code: row.name or code for code, row in tree.agencies.items()}, "target_rows": target_rows, "indicators": INDICATORS,
               "indicator_labels": LABELS_VI, "notice": NOTICES.get(request.query_params.get("ok", ""), ""),
               "new_token": "", "import_report": None, "error": ""}
    context.update(extra)
    return page(request, "admin.html", principal, status=status, **context)


@router.get("/quan-tri", include_in_schema=False)
def admin_page(request: Request, principal: Annotated[Principal, MANAGE]) -> Response:
    return _admin_page(request, principal)


def _done(key: str) -> RedirectResponse:
    return RedirectResponse(f"/quan-tri?ok={key}", status_code=303)


@router.post("/quan-tri/nguoi-dung", include_in_schema=False)
def add_user_form(request: Request, principal: Annotated[Principal, MANAGE],
                  username: Annotated[str, Form(max_length=64)] = "", full_name: Annotated[str, Form(max_length=200)] = "",
                  role: Annotated[str, Form(max_length=16)] = "", agency: Annotated[str, Form(max_length=32)] = "",
                  password: Annotated[str, Form(max_length=1000)] = "") -> Response:
    web = state(request)
    try:
        user = accounts.add_user(web.catalog, username, role, password, agency or None, full_name)
    except SohoaError as exc:
        return _admin_page(request, principal, status=400 if exc.exit_code != ExitCode.REFUSED else 409,
                           error=labels.message_vi(exc.message))
    audit.write(web.catalog, principal.username, audit.ADMIN, None, f"user add {user.username} ({user.role})",
                client(request))
    return _done("user-added")


@router.post("/quan-tri/nguoi-dung/{username}/trang-thai", include_in_schema=False)
def user_active_form(request: Request, username: str, principal: Annotated[Principal, MANAGE],
                     active: Annotated[bool, Form()] = False) -> Response:
    web = state(request)
    if username == principal.username and not active:
        raise WebError(409, "Không thể tự khóa tài khoản đang dùng.", "refused")
    accounts.set_active(web.catalog, username, active)
    audit.write(web.catalog, principal.username, audit.ADMIN, None,
                f"user {'enable' if active else 'disable'} {username}", client(request))
    return _done("user-enabled" if active else "user-disabled")


@router.post("/quan-tri/nguoi-dung/{username}/mat-khau", include_in_schema=False)
def password_form(request: Request, username: str, principal: Annotated[Principal, MANAGE],
                  password: Annotated[str, Form(max_length=1000)] = "") -> Response:
    web = state(request)
    try:
        accounts.set_password(web.catalog, username, password)
    except SohoaError as exc:
        if exc.exit_code != ExitCode.USAGE:
            raise
        return _admin_page(request, principal, status=400, error=labels.message_vi(exc.message))
    audit.write(web.catalog, principal.username, audit.ADMIN, None, f"password set {username}", client(request))
    return _done("password-set")


@router.post("/quan-tri/nguoi-dung/{username}/mo-chan", include_in_schema=False)
def unlock_form(request: Request, username: str, principal: Annotated[Principal, MANAGE]) -> Response:
    """Lift the login block of an account (too many wrong passwords)."""
    _unlock(request, principal, username)
    return _done("unlocked")


def _unlock(request: Request, principal: Principal, username: str) -> int:
    web = state(request)
    user = accounts.require_user(web.catalog, username)
    lifted = accounts.unlock(web.catalog, user.username)
    audit.write(web.catalog, principal.username, audit.UNLOCK, None, f"user {user.username}", client(request))
    return lifted


@router.post("/quan-tri/nguoi-dung/{username}/token", include_in_schema=False)
def token_form(request: Request, username: str, principal: Annotated[Principal, MANAGE],
               label: Annotated[str, Form(max_length=100)] = "",
               days: Annotated[int, Form(ge=1, le=3650)] = accounts.TOKEN_DAYS,
               read_only: Annotated[bool, Form()] = False) -> Response:
    web = state(request)
    token = accounts.create_token(web.catalog, username, label, days=days, read_only=read_only)
    audit.write(web.catalog, principal.username, audit.ADMIN, None,
                f"token for {username} ({days} days{', read-only' if read_only else ''})", client(request))
    # Rendered, not redirected: the token must never appear in a URL or a server log.
    return _admin_page(request, principal, new_token=token, token_user=username)


@router.post("/quan-tri/token/{token_id}/thu-hoi", include_in_schema=False)
def revoke_form(request: Request, token_id: int, principal: Annotated[Principal, MANAGE]) -> Response:
    web = state(request)
    accounts.revoke_token(web.catalog, token_id)
    audit.write(web.catalog, principal.username, audit.ADMIN, None, f"token #{token_id} revoked", client(request))
    return _done("token-revoked")


async def _import_agencies(request: Request, principal: Principal, text: str):
    web = state(request)
    report = await run_in_threadpool(lambda: agencies.upsert_agencies(web.catalog, rows(text, agencies.COLUMNS, "CSV")))
    await run_in_threadpool(audit.write, web.catalog, principal.username, audit.ADMIN, None,
                            f"agencies import: {report.imported} imported, {len(report.rejected)} rejected",
                            client(request))
    return report


async def _form_csv(request: Request, what: str) -> str:
    """The CSV file of an admin form, as text (UTF-8, a BOM allowed)."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, StarletteUploadFile) or not upload.filename:
        raise WebError(400, f"Hãy chọn tệp CSV {what}.")
    data = await upload.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise WebError(415, "Tệp không phải văn bản UTF-8; hãy lưu CSV dạng UTF-8.", "unsupported") from None


@router.post("/quan-tri/co-quan", include_in_schema=False)
async def agencies_form(request: Request, principal: Annotated[Principal, MANAGE]) -> Response:
    text = await _form_csv(request, "danh mục cơ quan (code,name,parent_code,level)")
    report = await _import_agencies(request, principal, text)
    return await run_in_threadpool(lambda: _admin_page(request, principal, import_report=report))


async def _import_procedures(request: Request, principal: Principal, text: str):
    web = state(request)
    report = await run_in_threadpool(lambda: procedures.upsert_procedures(
        web.catalog, rows(text, procedures.COLUMNS, "CSV")))
    await run_in_threadpool(audit.write, web.catalog, principal.username, audit.ADMIN, None,
                            f"procedures import: {report.imported} imported, {len(report.rejected)} rejected",
                            client(request))
    return report


def _procedures_page(request: Request, principal: Principal, report=None) -> Response:
    found = procedures.load_procedures(state(request).catalog)
    return page(request, "procedures.html", principal, procedures=list(found.values()), import_report=report)


@router.get("/quan-tri/thu-tuc", include_in_schema=False)
def procedures_page(request: Request, principal: Annotated[Principal, MANAGE]) -> Response:
    """Danh mục thủ tục hành chính: the catalogue and its CSV import (code,name,field)."""
    return _procedures_page(request, principal)


@router.post("/quan-tri/thu-tuc", include_in_schema=False)
async def procedures_form(request: Request, principal: Annotated[Principal, MANAGE]) -> Response:
    report = await _import_procedures(request, principal, await _form_csv(request, "danh mục thủ tục (code,name,field)"))
    return await run_in_threadpool(lambda: _procedures_page(request, principal, report))


@router.post("/api/procedures/import", tags=["quản trị"],
             summary="Import procedures from CSV text code,name,field (as `sohoa procedures import`)")
async def api_procedures_import(request: Request, principal: Annotated[Principal, MANAGE]) -> Response:
    return await _api_import(request, principal, _import_procedures)


async def _api_import(request: Request, principal: Principal, importer) -> Response:
    """A CSV import through the API (text/csv body or a multipart file): 400 when no row went in."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    report = await importer(request, principal, await csv_body(request, kind))
    return JSONResponse(import_json(report), status_code=400 if report.rejected and not report.imported else 200)


def _percent_or_none(value: str, indicator: str) -> float | None:
    return targets.parse_percent(value, indicator) if value.strip() else None


@router.post("/quan-tri/chi-tieu", include_in_schema=False)
async def targets_form(request: Request, principal: Annotated[Principal, MANAGE]) -> Response:
    form = await request.form()
    agency = str(form.get("agency") or "").strip()
    web = state(request)
    try:
        given = {i: str(form.get(i) or "") for i in INDICATORS}
        new_targets = {i: _percent_or_none(v, i) for i, v in given.items() if v.strip()}
        points_text = str(form.get("points") or "").strip()
        points = float(points_text.replace(",", ".")) if points_text else None
        if points is not None and points <= 0:
            raise SohoaError("points must be > 0", ExitCode.USAGE)
        if not new_targets and points is None:
            return _done("targets-unchanged")  # an empty form changes nothing: not an error
        await run_in_threadpool(_set_targets, web, agency, new_targets, points)
    except ValueError:
        return await run_in_threadpool(lambda: _admin_page(request, principal, status=400, error="Điểm phải là một số."))
    except SohoaError as exc:
        if exc.exit_code not in (ExitCode.USAGE, ExitCode.INVALID_CODE, ExitCode.NOT_FOUND):
            raise
        message = labels.message_vi(exc.message)
        return await run_in_threadpool(lambda: _admin_page(request, principal, status=400, error=message))
    await run_in_threadpool(audit.write, web.catalog, principal.username, audit.ADMIN, None,
                            f"targets {agency or '*'} {new_targets} points {points}", client(request))
    return _done("targets-set")


def _set_targets(web: WebState, agency: str, new_targets: dict, points: float | None) -> None:
    tree = agencies.load_tree(web.catalog)
    code = agencies.require_agency(tree, agency) if agency and agency != targets.ALL_AGENCIES else None
    if not new_targets and points is None:
        raise SohoaError("nhập ít nhất một chỉ tiêu (%) hoặc số điểm", ExitCode.USAGE)
    new_points = {i: points for i in (list(new_targets) or INDICATORS)} if points is not None else {}
    targets.set_targets(web.catalog, code, new_targets, new_points)


def _audit_filters(user: str, record: str, action: str, dossier: str, day_from: str, day_to: str) -> dict:
    """The log's filters as `audit.entries` takes them; dates are Vietnamese days, `to` included."""
    start, end = form_day(day_from, "từ ngày"), form_day(day_to, "đến ngày")
    return {"username": user.strip() or None, "record_id": record.strip() or None, "action": action.strip() or None,
            "dossier": dossier.strip() or None,
            "since": vietnam_midnight(start), "until": vietnam_midnight(end + timedelta(days=1) if end else None)}


@router.get("/nhat-ky", include_in_schema=False)
def audit_short(request: Request, principal: Annotated[Principal, MANAGE]) -> Response:
    """The audit log's short address: the admin page with the same filters."""
    query = request.url.query
    return RedirectResponse("/quan-tri/nhat-ky" + (f"?{query}" if query else ""), status_code=303)


@router.get("/quan-tri/nhat-ky", include_in_schema=False)
def audit_page(request: Request, principal: Annotated[Principal, MANAGE], user: str = "", record: str = "",
               action: str = "", dossier: str = "", day_from: Annotated[str, Query(alias="from")] = "",
               day_to: Annotated[str, Query(alias="to")] = "",
               page_number: Annotated[int, Query(alias="page", ge=1, le=100000)] = 1) -> Response:
    """Reading the log writes no row: it holds no citizen's data beyond what its rows name."""
    web = state(request)
    shown = {"user": user, "record": record, "action": action, "dossier": dossier, "from": day_from, "to": day_to}
    try:
        filters = _audit_filters(user, record, action, dossier, day_from, day_to)
    except SohoaError as exc:
        return page(request, "audit.html", principal, status=400, entries=[], total=0, pages=0, page_number=1,
                    filters=shown, actions=audit.LABELS_VI, error=exc.message, link=lambda **_: "")
    total = audit.count(web.catalog, **filters)
    found = audit.entries(web.catalog, **filters, limit=AUDIT_PAGE, offset=(page_number - 1) * AUDIT_PAGE)

    def link(**changes) -> str:
        values = {key: value for key, value in {**shown, **changes}.items() if value not in ("", None, 1)}
        return "/quan-tri/nhat-ky?" + urlencode(values)

    return page(request, "audit.html", principal, entries=found, total=total, page_number=page_number,
                pages=-(-total // AUDIT_PAGE), filters=shown, actions=audit.LABELS_VI, error="", link=link)


FIXITY_KINDS_VI: Final[dict[str, str]] = {"full": "Toàn bộ", "repair": "Toàn bộ, có sửa", "slice": "Theo lịch (một phần)"}
FIXITY_STATUS_VI: Final[dict[str, str]] = {"ok": "Không phát hiện sai lệch", "problems": "Có sai lệch",
                                           "error": "Lỗi: không kiểm tra được", "running": "Đang chạy"}
FIXITY_PROBLEMS_VI: Final[dict[str, str]] = {
    "missing": "Thiếu tệp trong kho lưu trữ", "altered": "Tệp bị thay đổi (sai SHA-256)",
    "not-in-catalog": "Có trong kho lưu trữ, thiếu trong danh mục", "not-in-storage": "Có trong danh mục, thiếu trong kho lưu trữ",
    "no-metadata": "Thư mục thiếu siêu dữ liệu", "field": "Danh mục và siêu dữ liệu lưu trữ không khớp",
    "unreadable": "Không đọc được siêu dữ liệu", "duplicate-folder": "Bản ghi nằm trong nhiều thư mục",
}


@router.get("/quan-tri/toan-ven", include_in_schema=False)
def fixity_page(request: Request, principal: Annotated[Principal, MANAGE]) -> Response:
    """Kiểm tra toàn vẹn: the last fixity run (full, repair or scheduled slice) and its findings."""
    from sohoa.archive import fixity

    web = state(request)
    return page(request, "fixity.html", principal, run=fixity.last_run(web.archive),
                interval_days=web.settings.fixity_interval / 86400, kinds=FIXITY_KINDS_VI,
                statuses=FIXITY_STATUS_VI, problems_vi=FIXITY_PROBLEMS_VI)


# --- API twins -----------------------------------------------------------------------------------

def _user_json(user) -> dict:
    return {"username": user.username, "full_name": user.full_name, "role": user.role,
            "agency_code": user.agency_code, "active": user.active, "created_at": user.created_at.isoformat()}


class NewUser(BaseModel):
    username: str = Field(..., max_length=64)
    password: str = Field(..., max_length=1000)
    role: str = Field(..., description=" | ".join(roles.ROLES))
    agency: str | None = Field(None, description="Agency code; required for a scanner")
    full_name: str = Field("", max_length=200)


@router.get("/api/users", tags=["quản trị"], summary="Users (admin)")
def api_users(request: Request, principal: Annotated[Principal, MANAGE]) -> list[dict]:
    return [_user_json(user) for user in accounts.list_users(state(request).catalog)]


@router.post("/api/users", tags=["quản trị"], status_code=201, summary="Create a user (as `sohoa users add`)")
def api_add_user(request: Request, body: NewUser, principal: Annotated[Principal, MANAGE]) -> dict:
    web = state(request)
    user = accounts.add_user(web.catalog, body.username, body.role, body.password, body.agency, body.full_name)
    audit.write(web.catalog, principal.username, audit.ADMIN, None, f"user add {user.username} ({user.role})",
                client(request))
    return _user_json(user)


class NewToken(BaseModel):
    label: str = Field("", max_length=100)
    days: int | None = Field(accounts.TOKEN_DAYS, ge=1, le=3650, description="Lifetime in days; null: never expires")
    read_only: bool = Field(False, description="GET/HEAD only")
    prefixes: list[str] = Field(default_factory=list, description="Only these endpoints (path prefixes)")
    agencies: list[str] = Field(default_factory=list, description="Only these agencies (and those below)")


@router.post("/api/users/{username}/tokens", tags=["quản trị"], status_code=201,
             summary="A new API token for the user; shown once")
def api_add_token(request: Request, username: str, body: NewToken, principal: Annotated[Principal, MANAGE]) -> dict:
    web = state(request)
    token = accounts.create_token(web.catalog, username, body.label, days=body.days, read_only=body.read_only,
                                  prefixes=body.prefixes, agencies=body.agencies)
    audit.write(web.catalog, principal.username, audit.ADMIN, None, f"token for {username}", client(request))
    return {"username": username, "label": body.label, "token": token, "days": body.days,
            "read_only": body.read_only, "prefixes": body.prefixes, "agencies": body.agencies}


@router.post("/api/users/{username}/unlock", tags=["quản trị"],
             summary="Lift the login block of a user (as `sohoa users unlock`)")
def api_unlock(request: Request, username: str, principal: Annotated[Principal, MANAGE]) -> dict:
    return {"username": username, "lifted": bool(_unlock(request, principal, username))}


@router.post("/api/agencies/import", tags=["quản trị"],
             summary="Import agencies from CSV text code,name,parent_code,level (as `sohoa agencies import`)")
async def api_agencies_import(request: Request, principal: Annotated[Principal, MANAGE]) -> Response:
    return await _api_import(request, principal, _import_agencies)


class TargetsUpdate(BaseModel):
    agency: str | None = Field(None, description="Agency code; none = the default of every agency")
    targets: dict[str, str] = Field(default_factory=dict, description="indicator → percent, e.g. {\"reuse\": \"70\"}")
    points: float | None = Field(None, gt=0)


@router.put("/api/targets", tags=["quản trị"], summary="Set targets (%) and points (as `sohoa targets set`)")
def api_targets(request: Request, body: TargetsUpdate, principal: Annotated[Principal, MANAGE]) -> dict:
    unknown = sorted(set(body.targets) - set(INDICATORS))
    if unknown:
        raise WebError(400, f"Chỉ tiêu không tồn tại: {', '.join(unknown)} (có: {', '.join(INDICATORS)}).")
    web = state(request)
    new_targets = {i: targets.parse_percent(v, i) for i, v in body.targets.items()}
    _set_targets(web, body.agency or "", new_targets, body.points)
    audit.write(web.catalog, principal.username, audit.ADMIN, None,
                f"targets {body.agency or '*'} {new_targets} points {body.points}", client(request))
    tree = agencies.load_tree(web.catalog)
    effective = targets.effective(web.catalog, tree)[body.agency and agencies.require_agency(tree, body.agency)
                                                    or targets.ALL_AGENCIES]
    return {i: {"target": t.target, "points": t.points} for i, t in effective.items()}


@router.get("/api/audit", tags=["quản trị"], summary="The audit log, newest first (as `sohoa audit --json`)")
def api_audit(request: Request, principal: Annotated[Principal, MANAGE], user: str = "", record: str = "",
              action: str = "", dossier: str = "", day_from: Annotated[str, Query(alias="from")] = "",
              day_to: Annotated[str, Query(alias="to")] = "", limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              offset: Annotated[int, Query(ge=0)] = 0) -> list[dict]:
    found = audit.entries(state(request).catalog, **_audit_filters(user, record, action, dossier, day_from, day_to),
                          limit=limit, offset=offset)
    return [audit.to_json(entry) for entry in found]
