"""Lô số hóa: jobs (batches, the hot folder, uploads) with live progress, their files, and reports."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.web import audit, labels, roles, scope, uploads
from sohoa.web.accounts import Principal
from sohoa.web.routes import client, page
from sohoa.web.security import require
from sohoa.web.state import WebState, state
from sohoa.workers import batch, jobs
from sqlalchemy import func, select

router = APIRouter()
ITEMS_SHOWN: Final = 500  # files listed on a job's page; the report has them all


def _audit(request: Request, principal: Principal, name: str, what: str, items: list[dict],
           polled: bool = False) -> None:
    """One audit row for a job page or report (file names and record codes are personal data), with
    every record it shows. The polled API writes again only after audit.POLL_WINDOW, or when the
    records shown changed."""
    web = state(request)
    records = list(dict.fromkeys(str(item["record_id"]) for item in items if item.get("record_id")))
    detail = f"lô {name}: {what}"
    if polled:
        audit.write_polled(web.catalog, principal.username, audit.LIST, detail, client(request), records)
        return
    audit.write(web.catalog, principal.username, audit.LIST, None, detail, client(request), records=records)


def summary(catalog, job: jobs.Job, shown: list[jobs.JobItem] | None = None,
            counts: dict[str, int] | None = None) -> dict:
    """The job's progress; with `shown` (the items a scoped user may see) or their `counts`, over those only."""
    if counts is None:
        counts = jobs.counts(catalog, job.name) if shown is None else _count(shown)
    ended = sum(counts.get(status, 0) for status in jobs.TERMINAL)
    files = counts["files"]
    return {"job": job.name, "source": job.source, "created_at": job.created_at.isoformat(),
            "updated_at": job.updated_at.isoformat(), **counts, "ended": ended,
            "percent": round(100 * ended / files, 1) if files else 0.0,
            "in_flight": counts.get(jobs.QUEUED, 0) + counts.get(jobs.RUNNING, 0) + counts.get(jobs.FAILED, 0)}


def _count(items: list[jobs.JobItem]) -> dict[str, int]:
    out = {"files": 0, "pages": 0, "pages_done": 0}
    for item in items:
        out[item.status] = out.get(item.status, 0) + 1
        out["files"] += 1
        out["pages"] += item.pages or 0
        out["pages_done"] += item.pages_done or 0
    return out


def _of_scope(seen: scope.Scope):
    """SQL: a file belongs to the agency it was filed for (the upload form, the manifest, the hot
    folder's `agency`, kept in the item's fields)."""
    return jobs.JobItem.fields["agency"].as_string().in_(sorted(seen.agencies or ()))


def _scoped(web: WebState, principal: Principal, name: str) -> list[jobs.JobItem] | None:
    """The job's items this user may see; None when they may see every item (admins)."""
    seen = scope.scope_of(web.catalog, principal)
    if seen.everything:
        return None
    with web.catalog.session() as session:
        return list(session.scalars(select(jobs.JobItem).where(jobs.JobItem.job_name == name, _of_scope(seen))
                                    .order_by(jobs.JobItem.id)))


def _scoped_counts(web: WebState, seen: scope.Scope) -> dict[str, dict[str, int]]:
    """Per job, the counts of `jobs.counts` over the files this scope may see (one query)."""
    item = jobs.JobItem
    with web.catalog.session() as session:
        found = session.execute(
            select(item.job_name, item.status, func.count(), func.coalesce(func.sum(item.pages), 0),
                   func.coalesce(func.sum(item.pages_done), 0))
            .where(_of_scope(seen)).group_by(item.job_name, item.status)).all()
    out: dict[str, dict[str, int]] = {}
    for name, status, files, pages, done in found:
        counts = out.setdefault(name, {"files": 0, "pages": 0, "pages_done": 0})
        counts[status] = int(files)
        counts["files"] += int(files)
        counts["pages"] += int(pages)
        counts["pages_done"] += int(done)
    return out


def _job(web: WebState, name: str, principal: Principal) -> tuple[jobs.Job, list[jobs.JobItem] | None]:
    """The job and the items this user may see; a job with none of theirs does not exist for them."""
    found = jobs.job(web.catalog, name)
    shown = _scoped(web, principal, name) if found is not None else None
    if found is None or (shown is not None and not shown):
        raise SohoaError(f"Không có lô số hóa {name!r}.", ExitCode.NOT_FOUND)
    return found, shown


def _items(web: WebState, name: str, principal: Principal, shown: list[jobs.JobItem] | None) -> list[dict]:
    """Every file of the job this user may see. A duplicate of another agency's record names it not."""
    seen = scope.scope_of(web.catalog, principal)
    rows = []
    for i in jobs.items(web.catalog, name) if shown is None else shown:
        view = uploads.item_json(i, seen, web.catalog)
        rows.append({"id": i.id, "path": i.path, "name": i.name, "status": i.status,
                     "status_label": view["status_label"], "pages": i.pages,
                     "pages_done": i.pages_done, "attempts": i.attempts, "record_id": view["record_id"],
                     "record_code": view["record_code"], "reason": view["reason"],
                     "reason_label": labels.reason_vi(i.exit_code) if i.status == jobs.QUARANTINED else "",
                     "seconds": i.seconds})
    return rows


def _summaries(web: WebState, principal: Principal) -> list[dict]:
    seen = scope.scope_of(web.catalog, principal)
    if seen.everything:
        return [summary(web.catalog, job) for job in jobs.jobs(web.catalog)]
    counts = _scoped_counts(web, seen)  # jobs without a file of theirs are not listed
    return [summary(web.catalog, job, counts=counts[job.name]) for job in jobs.jobs(web.catalog) if job.name in counts]


@router.get("/lo-so-hoa", include_in_schema=False)
def jobs_page(request: Request, principal: Annotated[Principal, Depends(require(roles.JOBS))]) -> Response:
    web = state(request)
    rows = _summaries(web, principal)
    return page(request, "jobs.html", principal, jobs=rows, live=any(row["in_flight"] for row in rows))


@router.get("/lo-so-hoa/{name}", include_in_schema=False)
def job_page(request: Request, name: str, principal: Annotated[Principal, Depends(require(roles.JOBS))]) -> Response:
    web = state(request)
    job, shown = _job(web, name, principal)
    row = summary(web.catalog, job, shown)
    items = _items(web, name, principal, shown)
    _audit(request, principal, name, "trang", items[:ITEMS_SHOWN])
    return page(request, "job.html", principal, job=row, items=items[:ITEMS_SHOWN], hidden=len(items) - ITEMS_SHOWN,
                live=bool(row["in_flight"]), can_view=principal.can(roles.SEARCH),
                has_batch_report=(web.settings.data_dir / "jobs" / name / "report.csv").is_file())


def _report(request: Request, name: str, suffix: str, principal: Principal) -> Response:
    web = state(request)
    response = _build_report(web, name, suffix, principal)
    _job_row, shown = _job(web, name, principal)
    _audit(request, principal, name, f"báo cáo .{suffix}", _items(web, name, principal, shown))
    return response


def _build_report(web: WebState, name: str, suffix: str, principal: Principal) -> Response:
    """The job's report, written afresh by the same function `sohoa batch` uses (DATA/jobs/<job>/).
    A user who may see only part of the job gets that part, built here and never written to disk."""
    _job_row, shown = _job(web, name, principal)
    batch.check_job_name(name)  # the name becomes a folder: refuse anything but a plain name
    if shown is not None:
        return _scoped_report(web, name, suffix, principal, shown)
    folder = web.settings.data_dir / "jobs" / name
    previous = folder / "report.json"
    problems: list[str] = []
    if previous.is_file():  # keep the manifest problems the batch run recorded
        try:
            problems = list(json.loads(previous.read_text(encoding="utf-8")).get("manifest_problems", []))
        except (ValueError, OSError):
            problems = []
    csv_path, json_path = batch.write_report(web.catalog, name, folder, problems)
    path = csv_path if suffix == "csv" else json_path
    media = "text/csv; charset=utf-8" if suffix == "csv" else "application/json"
    return FileResponse(path, media_type=media, filename=f"{name}-report.{suffix}")


@router.get("/lo-so-hoa/{name}/bao-cao.{suffix}", include_in_schema=False)
def job_report_page(request: Request, name: str, suffix: str,
                    principal: Annotated[Principal, Depends(require(roles.JOBS))]) -> Response:
    if suffix not in ("csv", "json"):
        raise SohoaError("Báo cáo chỉ có dạng .csv hoặc .json.", ExitCode.NOT_FOUND)
    return _report(request, name, suffix, principal)


def _scoped_report(web: WebState, name: str, suffix: str, principal: Principal,
                   shown: list[jobs.JobItem]) -> Response:
    columns = batch.REPORT_COLUMNS
    rows = [{column: item.get(column) for column in columns} for item in _items(web, name, principal, shown)]
    headers = {"Content-Disposition": f'attachment; filename="{name}-report.{suffix}"'}
    if suffix == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
    body = {"job": name, "summary": _count(shown), "items": rows}
    return Response(json.dumps(body, ensure_ascii=False, indent=2) + "\n", media_type="application/json",
                    headers=headers)


@router.get("/api/jobs", tags=["lô số hóa"], summary="Jobs with their progress (as `sohoa jobs --json`)")
def api_jobs(request: Request, principal: Annotated[Principal, Depends(require(roles.JOBS))]) -> list[dict]:
    return _summaries(state(request), principal)


@router.get("/api/jobs/{name}", tags=["lô số hóa"], summary="One job: summary and every file (as `sohoa jobs show`)")
def api_job(request: Request, name: str, principal: Annotated[Principal, Depends(require(roles.JOBS))]) -> dict:
    web = state(request)
    job, shown = _job(web, name, principal)
    items = _items(web, name, principal, shown)
    _audit(request, principal, name, "api", items, polled=True)
    return {**summary(web.catalog, job, shown), "items": items}


@router.get("/api/jobs/{name}/report.csv", tags=["lô số hóa"], summary="The job's CSV report")
def api_job_report(request: Request, name: str, principal: Annotated[Principal, Depends(require(roles.JOBS))]) -> Response:
    return _report(request, name, "csv", principal)
