"""Lô số hóa: jobs (batches, the hot folder, uploads) with live progress, their files, and reports."""

from __future__ import annotations

import json
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.web import labels, roles
from sohoa.web.accounts import Principal
from sohoa.web.routes import page
from sohoa.web.security import require
from sohoa.web.state import WebState, state
from sohoa.workers import batch, jobs

router = APIRouter()
ITEMS_SHOWN: Final = 500  # files listed on a job's page; the report has them all


def summary(catalog, job: jobs.Job) -> dict:
    counts = jobs.counts(catalog, job.name)
    ended = sum(counts.get(status, 0) for status in jobs.TERMINAL)
    files = counts["files"]
    return {"job": job.name, "source": job.source, "created_at": job.created_at.isoformat(),
            "updated_at": job.updated_at.isoformat(), **counts, "ended": ended,
            "percent": round(100 * ended / files, 1) if files else 0.0,
            "in_flight": counts.get(jobs.QUEUED, 0) + counts.get(jobs.RUNNING, 0) + counts.get(jobs.FAILED, 0)}


def _job(web: WebState, name: str) -> jobs.Job:
    found = jobs.job(web.catalog, name)
    if found is None:
        raise SohoaError(f"Không có lô số hóa {name!r}.", ExitCode.NOT_FOUND)
    return found


def _items(web: WebState, name: str) -> list[dict]:
    return [{"id": i.id, "path": i.path, "name": i.name, "status": i.status,
             "status_label": labels.STATUS_VI.get(i.status, i.status), "pages": i.pages,
             "pages_done": i.pages_done, "attempts": i.attempts, "record_id": i.record_id,
             "record_code": i.record_code, "reason": i.reason,
             "reason_label": labels.reason_vi(i.exit_code) if i.status == jobs.QUARANTINED else "",
             "seconds": i.seconds} for i in jobs.items(web.catalog, name)]


@router.get("/lo-so-hoa", include_in_schema=False)
def jobs_page(request: Request, principal: Annotated[Principal, Depends(require(roles.JOBS))]) -> Response:
    web = state(request)
    rows = [summary(web.catalog, job) for job in jobs.jobs(web.catalog)]
    return page(request, "jobs.html", principal, jobs=rows, live=any(row["in_flight"] for row in rows))


@router.get("/lo-so-hoa/{name}", include_in_schema=False)
def job_page(request: Request, name: str, principal: Annotated[Principal, Depends(require(roles.JOBS))]) -> Response:
    web = state(request)
    job = _job(web, name)
    row = summary(web.catalog, job)
    items = _items(web, name)
    return page(request, "job.html", principal, job=row, items=items[:ITEMS_SHOWN], hidden=len(items) - ITEMS_SHOWN,
                live=bool(row["in_flight"]), can_view=principal.can(roles.SEARCH),
                has_batch_report=(web.settings.data_dir / "jobs" / name / "report.csv").is_file())


def _report(web: WebState, name: str, suffix: str) -> Response:
    """The job's report, written afresh by the same function `sohoa batch` uses (DATA/jobs/<job>/)."""
    _job(web, name)
    batch.check_job_name(name)  # the name becomes a folder: refuse anything but a plain name
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
    return _report(state(request), name, suffix)


@router.get("/api/jobs", tags=["lô số hóa"], summary="Jobs with their progress (as `sohoa jobs --json`)")
def api_jobs(request: Request, principal: Annotated[Principal, Depends(require(roles.JOBS))]) -> list[dict]:
    web = state(request)
    return [summary(web.catalog, job) for job in jobs.jobs(web.catalog)]


@router.get("/api/jobs/{name}", tags=["lô số hóa"], summary="One job: summary and every file (as `sohoa jobs show`)")
def api_job(request: Request, name: str, principal: Annotated[Principal, Depends(require(roles.JOBS))]) -> dict:
    web = state(request)
    return {**summary(web.catalog, _job(web, name)), "items": _items(web, name)}


@router.get("/api/jobs/{name}/report.csv", tags=["lô số hóa"], summary="The job's CSV report")
def api_job_report(request: Request, name: str, principal: Annotated[Principal, Depends(require(roles.JOBS))]) -> Response:
    return _report(state(request), name, "csv")
