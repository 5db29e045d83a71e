"""`sohoa ingest`: one file → one stored, verified record (or a typed reason why not).

Stages, as plain functions the Celery workers can call too:
identify (sniff + SHA-256) → dedup → OCR to PDF/A → metadata → write record
(objects verified) → catalog. The original is only read, never moved or deleted.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Union

import sohoa
from sohoa.archive import catalog_write
from sohoa.archive.backends import Archive
from sohoa.archive.records import write_record
from sohoa.core import codes
from sohoa.core.errors import ExitCode, InputError, SohoaError
from sohoa.core.records import (
    UNASSIGNED_AGENCY, Event, Kind, RecordMetadata, component_code, record_id_for,
)
from sohoa.ocr import tesseract
from sohoa.ocr.pipeline import OcrOptions
from sohoa.ocr.pipeline import run as run_ocr
from sohoa.ocr.sniff import sniff

MEDIA_TYPES = {"pdf": "application/pdf", "tiff": "image/tiff", "jpeg": "image/jpeg", "png": "image/png"}


@dataclass
class IngestFields:
    """What scanning staff say about a file; every code is validated before any work."""

    agency: str | None = None
    dossier: str | None = None
    procedure: str | None = None
    kind: Kind = Kind.component
    doc_type: str | None = None
    owner_id: str | None = None
    title: str | None = None
    number_symbol: str | None = None
    issued_on: date | None = None
    issuing_agency: str | None = None
    summary: str | None = None
    valid_until: date | None = None
    retention: str = "06"
    scanned_by: str | None = None

    def validated(self) -> "IngestFields":
        agency = codes.agency_code(self.agency) if self.agency else None
        dossier = codes.dossier_code(self.dossier) if self.dossier else None
        if dossier and not agency:
            agency = dossier.split("-")[0]
        if self.kind == Kind.result and not dossier:
            raise SohoaError("a result record needs --dossier (its code is <dossier code>-KQ<n>)",
                             ExitCode.INVALID_CODE)
        return IngestFields(
            agency=agency, dossier=dossier, procedure=self.procedure, kind=Kind(self.kind),
            doc_type=self.doc_type, owner_id=codes.owner_id(self.owner_id) if self.owner_id else None,
            title=self.title, number_symbol=self.number_symbol, issued_on=self.issued_on,
            issuing_agency=self.issuing_agency, summary=self.summary, valid_until=self.valid_until,
            retention=codes.retention_code(self.retention), scanned_by=self.scanned_by,
        )


@dataclass
class Stored:
    path: Path
    record_id: str
    code: str
    pages: int
    status: str = "stored"


@dataclass
class Duplicate:
    path: Path
    record_id: str
    code: str
    status: str = "duplicate"


@dataclass
class Quarantined:
    path: Path
    reason: str
    exit_code: int
    status: str = "quarantined"


IngestResult = Union[Stored, Duplicate, Quarantined]


def sha256_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def ingest_file(path: Path, fields: IngestFields, archive: Archive, options: OcrOptions,
                agent: str = "sohoa", index=None) -> IngestResult:
    """Expected failures come back as Quarantined; storage and catalog outages raise (retry-safe)."""
    try:
        kind = sniff(path)  # stage: identify
        sha256, size = sha256_file(path)
    except InputError as error:
        return Quarantined(path, error.message, int(error.exit_code))

    existing = archive.catalog.record_by_sha(sha256)  # stage: dedup
    if existing is not None:
        return Duplicate(path, existing.id, existing.code)

    record_id = record_id_for(sha256)
    events = [Event(record_id=record_id, action="ingested", agent=agent, tool="sohoa",
                    tool_version=sohoa.__version__, detail=f"{path.name}: {size} bytes, sha256 {sha256}")]
    with tempfile.TemporaryDirectory(prefix="sohoa-ingest-") as work:  # stage: OCR
        pdfa = Path(work) / "pdfa.pdf"
        try:
            result = run_ocr(path, pdfa, options)
        except InputError as error:
            return Quarantined(path, error.message, int(error.exit_code))
        report = result.report
        ocr_pages = sum(page.ocr for page in report.pages)
        events.append(Event(record_id=record_id, action="ocr", agent=agent, tool="tesseract",
                            tool_version=tesseract.version(),
                            detail=f"{report.page_count} pages, {ocr_pages} OCR'd, lang {report.language}"))
        for check in report.validation:
            events.append(Event(record_id=record_id, action="validated", agent=agent, tool=check.validator,
                                outcome="success" if check.valid else "failure", detail=report.pdfa))

        meta = _metadata(record_id, sha256, size, kind, path, fields, report.page_count, archive)
        events.append(_stored_event(record_id, agent, archive))
        objects = write_record(archive.store, meta, path, pdfa, result.texts, result.word_boxes, events)  # stage: store
    catalog_write.add_record(archive.catalog, meta, objects, events)  # stage: catalog
    if index is not None:  # stage: index (derived; `sohoa reindex` rebuilds it)
        from sohoa.search.service import index_record

        index_record(archive, index, record_id, agent)
    return Stored(path, record_id, meta.record_code, report.page_count)


def _stored_event(record_id: str, agent: str, archive: Archive) -> Event:
    return Event(record_id=record_id, action="stored", agent=agent, tool=archive.store.describe(),
                 detail="every object read back and its SHA-256 verified")


def _metadata(record_id: str, sha256: str, size: int, kind: str, path: Path, fields: IngestFields,
              pages: int, archive: Archive) -> RecordMetadata:
    agency = fields.agency or UNASSIGNED_AGENCY
    if fields.kind == Kind.result:
        assert fields.dossier
        code = codes.result_code(fields.dossier, catalog_write.next_result_number(archive.catalog, fields.dossier))
    else:
        code = component_code(agency, sha256)
    return RecordMetadata(
        record_id=record_id, record_code=code, kind=fields.kind, agency_code=agency,
        dossier_code=fields.dossier, procedure_code=fields.procedure, doc_type_code=fields.doc_type,
        owner_id=fields.owner_id, title=fields.title, number_symbol=fields.number_symbol,
        issued_on=fields.issued_on, issuing_agency=fields.issuing_agency, summary=fields.summary,
        valid_until=fields.valid_until, retention_code=fields.retention, page_count=pages,
        scanned_by=fields.scanned_by, original_name=path.name, original_sha256=sha256,
        original_size=size, media_type=MEDIA_TYPES[kind],
    )
