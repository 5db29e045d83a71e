"""The distributed runner: Celery tasks that carry the stages of ingest/pipeline.py between machines.

One queue per kind of work, declared next to the tasks that use it:

    ingest  — identify, dedup, split, plan; stage the plan; fan the pages out   (quick; a file of one
              page range, or a stack of several documents, is recognised and stored in this task)
    ocr     — recognise a small range of pages                         (CPU-bound, the bulk of the work)
    archive — assemble the pages in order into PDF/A, store + verify, catalog
    index   — put the stored record into the search index

Separate queues let a deployment give OCR its own machines and keep indexing
and archiving flowing while OCR is saturated. A task holds no stage logic: it
loads its inputs (the job item, staged JSON and bytes), calls one stage of the
pipeline, and saves its output. Every task names its job item (`item_id`) and
is idempotent: the item's SHA-256 decides the record, staged objects are
write-once, and the catalog refuses a second record for the same bytes.
Transient failures (storage, catalog, index, broker) retry with exponential
backoff; permanent ones quarantine the item at once. Fields were validated
once when the file was handed in (workers/supervisor.py) and are trusted here.

The tasks are `shared_task`s: importing this module creates no Celery app;
workers/app.py builds one and includes this module.
"""

from __future__ import annotations

import logging
import socket
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import sqlalchemy.exc
from celery import Task, chord, shared_task
from kombu import Exchange, Queue
from sohoa.archive.backends import Archive, open_archive
from sohoa.archive.storage import ObjectMissing, StorageUnavailable
from sohoa.core.errors import ExitCode, InputError, SohoaError
from sohoa.core.settings import get_settings
from sohoa.ingest import pipeline, runner
from sohoa.ingest.base import Duplicate, IngestResult, Original, Quarantined, Stored, ended
from sohoa.ingest.policy import IngestFields
from sohoa.ocr.page import PageOutcome
from sohoa.ocr.pipeline import OcrOptions
from sohoa.workers import jobs, names, staging, webhooks
from sohoa.workers.names import ARCHIVE_QUEUE, INDEX_QUEUE, INGEST_QUEUE, INGEST_TASK, OCR_QUEUE, QUEUE_NAMES
from sohoa.workers.staging import PageFailure

QUEUES = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUE_NAMES]
log = logging.getLogger("sohoa.workers")


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


def options() -> OcrOptions:
    return OcrOptions.from_settings(jobs=1)  # one page at a time per process: the pool fills the cores


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


# ------------------------------------------------------------------ how an item ends


def _end(item: jobs.JobItem, result: Stored | Duplicate | Quarantined) -> dict:
    """Record the typed end of the pipeline on the job item, and drop its staged objects."""
    catalog = archive().catalog
    if isinstance(result, Quarantined):
        reason = result.reason.replace(str(result.path), item.name)  # staff know the file, not our cache path
        jobs.finish(catalog, item.id, jobs.QUARANTINED, reason=reason, exit_code=result.exit_code)
        outcome = {"status": jobs.QUARANTINED, "reason": reason}
    elif isinstance(result, Duplicate):
        jobs.finish(catalog, item.id, jobs.DUPLICATE, record_id=result.record_id, record_code=result.code)
        outcome = {"status": jobs.DUPLICATE, "record_id": result.record_id}
    else:
        jobs.finish(catalog, item.id, jobs.STORED, record_id=result.record_id, record_code=result.code,
                    pages=result.pages)
        outcome = {"status": jobs.STORED, "record_id": result.record_id}
    staging.clear(archive().store, item.sha256)
    return outcome


def _original(item: jobs.JobItem) -> Original | Duplicate | Quarantined:
    """Stages dedup and identify on the worker's copy of the staged original.

    Dedup first: once a twin item stored the record, its staged copy is gone.
    """
    arch = archive()
    duplicate = pipeline.dedup(item.sha256, Path(item.path), arch.catalog)
    if duplicate is not None:
        return duplicate
    original = pipeline.identify(staging.fetch_original(arch.store, item.sha256), name=item.name)
    if isinstance(original, Original) and original.sha256 != item.sha256:
        raise SohoaError(f"{item.name}: staged copy does not match its SHA-256", ExitCode.DAMAGED)
    return original


def _planned(item: jobs.JobItem, original: Original | None = None) -> pipeline.Planned:
    """The plan the ingest task staged, over this worker's verified copy of the original."""
    arch = archive()
    staged = staging.get_plan(arch.store, item.sha256)
    if staged is None:
        raise SohoaError(f"{item.name}: its plan is not staged (sent again before planning?)", ExitCode.INTERNAL)
    if original is None:  # the copy was checked against the SHA-256 when it was fetched
        path = staging.fetch_original(arch.store, item.sha256)
        original = Original(path, item.name, staged["kind"], item.sha256, path.stat().st_size)
    return pipeline.Planned.restore(original, staged["frames"], staged["title"], staged["report"])


def page_ranges(pages: int, per_task: int) -> list[tuple[int, int]]:
    """[first, last) page ranges; small enough that two workers share even a short file."""
    return [(first, min(pages, first + per_task)) for first in range(0, pages, per_task)]


# ------------------------------------------------------------------ queue ingest


@shared_task(name=INGEST_TASK, base=ItemTask, bind=True, queue=INGEST_QUEUE)
def ingest(self, item_id: int) -> dict:
    """identify → dedup → split → plan; a file of one page range (SOHOA_PAGES_PER_TASK pages or fewer) is then
    recognised, assembled and stored right here (three hops and the staged pages saved: most office
    files are this small); a bigger one sends its page ranges to the ocr queue, their chord to archive."""
    catalog = archive().catalog
    item = jobs.start_attempt(catalog, item_id)
    if item is None or item.terminal:
        return {"status": getattr(item, "status", "unknown")}
    original = _original(item)
    if ended(original):
        return _end(item, original)
    fields = IngestFields.trusted(item.fields)
    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="sohoa-split-") as work:
        parted = pipeline.split(original, fields, options(), Path(work), settings.split_on_blank,
                                settings.doctypes_file, archive().catalog)
        if ended(parted):
            return _end(item, parted)
        part, part_fields = parted.parts[0]
        if not parted.trivial or part_fields != fields or part.notes:
            return _end(item, _ingest_stack(parted))
    planned = pipeline.plan(original, fields, options())
    if ended(planned):
        return _end(item, planned)
    jobs.set_pages(catalog, item_id, planned.pages)
    ranges = page_ranges(planned.pages, get_settings().pages_per_task)
    if len(ranges) == 1:  # a small file: recognised and stored here, with no hop through the queues
        return _store(item, original, planned, _counted(pipeline.recognise(planned, options()), item_id))
    staging.put_plan(archive().store, item.sha256, original.kind, planned.frames, planned.plan.title,
                     planned.plan.report)
    queue = names.ocr_queue(item.job_name, planned.pages)  # back-files and big files do not go first
    header = [ocr_pages.s(item_id=item_id, first=first, last=last).set(queue=queue) for first, last in ranges]
    callback = assemble.s(item_id=item_id, firsts=[first for first, _ in ranges])
    chord(header)(callback.set(queue=names.archive_queue(item.job_name, planned.pages)))
    return {"status": "fanned out", "pages": planned.pages, "tasks": len(ranges)}


def _ingest_stack(parted) -> IngestResult:
    """Each document of a split stack (or a file whose codes fill in its fields) through plan …
    catalog in this task, then to the index queue.

    The job item ends with the first quarantine if any, else with the first stored record (its
    pages: those of every document), else as a duplicate. Not done yet: the documents' pages are
    not fanned out to the ocr queue, and the job item names one record (the events of each record
    name the stack and its pages)."""
    arch, results = archive(), []
    for part, part_fields in parted.parts:
        result = pipeline.dedup_part(part, arch.catalog) or runner.ingest_part(part, part_fields, arch, options(),
                                                                               agent())
        if isinstance(result, Stored):
            index_record.apply_async(kwargs={"record_id": result.record_id})
        results.append(result)
    if any(isinstance(r, Stored) for r in results):
        webhooks.kick(arch.catalog)
    log.info("a stack of %d pages split into %d document(s)", parted.reading.plan.page_count, len(results))
    for kind in (Quarantined, Stored, Duplicate):
        found = [r for r in results if isinstance(r, kind)]
        if found and kind is Stored:
            return Stored(found[0].path, found[0].record_id, found[0].code,
                          sum(r.pages for r in found), page_range=found[0].page_range)
        if found:
            return found[0]
    raise SohoaError("a split stack gave no result", ExitCode.INTERNAL)


# ------------------------------------------------------------------ queue ocr


@shared_task(name="sohoa.ocr_pages", base=ItemTask, bind=True, queue=OCR_QUEUE)
def ocr_pages(self, item_id: int, first: int, last: int) -> str:
    """recognise [first, last): page outcomes (JSON + image objects) into staging."""
    arch = archive()
    item = jobs.get(arch.catalog, item_id)
    if item is None or item.terminal:
        return "ended"
    key = staging.pages_key(item.sha256, first)
    if arch.store.exists(key):  # a redelivered task: this range is already done
        return key
    try:
        outcome: list[PageOutcome] | PageFailure = list(pipeline.recognise(_planned(item), options(), first, last))
    except InputError as error:
        outcome = PageFailure(f"page {first + 1}-{last}: {error.message}", error.exit_code)
    staging.put_pages(arch.store, item.sha256, first, outcome)
    jobs.add_pages_done(arch.catalog, item_id, last - first)
    return key


# ------------------------------------------------------------------ queue archive


@shared_task(name="sohoa.assemble", base=ItemTask, bind=True, queue=ARCHIVE_QUEUE)
def assemble(self, _keys: list, item_id: int, firsts: list[int]) -> dict:
    """assemble → store (+ verify) → catalog, then the record to the index queue."""
    arch = archive()
    item = jobs.get(arch.catalog, item_id)
    if item is None or item.terminal:
        return {"status": getattr(item, "status", "unknown")}
    original = _original(item)
    if ended(original):
        return _end(item, original)
    # Read the ranges the plan named, not the chord's results: a redelivered header task may
    # have reported twice, but each range has exactly one write-once object.
    if not all(arch.store.exists(staging.pages_key(item.sha256, first)) for first in firsts):
        raise self.retry(countdown=5, max_retries=60)  # a twin header task is still running
    return _store(item, original, _planned(item, original), _staged_pages(item.sha256, firsts))


def _store(item: jobs.JobItem, original: Original, planned: pipeline.Planned, pages: Iterable[PageOutcome]) -> dict:
    """assemble → extract → sign → store (+ verify) → catalog, then the record to the index queue."""
    arch = archive()
    fields = IngestFields.trusted(item.fields)
    opts = options()
    with tempfile.TemporaryDirectory(prefix="sohoa-assemble-") as work:
        assembled = pipeline.assemble(planned, pages, Path(work), opts)
        if ended(assembled):
            return _end(item, assembled)
        settings = get_settings()
        described = pipeline.extract(assembled, fields, settings.extract, settings.doctypes_file)
        signed = pipeline.sign(assembled, Path(work), settings)
        written = pipeline.store(original, described, assembled, arch, agent(), opts.engine, signed)
    stored = pipeline.catalog(original, written, arch)
    outcome = _end(item, stored)
    if isinstance(stored, Stored):
        index_record.apply_async(kwargs={"record_id": stored.record_id})
        webhooks.kick(arch.catalog)  # its event (a record of a dossier) goes out now, not at the next sweep
    return outcome


def _counted(pages: Iterable[PageOutcome], item_id: int) -> Iterator[PageOutcome]:
    """The pages recognised in this task, each counted in the job's progress as it is done."""
    for page in pages:
        yield page
        jobs.add_pages_done(archive().catalog, item_id, 1)


def _staged_pages(sha256: str, firsts: list[int]) -> Iterator[PageOutcome]:
    """The recognised pages in order, one range in memory at a time; a failed range ends the file."""
    for first in firsts:
        part = staging.get_pages(archive().store, sha256, first)
        if part is None:
            raise ObjectMissing(f"{staging.pages_key(sha256, first)}: vanished while assembling")
        if isinstance(part, PageFailure):
            raise part
        yield from part


# ------------------------------------------------------------------ queue index


@shared_task(name="sohoa.index_record", base=ItemTask, bind=True, queue=INDEX_QUEUE)
def index_record(self, record_id: str) -> str:
    pipeline.index(record_id, archive(), search_index(), agent())
    return record_id
