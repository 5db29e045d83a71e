"""Báo cáo: the QĐ 766 ratio dashboard (table per agency, period selector, chart, CSV) and the API
that the one-stop system uses to push its dossier registry. Calls sohoa.ratios like `sohoa ratios`."""

from __future__ import annotations

import tempfile
import threading
from datetime import date
from pathlib import Path
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ratios import agencies, chart, registry, render
from sohoa.ratios.csvinput import ImportReport, rows
from sohoa.ratios.indicators import INDICATORS, LABELS_VI
from sohoa.ratios.periods import choose_period
from sohoa.ratios.report import Report, build
from sohoa.web import audit, labels, roles, scope
from sohoa.web.accounts import Principal
from sohoa.web.errors import WebError
from sohoa.web.names import Names
from sohoa.web.routes import client, page
from sohoa.web.security import require
from sohoa.web.state import state
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUploadFile

router = APIRouter()
_CHART_LOCK: Final = threading.Lock()  # pyplot keeps global state: one chart at a time
NO_AGENCIES_VI: Final = ("Chưa có danh mục cơ quan: quản trị viên hãy nhập danh mục (Quản trị → Danh mục cơ quan, "
                         "hoặc lệnh `sohoa agencies import`).")
MAX_IMPORT_BYTES: Final = 50 * 1024 * 1024  # a year of a province's dossiers as CSV is well under this


class RatioParams(BaseModel):
    """The options of `sohoa ratios`."""

    period: str = Field("", description="2024, 2024-Q1 or 2024-03 (default: the current year)")
    start: str = Field("", alias="from", description="First day YYYY-MM-DD (with to)")
    end: str = Field("", alias="to", description="Last day YYYY-MM-DD, inclusive (with from)")
    agency: str = Field("", description="Start at this agency (its row covers its subordinates)")
    depth: int | None = Field(None, ge=0, le=10, description="Levels shown below the first agency")
    by: Literal["", "month"] = Field("", description="month: one row per month")

    model_config = {"populate_by_name": True}

    def query(self) -> str:
        from urllib.parse import urlencode

        return urlencode({k: v for k, v in self.model_dump(by_alias=True).items() if v not in ("", None)})


OUT_OF_SCOPE_VI: Final = "Không có số liệu của cơ quan {0!r} trong phạm vi của bạn ({1})."


def scoped_agency(request: Request, params: RatioParams, principal: Principal) -> str | None:
    """The first agency of the report: admins any (None = every top agency); everyone else their
    agency's subtree only (DESIGN.md "Access"), by default their own agency. Another agency's
    figures do not exist for them (404)."""
    asked = params.agency.strip() or None
    seen = scope.scope_of(state(request).catalog, principal)
    if seen.everything:
        return asked
    if asked is None:
        if not seen.home or not seen.agencies:
            raise SohoaError("Tài khoản chưa được gán cơ quan: chưa xem được báo cáo tỷ lệ.", ExitCode.NOT_FOUND)
        return seen.home
    if asked not in (seen.agencies or ()):
        raise SohoaError(OUT_OF_SCOPE_VI.format(asked, seen.describe()), ExitCode.NOT_FOUND)
    return asked


def make_report(request: Request, params: RatioParams, principal: Principal) -> Report:
    period = choose_period(params.period.strip() or None, params.start.strip() or None, params.end.strip() or None)
    return build(state(request).catalog, period, agency=scoped_agency(request, params, principal), depth=params.depth,
                 by_month=params.by == "month")


def first_year(catalog) -> int | None:
    """The earliest year with data: a dossier received (the registry) or a record stored or issued."""
    from sohoa.archive.catalog import Record
    from sohoa.ratios.models import Dossier
    from sqlalchemy import func, select

    with catalog.session() as session:
        days = [session.scalar(select(func.min(Dossier.received_on))),
                session.scalar(select(func.min(Record.issued_on))), session.scalar(select(func.min(Record.created_at)))]
    years = [day.year for day in days if day is not None and hasattr(day, "year")]
    return min(years) if years else None


def period_choices(today: date | None = None, since: int | None = None) -> list[tuple[str, str]]:
    """The periods offered in the selector: every year from the earliest data (`since`, at most 30
    years back; at least last year) to this one, newest first, then this year's and last year's
    quarters and months that have begun."""
    today = today or date.today()
    year = today.year
    oldest = max(year - 30, min(since or year - 1, year - 1))
    choices = [(str(y), labels.period_vi(str(y))) for y in range(year, oldest - 1, -1)]
    for y in (year, year - 1):
        quarters = range(1, (today.month - 1) // 3 + 2) if y == year else range(1, 5)
        months = range(1, today.month + 1) if y == year else range(1, 13)
        choices += [(f"{y}-Q{q}", labels.period_vi(f"{y}-Q{q}")) for q in quarters]
        choices += [(f"{y}-{m:02d}", labels.period_vi(f"{y}-{m:02d}")) for m in months]
    return choices


def _with_chosen(choices: list[tuple[str, str]], chosen: str) -> list[tuple[str, str]]:
    """The selector keeps showing a period typed in a link (e.g. 2023-Q2) even if it is not offered."""
    if chosen and chosen not in {value for value, _ in choices}:
        return [(chosen, labels.period_vi(chosen))] + choices
    return choices


@router.get("/bao-cao", include_in_schema=False)
def dashboard(request: Request, principal: Annotated[Principal, Depends(require(roles.RATIOS))],
              params: Annotated[RatioParams, Query()]) -> Response:
    report, error, status = None, "", 200
    try:
        if not agencies.load_tree(state(request).catalog).agencies:
            raise SohoaError(NO_AGENCIES_VI, ExitCode.NOT_FOUND)
        report = make_report(request, params, principal)
    except SohoaError as exc:
        if exc.exit_code not in (ExitCode.USAGE, ExitCode.INVALID_CODE, ExitCode.NOT_FOUND):
            raise
        error, status = labels.message_vi(exc.message), (200 if exc.message == NO_AGENCIES_VI else 404
                                      if exc.exit_code == ExitCode.NOT_FOUND else 400)
    periods = _with_chosen(period_choices(since=first_year(state(request).catalog)), params.period.strip())
    return page(request, "dashboard.html", principal, status=status, params=params, report=report, error=error,
                indicators=INDICATORS, labels=LABELS_VI, periods=periods,
                agency_choices=Names(state(request).catalog).agency_choices(
                    scope.scope_of(state(request).catalog, principal).agencies),
                query=params.query())


def _csv(report: Report) -> Response:
    # A BOM so that Excel, which most offices open CSV files with, reads the Vietnamese names as UTF-8.
    return Response("\ufeff" + render.to_csv(report), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="ty-le-so-hoa-{report.period.label}.csv"'})


def _chart(report: Report, fmt: str) -> Response:
    with tempfile.TemporaryDirectory(prefix="sohoa-chart-") as folder:
        path = Path(folder) / f"chart.{fmt}"
        with _CHART_LOCK:
            chart.draw(report, path)
        body = path.read_bytes()
    media = "image/svg+xml" if fmt == "svg" else "image/png"
    return Response(body, media_type=media, headers={"Cache-Control": "private, max-age=60"})


@router.get("/bao-cao/bang.csv", include_in_schema=False)
def dashboard_csv(request: Request, principal: Annotated[Principal, Depends(require(roles.RATIOS))],
                  params: Annotated[RatioParams, Query()]) -> Response:
    return _csv(make_report(request, params, principal))


@router.get("/bao-cao/bieu-do.{fmt}", include_in_schema=False)
def dashboard_chart(request: Request, fmt: str, principal: Annotated[Principal, Depends(require(roles.RATIOS))],
                    params: Annotated[RatioParams, Query()]) -> Response:
    if fmt not in ("svg", "png"):
        raise WebError(404, "Biểu đồ chỉ có dạng .svg hoặc .png.", "not_found")
    return _chart(make_report(request, params, principal), fmt)


@router.get("/api/ratios", tags=["báo cáo"], summary="Ratios per agency (as `sohoa ratios --format json|csv`)")
def api_ratios(request: Request, principal: Annotated[Principal, Depends(require(roles.RATIOS))],
               params: Annotated[RatioParams, Query()], format: Literal["json", "csv"] = "json") -> Response:
    report = make_report(request, params, principal)
    if format == "csv":
        return _csv(report)
    return Response(render.to_json(report), media_type="application/json")


@router.get("/api/ratios/chart.{fmt}", tags=["báo cáo"], summary="The ratio chart, SVG or PNG")
def api_ratios_chart(request: Request, fmt: Literal["svg", "png"],
                     principal: Annotated[Principal, Depends(require(roles.RATIOS))],
                     params: Annotated[RatioParams, Query()]) -> Response:
    return _chart(make_report(request, params, principal), fmt)


def import_json(report: ImportReport) -> dict:
    return {"imported": report.imported, "inserted": report.inserted, "updated": report.updated,
            "rejected": [{"line": error.line, "reason": error.reason} for error in report.rejected]}


@router.post("/api/dossiers/import", tags=["sổ hồ sơ"],
             summary="Import or update dossiers of the one-stop registry (as `sohoa dossiers import`)",
             description="Body: JSON (a list of rows, or {\"dossiers\": [...]}) with the CSV's column names "
                         f"({', '.join(registry.COLUMNS)}), or CSV text (Content-Type text/csv), or a multipart "
                         "form with the CSV in `file`. Valid rows are imported even when others are rejected; "
                         "400 when no row could be imported.")
async def api_dossiers_import(request: Request,
                              principal: Annotated[Principal, Depends(require(roles.REGISTRY))]) -> Response:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    web = state(request)
    if kind == "application/json":
        try:
            payload = await request.json()
        except ValueError:
            raise WebError(400, "Nội dung không phải JSON hợp lệ.") from None
        items = payload.get("dossiers") if isinstance(payload, dict) else payload
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise WebError(400, "JSON phải là một danh sách hồ sơ, hoặc {\"dossiers\": [...]}.")
        clean = [{k: (None if v is None else str(v)) for k, v in item.items()} for item in items]
        seen = scope.scope_of(web.catalog, principal)  # rows of other agencies: rejected, with the reason
        report = await run_in_threadpool(lambda: registry.upsert(
            web.catalog, scope.scoped_rows(web.catalog, seen, enumerate(clean, start=1))))
    else:
        text = await csv_body(request, kind)
        seen = scope.scope_of(web.catalog, principal)
        report = await run_in_threadpool(lambda: registry.upsert(
            web.catalog, scope.scoped_rows(web.catalog, seen, rows(text, registry.COLUMNS, "CSV",
                                                                   optional=registry.OPTIONAL))))
    await run_in_threadpool(audit.write, web.catalog, principal.username, audit.ADMIN, None,
                            f"dossiers import: {report.imported} imported, {len(report.rejected)} rejected",
                            client(request))
    status = 400 if report.rejected and not report.imported else 200
    return JSONResponse(import_json(report), status_code=status)


async def csv_body(request: Request, kind: str) -> str:
    """The CSV text of an import request: a text/csv body or a multipart `file`, UTF-8 (BOM allowed)."""
    if kind == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, StarletteUploadFile):
            raise WebError(400, "Thiếu tệp CSV (trường `file`).")
        data = await upload.read(MAX_IMPORT_BYTES + 1)
    elif kind in ("text/csv", "text/plain"):
        data = await request.body()
    else:
        raise WebError(415, "Gửi JSON (application/json), CSV (text/csv) hoặc biểu mẫu có tệp CSV.", "unsupported")
    if len(data) > MAX_IMPORT_BYTES:
        raise WebError(413, f"Tệp lớn hơn {MAX_IMPORT_BYTES // (1024 * 1024)} MB; hãy chia nhỏ.", "too_large")
    if not data.strip():
        raise WebError(400, "Tệp CSV rỗng.", "input_empty")
    try:
        return data.decode("utf-8-sig")  # Excel writes a BOM
    except UnicodeDecodeError:
        raise WebError(415, "Tệp không phải văn bản UTF-8; hãy lưu CSV dạng UTF-8.", "unsupported") from None
