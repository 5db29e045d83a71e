"""THE ingest pipeline, declared once: the stages in the order the data flows through them.

    identify → validate → dedup → split → plan → recognise (a page range) → assemble
    → extract → sign → store (+ verify) → catalog → index

Each stage is a plain function over typed values (contract in ingest/base.py):
it returns its output, or an end — `Duplicate` or `Quarantined(reason)` — that
stops the pipeline. Two runners call these functions and nothing else:
`ingest/runner.py` in-process (`sohoa ingest`, tests) and `workers/tasks.py`
through Celery, which only moves the values between machines. The split stage
turns one scanned stack into the documents it holds (issue #15); each goes on
through plan … index as a file of its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final, Iterable, Iterator, Mapping

import sohoa
import sqlalchemy.exc
from sohoa.archive import catalog_write
from sohoa.archive.backends import Archive
from sohoa.archive.catalog import Catalog
from sohoa.archive.records import store_record
from sohoa.core.errors import InputError, OutputInvalid, SohoaError
from sohoa.core.faults import maybe_crash
from sohoa.core.hashing import sha256_file
from sohoa.core.records import (
    UNASSIGNED_AGENCY,
    Event,
    Kind,
    ObjectInfo,
    RecordMetadata,
    component_code,
    record_id_for,
)
from sohoa.hooks.emit import emit_stored
from sohoa.ingest import describe, policy, segments, signing
from sohoa.ingest.base import Duplicate, Original, Quarantined, Stored
from sohoa.ingest.describe import Described
from sohoa.ingest.policy import IngestFields
from sohoa.ocr import engines
from sohoa.ocr import pipeline as ocr
from sohoa.ocr.page import PageOutcome, PageTask
from sohoa.ocr.pipeline import OcrOptions, OcrResult
from sohoa.ocr.sniff import sniff

if TYPE_CHECKING:
    from sohoa.sign.pades import SignatureInfo

STAGES: Final = ("identify", "validate", "dedup", "split", "plan", "recognise", "assemble", "extract", "sign",
                  "store", "catalog", "index")


@dataclass
class Planned:
    """What the plan stage learnt: the OCR plan (report so far, one task per page) of an original."""

    original: Original
    plan: ocr.Plan

    @property
    def pages(self) -> int:
        return len(self.plan.tasks)

    @property
    def frames(self) -> list[int | None]:
        return [task.frame for task in self.plan.tasks]

    @classmethod
    def restore(cls, original: Original, frames: list[int | None], title: str, report) -> "Planned":
        """The plan of a file planned elsewhere (a worker with its own copy of the original)."""
        tasks = [PageTask(original.path, original.kind, index, frame) for index, frame in enumerate(frames)]
        return cls(original, ocr.Plan(report, tasks, title))


@dataclass
class Assembled:
    """The recognised pages in order, as a validated PDF/A file at `pdfa` (in a scratch folder)."""

    result: OcrResult
    pdfa: Path


@dataclass
class Written:
    """A record folder written to storage, every object read back and verified."""

    meta: RecordMetadata
    objects: dict[str, ObjectInfo]
    events: list[Event]
    version: int = 1  # the record's current metadata version in storage
    prefix: str | None = None  # its folder


# ------------------------------------------------------------------ 1. identify


def identify(path: Path, name: str | None = None) -> Original | Quarantined:
    """Sniff the type from the bytes (never the name) and hash them."""
    try:
        kind = sniff(path)
        sha256, size = sha256_file(path)
    except InputError as error:
        return policy.quarantined(path, error)
    return Original(path, name or path.name, kind, sha256, size)


# ------------------------------------------------------------------ 2. validate


def validate(given: Mapping[str, object] | IngestFields, path: Path, where: str = "") -> IngestFields | Quarantined:
    """Fields and codes checked once, by the one policy (fields validated before pass untouched)."""
    return policy.validate(given, path, where)


# ------------------------------------------------------------------ 3. dedup


def dedup(sha256: str, path: Path, catalog: Catalog) -> Duplicate | None:
    """The same bytes are stored once, whoever sends them again."""
    existing = catalog.record_by_sha(sha256)
    return Duplicate(path, existing.id, existing.code) if existing is not None else None


def dedup_part(original: Original, catalog: Catalog) -> Duplicate | None:
    """A document cut out of a stack is known by its record id (the stack's SHA-256 and its pages),
    so the same stack sent again, or a split resumed after a crash, makes no second record."""
    if original.source is None:
        return dedup(original.sha256, original.path, catalog)
    existing = catalog.record(original.source.record_id)
    return Duplicate(original.path, existing.id, existing.code) if existing is not None else None


# ------------------------------------------------------------------ 3b. split


def split(original: Original, fields: IngestFields, options: OcrOptions, work: Path, split_on_blank: bool = False,
          doctypes: Path | None = None, catalog: Catalog | None = None) -> segments.Split | Quarantined:
    """Read the codes on every page (a downscaled decode each) and cut the stack into its documents:
    cover and separator sheets, the one-stop receipt, optionally blank pages (ingest/segments.py).
    A file of one document with no sheet goes on unchanged; codes that disagree with the fields
    given, or name a dossier of an agency the given one does not cover (the agency tree in
    `catalog`), quarantine it (exit 22)."""
    receipt = segments.receipt_doc_type(describe.type_names(describe.catalogue(doctypes)))
    try:
        reading = segments.read(original, options.max_pixels, options.max_pages, options.max_page_bytes,
                                split_on_blank, receipt)
    except InputError as error:
        return policy.quarantined(original.path, error)
    agencies = None
    if catalog is not None and fields.agency and reading.plan.dossiers:
        from sohoa.ratios.agencies import subordinates

        agencies = subordinates(catalog, fields.agency)
    return segments.split(original, fields, reading, work, agencies)


# ------------------------------------------------------------------ 4. plan


def plan(original: Original, fields: IngestFields, options: OcrOptions) -> Planned | Quarantined:
    """Refuse a bad file before any OCR work and list its pages."""
    try:
        planned = ocr.plan(original.path, Path("pdfa.pdf"), _titled(options, fields))
    except InputError as error:
        return policy.quarantined(original.path, error)
    return Planned(original, planned)


def _titled(options: OcrOptions, fields: IngestFields) -> OcrOptions:
    return replace(options, title=fields.title or options.title or "")


# ------------------------------------------------------------------ 5. recognise


def recognise(planned: Planned, options: OcrOptions, first: int = 0, last: int | None = None) -> Iterator[PageOutcome]:
    """Pages [first, last) read in order (in parallel when `options.jobs` > 1).

    A generator, so the assemble stage holds only the in-flight window of pages;
    a page that cannot be read raises InputError, which `assemble` (or the OCR
    task of the workers) turns into a quarantine.
    """
    tasks = planned.plan.tasks[first:last]
    return ocr.recognise_pages(tasks, options)


# ------------------------------------------------------------------ 6. assemble


def assemble(planned: Planned, outcomes: Iterable[PageOutcome], work: Path, options: OcrOptions) -> Assembled | Quarantined:
    """Pages in input order → a PDF/A file, validated before it exists (in `work`)."""
    pdfa = work / "pdfa.pdf"
    try:
        result = ocr.assemble(planned.plan, outcomes, pdfa, options)
    except (InputError, OutputInvalid) as error:
        return policy.quarantined(planned.original.path, error)
    return Assembled(result, pdfa)


# ------------------------------------------------------------------ 7. extract

log = logging.getLogger(__name__)


def extract(assembled: Assembled, fields: IngestFields, enabled: bool = True,
            doctypes: Path | None = None) -> Described:
    """Read the metadata off the pages (type, number, date, issuer, summary, owner and other IDs)
    and complete the typed fields with it; typed values always win (ingest/describe.py).

    Never ends the pipeline: a document whose fields cannot be read is stored as typed, and an
    extraction that fails is logged in the record's events instead of losing the file."""
    catalogue = describe.catalogue(doctypes)
    names = describe.type_names(catalogue)
    if not enabled:
        return describe.given(fields, names.get(fields.doc_type or ""))
    from sohoa.extract import extract as read_fields

    report = assembled.result.report
    sizes = [(p.height_pt, p.width_pt) if p.rotation in (90, 270) else (p.width_pt, p.height_pt)
             for p in report.pages]
    try:
        document = read_fields(assembled.result.word_boxes, sizes, catalogue).to_json()
    except Exception as exc:  # noqa: BLE001 - a bug in a rule must not lose the document
        log.exception("extraction failed")
        described = describe.given(fields, names.get(fields.doc_type or ""))
        described.error = f"{type(exc).__name__}: {exc}"[:300]
        return described
    return describe.merge(fields, document.get("fields") or {}, document.get("other_ids") or [], document, names)


# ------------------------------------------------------------------ 8. sign


def sign(assembled: Assembled, work: Path, settings) -> SignatureInfo | None:
    """The digitising unit's PAdES signature on the PDF/A when a key is configured (ingest/signing.py):
    the record is then stored with pdfa.pdf and signed.pdf at once. A key that cannot be used raises
    SIGNING_SETUP, so no record is stored without the signature the configuration asks for."""
    return signing.sign_assembled(assembled.pdfa, assembled.result.word_boxes, work, settings)


# ------------------------------------------------------------------ 9. store (+ verify)


def store(original: Original, fields: IngestFields | Described, assembled: Assembled, archive: Archive, agent: str,
          engine: str = engines.DEFAULT, signed: SignatureInfo | None = None) -> Written:
    """Write the record folder (original, PDF/A, text, words, events, metadata last), each object verified.

    A result's code is reserved in the catalog before anything is written (so concurrent ingests
    of one dossier get distinct KQn); the reservation is released if the ingest fails before its
    metadata is stored, and kept otherwise (the retry of the same record gets it back)."""
    described = fields if isinstance(fields, Described) else describe.given(fields)
    record_id = original.source.record_id if original.source else record_id_for(original.sha256)
    report = assembled.result.report
    meta = _metadata(record_id, original, described, report.page_count, archive.catalog)
    maybe_crash("ingest.reserved")
    events = _events(record_id, original, assembled, agent, engine)
    events += _extracted_events(record_id, described, agent)
    if signed is not None:
        events.append(signing.signed_event(record_id, signed, agent))
    events.append(Event(record_id=record_id, action="stored", agent=agent, tool=archive.store.describe(),
                        detail="every object read back and its SHA-256 verified"))
    extra: dict[str, bytes | Path] = {"extracted.json": described.extracted} if described.extracted is not None else {}
    if original.source and original.source.keeps_stack:
        extra["stack"] = Path(original.source.path)
    if signed is not None:
        extra[signing.SIGNED] = signed.path
    try:
        stored = store_record(archive.store, meta, original.path, assembled.pdfa, assembled.result.texts,
                              assembled.result.word_boxes, events, agent, extra_objects=extra)
    except BaseException:
        if meta.kind == Kind.result and not _names_code(archive, meta):
            catalog_write.release_result_code(archive.catalog, record_id, meta.record_code)
        raise
    return Written(stored.meta, stored.objects, stored.events, stored.version, stored.prefix)


def _names_code(archive: Archive, meta: RecordMetadata) -> bool:
    """Whether some stored metadata version of the record names its code (then it stays taken)."""
    from sohoa.archive import records

    try:
        prefix = records.record_prefix(meta)
        return any(meta.record_code in archive.store.get(key).decode("utf-8")
                   for _, key in records.metadata_versions(archive.store, prefix))
    except Exception:  # noqa: BLE001 - storage unreadable: keep the reservation, the safe side
        return True


def _events(record_id: str, original: Original, assembled: Assembled, agent: str, engine: str) -> list[Event]:
    report = assembled.result.report
    ocr_pages = sum(page.ocr for page in report.pages)
    events = [
        Event(record_id=record_id, action="ingested", agent=agent, tool="sohoa", tool_version=sohoa.__version__,
              detail=f"{original.name}: {original.size} bytes, sha256 {original.sha256}"),
        *segments.split_events(record_id, original, agent),
        Event(record_id=record_id, action="ocr", agent=agent, tool=engine, tool_version=report.tesseract,
              detail=f"{report.page_count} pages, {ocr_pages} OCR'd, lang {report.language}"),
    ]
    for check in report.validation:
        events.append(Event(record_id=record_id, action="validated", agent=agent, tool=check.validator,
                            outcome="success" if check.valid else "failure", detail=report.pdfa))
    return events


def _extracted_events(record_id: str, described: Described, agent: str) -> list[Event]:
    if described.error:
        return [Event(record_id=record_id, action="extracted", agent=agent, tool="sohoa.extract",
                      tool_version=sohoa.__version__, outcome="failure", detail=described.error)]
    if described.extracted is None:
        return []
    return [Event(record_id=record_id, action="extracted", agent=agent, tool="sohoa.extract",
                  tool_version=sohoa.__version__, detail=described.summary_line())]


def _metadata(record_id: str, original: Original, described: Described, pages: int,
              catalog: Catalog) -> RecordMetadata:
    fields = described.fields
    agency = fields.agency or UNASSIGNED_AGENCY
    if fields.kind == Kind.result:
        if not fields.dossier:
            raise SohoaError("a result record needs a dossier code")
        code = catalog_write.reserve_result_code(catalog, fields.dossier, record_id)
    else:
        code = component_code(agency, original.sha256)
    return RecordMetadata(
        record_id=record_id, record_code=code, kind=fields.kind, agency_code=agency,
        dossier_code=fields.dossier, procedure_code=fields.procedure, doc_type_code=fields.doc_type,
        doc_type_name=described.doc_type_name, owner_id=fields.owner_id, owner_name=fields.owner_name,
        date_of_birth=fields.date_of_birth, other_ids=described.other_ids,
        unconfirmed=described.unconfirmed, disagreements=described.disagreements,
        review_confidence=described.review_confidence,
        title=fields.title, number_symbol=fields.number_symbol,
        issued_on=fields.issued_on, issuing_agency=fields.issuing_agency, summary=fields.summary,
        valid_until=fields.valid_until, retention_code=fields.retention, page_count=pages,
        scanned_by=fields.scanned_by, original_name=original.name, original_sha256=original.sha256,
        original_size=original.size, media_type=policy.MEDIA_TYPES[original.kind],
        source_sha256=original.source.sha256 if original.source else None,
        source_pages=original.source.page_range if original.source else None,
        source_record=original.source.stack_record if original.source else None,
    )


# ------------------------------------------------------------------ 10. catalog


def catalog(original: Original, written: Written, archive: Archive) -> Stored | Duplicate:
    """The stored record into the catalog; a twin that won the race makes this one its duplicate.

    The catalog ends with the metadata version storage holds: a twin that stored a newer version
    (the same bytes sent again with other fields) moves the catalog row forward to it. A record of a
    dossier puts its webhook event into the outbox first (hooks/emit.py: sent once the record is in)."""
    emit_stored(archive.catalog, written.meta)
    try:
        catalog_write.add_record(archive.catalog, written.meta, written.objects, written.events, written.prefix)
    except sqlalchemy.exc.IntegrityError:
        duplicate = dedup_part(original, archive.catalog)
        if duplicate is None:
            raise
        catalog_write.set_metadata(archive.catalog, written.meta, written.objects,
                                   [e for e in written.events if e.action in ("corrected", "described")])
        return duplicate
    maybe_crash("ingest.catalogued")
    return Stored(original.path, written.meta.record_id, written.meta.record_code, written.meta.page_count)


# ------------------------------------------------------------------ 11. index


def index(record_id: str, archive: Archive, search_index, agent: str) -> None:
    """Into the search index (derived: `sohoa reindex` rebuilds it), with an `indexed` event."""
    from sohoa.search.service import index_record

    index_record(archive, search_index, record_id, agent)
