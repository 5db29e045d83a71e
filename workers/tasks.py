"""The distributed pipeline: one queue per kind of work, declared next to the tasks that use it.

    ingest  — identify, dedup, plan the pages, fan them out        (quick)
    ocr     — recognise a small range of pages                     (CPU-bound, the bulk of the work)
    archive — reassemble the pages in order into PDF/A, store, verify, catalog
    index   — put the stored record into the search index

Separate queues let a deployment give OCR its own machines and keep indexing
and archiving flowing while OCR is saturated. Every task names its job item
(`item_id`) and is idempotent: the item's SHA-256 decides the record, page
outcomes are write-once objects, and the catalog refuses a second record for
the same bytes. Transient failures (storage, catalog, index, broker) retry
with exponential backoff; permanent ones quarantine the item at once.
"""

from __future__ import annotations

import logging
import socket
import tempfile
from pathlib import Path

import sqlalchemy.exc
from celery import Task, chord
from kombu import Exchange, Queue
from sohoa.archive.backends import Archive, open_archive
from sohoa.archive.storage import StorageUnavailable
from sohoa.core.errors import ExitCode, InputError, OutputInvalid, SohoaError
from sohoa.core.settings import get_settings
from sohoa.ingest.stage import (
    Duplicate,
    IngestFields,
    Original,
    Quarantined,
    identify,
    store_record,
)
from sohoa.ocr import pipeline
from sohoa.ocr.page import PageTask
from sohoa.workers import jobs, staging
from sohoa.workers.app import app
from sohoa.workers.names import INGEST_TASK, QUEUE_NAMES

INGEST_QUEUE, OCR_QUEUE, ARCHIVE_QUEUE, INDEX_QUEUE = QUEUE_NAMES
app.conf.task_queues = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUE_NAMES]
log = logging.getLogger("sohoa.workers")


class PageFailure(SohoaError):
    """Pages that can never be recognised (a damaged page): the whole file goes to quarantine."""


def transient(exc: BaseException) -> bool:
    """Worth retrying: something we depend on is unreachable, not something wrong with the file."""
    if isinstance(exc, (StorageUnavailable, sqlalchemy.exc.OperationalError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, SohoaError) and exc.exit_code == ExitCode.OUTPUT_ERROR:
        return True  # storage or search index unreachable, as our backends report it
    return type(exc).__module__.split(".")[0] in {"redis", "elasticsearch", "elastic_transport", "urllib3"}


_ARCHIVE: Archive | None = None
_INDEX = None


def archive() -> Archive:
    global _ARCHIVE
    if _ARCHIVE is None:  # one per worker process, opened on first use (after the fork)
        _ARCHIVE = open_archive()
    return _ARCHIVE


def search_index():
    global _INDEX
    if _INDEX is None:
        from sohoa.search.backends import open_configured_index

        _INDEX = open_configured_index()
    return _INDEX


def agent() -> str:
    return f"sohoa-worker@{socket.gethostname()}"


class ItemTask(Task):
    """Retries transient failures with backoff; a failure that escapes marks the item `failed`."""

    abstract = True
    acks_late = True

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            retries = get_settings().task_retries
            if transient(exc) and self.request.retries < retries:
                countdown = min(60, 2 ** self.request.retries)
                log.warning("%s: %s; retry %d/%d in %ds", self.name, exc, self.request.retries + 1,
                            retries, countdown)
                raise self.retry(exc=exc, countdown=countdown, max_retries=retries)
            raise

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        item_id = kwargs.get("item_id")
        if item_id is None:
            return
        reason = exc.message if isinstance(exc, SohoaError) else f"{type(exc).__name__}: {exc}"
        try:
            jobs.mark_failed(archive().catalog, item_id, f"{self.name}: {reason}")
        except Exception:  # noqa: BLE001 - the catalog is down too; the supervisor finds the item stuck
            log.exception("cannot mark item %s failed", item_id)


def _quarantine(item: jobs.JobItem, result: Quarantined) -> dict:
    reason = result.reason.replace(str(result.path), item.name)  # staff know the file, not our cache path
    jobs.finish(archive().catalog, item.id, jobs.QUARANTINED, reason=reason, exit_code=result.exit_code)
    staging.clear(archive().store, item.sha256)
    return {"status": jobs.QUARANTINED, "reason": reason}


def _duplicate(item: jobs.JobItem, result: Duplicate) -> dict:
    jobs.finish(archive().catalog, item.id, jobs.DUPLICATE, record_id=result.record_id,
                record_code=result.code)
    staging.clear(archive().store, item.sha256)
    return {"status": jobs.DUPLICATE, "record_id": result.record_id}


def _original(item: jobs.JobItem) -> Original | Quarantined | Duplicate:
    """Dedup first (the staged copy is gone once a twin item stored the record), then fetch and identify."""
    arch = archive()
    existing = arch.catalog.record_by_sha(item.sha256)
    if existing is not None:
        return Duplicate(Path(item.path), existing.id, existing.code)
    original = identify(staging.fetch_original(arch.store, item.sha256), name=item.name)
    if isinstance(original, Original) and original.sha256 != item.sha256:
        raise SohoaError(f"{item.name}: staged copy does not match its SHA-256", ExitCode.DAMAGED)
    return original


def _end(item: jobs.JobItem, result: Duplicate | Quarantined) -> dict:
    return _duplicate(item, result) if isinstance(result, Duplicate) else _quarantine(item, result)


def _options(title: str | None) -> pipeline.OcrOptions:
    return pipeline.OcrOptions.from_settings(jobs=1, title=title or None)


def page_ranges(pages: int, per_task: int) -> list[tuple[int, int]]:
    """[first, last) page ranges; small enough that two workers share even a short file."""
    return [(first, min(pages, first + per_task)) for first in range(0, pages, per_task)]


@app.task(name=INGEST_TASK, base=ItemTask, bind=True, queue=INGEST_QUEUE)
def ingest(self, item_id: int) -> dict:
    catalog = archive().catalog
    item = jobs.start_attempt(catalog, item_id)
    if item is None or item.terminal:
        return {"status": getattr(item, "status", "unknown")}
    original = _original(item)
    if not isinstance(original, Original):  # already stored by a twin, or not a usable file
        return _end(item, original)
    try:
        fields = IngestFields.from_dict(item.fields).validated()
        with tempfile.TemporaryDirectory(prefix="sohoa-plan-") as work:
            planned = pipeline.plan(original.path, Path(work) / "out.pdf", _options(fields.title))
    except InputError as error:
        return _quarantine(item, Quarantined(original.path, error.message, int(error.exit_code)))
    except SohoaError as error:
        if error.exit_code != ExitCode.INVALID_CODE:
            raise
        return _quarantine(item, Quarantined(original.path, error.message, int(error.exit_code)))
    pages = len(planned.tasks)
    jobs.set_pages(catalog, item_id, pages)
    ranges = page_ranges(pages, get_settings().pages_per_task)
    frames = [task.frame for task in planned.tasks]
    header = [ocr_pages.s(item_id=item_id, sha256=item.sha256, kind=original.kind, first=first, last=last,
                          frames=frames[first:last], title=fields.title)
              for first, last in ranges]
    chord(header)(assemble.s(item_id=item_id, firsts=[first for first, _ in ranges]))
    return {"status": "fanned out", "pages": pages, "tasks": len(ranges)}


@app.task(name="sohoa.ocr_pages", base=ItemTask, bind=True, queue=OCR_QUEUE)
def ocr_pages(self, item_id: int, sha256: str, kind: str, first: int, last: int, frames: list,
              title: str | None = None) -> str:
    store = archive().store
    key = staging.pages_key(sha256, first)
    if store.exists(key):  # a redelivered task: this range is already done
        return key
    path = staging.fetch_original(store, sha256)
    tasks = [PageTask(path, kind, index, frame) for index, frame in zip(range(first, last), frames)]
    try:
        outcome: object = pipeline.process_pages(tasks, _options(title))
    except InputError as error:
        outcome = PageFailure(f"page {first + 1}-{last}: {error.message}", error.exit_code)
    staging.put_pages(store, sha256, first, outcome)
    jobs.add_pages_done(archive().catalog, item_id, last - first)
    return key


@app.task(name="sohoa.assemble", base=ItemTask, bind=True, queue=ARCHIVE_QUEUE)
def assemble(self, _keys: list, item_id: int, firsts: list[int]) -> dict:
    arch = archive()
    item = jobs.get(arch.catalog, item_id)
    if item is None or item.terminal:
        return {"status": getattr(item, "status", "unknown")}
    original = _original(item)
    if not isinstance(original, Original):  # already stored by a twin, or not a usable file
        return _end(item, original)
    fields = IngestFields.from_dict(item.fields).validated()
    outcomes = []
    # Read the ranges the plan named, not the chord's results: a redelivered header task may
    # have reported twice, but each range has exactly one write-once object.
    for first in firsts:
        part = staging.get_pages(arch.store, item.sha256, first)
        if part is None:
            raise self.retry(countdown=5, max_retries=60)  # a twin header task is still running
        if isinstance(part, PageFailure):
            return _quarantine(item, Quarantined(original.path, part.message, int(part.exit_code)))
        outcomes.extend(part)
    options = _options(fields.title)
    with tempfile.TemporaryDirectory(prefix="sohoa-assemble-") as work:
        pdfa = Path(work) / "pdfa.pdf"
        try:
            planned = pipeline.plan(original.path, pdfa, options)
            result = pipeline.assemble(planned, outcomes, pdfa, options)
        except (InputError, OutputInvalid) as error:
            return _quarantine(item, Quarantined(original.path, error.message, int(error.exit_code)))
        stored = store_record(original, fields, result, pdfa, arch, agent=agent())
    if isinstance(stored, Duplicate):
        return _duplicate(item, stored)
    jobs.finish(arch.catalog, item.id, jobs.STORED, record_id=stored.record_id, record_code=stored.code,
                pages=stored.pages)
    staging.clear(arch.store, item.sha256)
    index_record.apply_async(kwargs={"record_id": stored.record_id})
    return {"status": jobs.STORED, "record_id": stored.record_id}


@app.task(name="sohoa.index_record", base=ItemTask, bind=True, queue=INDEX_QUEUE)
def index_record(self, record_id: str) -> str:
    from sohoa.search.service import index_record as index_one

    index_one(archive(), search_index(), record_id, agent())
    return record_id
