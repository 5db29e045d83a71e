"""`sohoa ingest`: one file → one stored, verified record (or a typed reason why not).

Stages, as plain functions the Celery workers can call too:
identify (sniff + SHA-256) → dedup → OCR to PDF/A → metadata → write record
(objects verified) → catalog. The original is only read, never moved or deleted.
"""

from __future__ import annotations

import hashlib
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Mapping, Union

import sohoa
import sqlalchemy.exc
from sohoa.archive import catalog_write
from sohoa.archive.backends import Archive
from sohoa.archive.records import write_record
from sohoa.core import codes
from sohoa.core.errors import ExitCode, InputError, SohoaError
from sohoa.core.records import (
    UNASSIGNED_AGENCY,
    Event,
    Kind,
    RecordMetadata,
    component_code,
    record_id_for,
)
from sohoa.ocr import tesseract
from sohoa.ocr.pipeline import OcrOptions, OcrResult
from sohoa.ocr.pipeline import run as run_ocr
from sohoa.ocr.sniff import sniff

DATE_FIELDS = frozenset({"issued_on", "valid_until"})
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

    def to_dict(self) -> dict[str, str]:
        """JSON-safe: dates as ISO text, only the fields that are set."""
        out = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is not None:
                out[name] = value.isoformat() if isinstance(value, date) else str(getattr(value, "value", value))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object], base: "IngestFields | None" = None) -> "IngestFields":
        """Fields from a sidecar, a manifest row or a task message, over `base`; unknown names refused."""
        known = cls.__dataclass_fields__
        values = {name: getattr(base, name) for name in known} if base else {}
        for name, value in data.items():
            if name not in known:
                raise SohoaError(f"unknown field {name!r} (known: {', '.join(known)})", ExitCode.INVALID_CODE)
            if value is None or value == "":
                continue
            if name in DATE_FIELDS:
                try:
                    value = date.fromisoformat(str(value))
                except ValueError:
                    raise SohoaError(f"{name}: {value!r} is not a date YYYY-MM-DD", ExitCode.INVALID_CODE) from None
            elif name == "kind":
                try:
                    value = Kind(str(value))
                except ValueError:
                    raise SohoaError(f"kind: {value!r} is not one of component, result",
                                     ExitCode.INVALID_CODE) from None
            else:
                value = unicodedata.normalize("NFC", str(value)).strip()
            values[name] = value
        return cls(**values)

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


@dataclass(frozen=True)
class Original:
    """An identified input: its bytes at `path`, the name staff gave it, type and SHA-256."""

    path: Path
    name: str
    kind: str
    sha256: str
    size: int


def identify(path: Path, name: str | None = None) -> Original | Quarantined:
    """Stage identify: sniff the type from the bytes and hash them."""
    try:
        kind = sniff(path)
        sha256, size = sha256_file(path)
    except InputError as error:
        return Quarantined(path, error.message, int(error.exit_code))
    return Original(path, name or path.name, kind, sha256, size)


def find_duplicate(original: Original, archive: Archive) -> Duplicate | None:
    """Stage dedup: the same bytes are stored once, whoever sends them again."""
    existing = archive.catalog.record_by_sha(original.sha256)
    return Duplicate(original.path, existing.id, existing.code) if existing is not None else None


def ingest_file(path: Path, fields: IngestFields, archive: Archive, options: OcrOptions,
                agent: str = "sohoa", index=None) -> IngestResult:
    """Expected failures come back as Quarantined; storage and catalog outages raise (retry-safe)."""
    original = identify(path)
    if isinstance(original, Quarantined):
        return original
    duplicate = find_duplicate(original, archive)
    if duplicate is not None:
        return duplicate
    with tempfile.TemporaryDirectory(prefix="sohoa-ingest-") as work:  # stage: OCR
        pdfa = Path(work) / "pdfa.pdf"
        try:
            result = run_ocr(path, pdfa, options)
        except InputError as error:
            return Quarantined(path, error.message, int(error.exit_code))
        return store_record(original, fields, result, pdfa, archive, agent, index)


def store_record(original: Original, fields: IngestFields, result: OcrResult, pdfa: Path,
                 archive: Archive, agent: str = "sohoa", index=None) -> Stored | Duplicate:
    """Stages store, catalog and index for an OCR result, wherever the pages were recognised."""
    record_id = record_id_for(original.sha256)
    events = [Event(record_id=record_id, action="ingested", agent=agent, tool="sohoa",
                    tool_version=sohoa.__version__,
                    detail=f"{original.name}: {original.size} bytes, sha256 {original.sha256}")]
    report = result.report
    ocr_pages = sum(page.ocr for page in report.pages)
    events.append(Event(record_id=record_id, action="ocr", agent=agent, tool="tesseract",
                        tool_version=tesseract.version(),
                        detail=f"{report.page_count} pages, {ocr_pages} OCR'd, lang {report.language}"))
    for check in report.validation:
        events.append(Event(record_id=record_id, action="validated", agent=agent, tool=check.validator,
                            outcome="success" if check.valid else "failure", detail=report.pdfa))
    meta = _metadata(record_id, original, fields, report.page_count, archive)
    events.append(_stored_event(record_id, agent, archive))
    objects = write_record(archive.store, meta, original.path, pdfa, result.texts, result.word_boxes,
                           events)  # stage: store
    try:
        catalog_write.add_record(archive.catalog, meta, objects, events)  # stage: catalog
    except sqlalchemy.exc.IntegrityError:
        # Another worker stored the same bytes at the same moment: one record, and this is its duplicate.
        duplicate = find_duplicate(original, archive)
        if duplicate is None:
            raise
        return duplicate
    if index is not None:  # stage: index (derived; `sohoa reindex` rebuilds it)
        from sohoa.search.service import index_record

        index_record(archive, index, record_id, agent)
    return Stored(original.path, record_id, meta.record_code, report.page_count)


def _stored_event(record_id: str, agent: str, archive: Archive) -> Event:
    return Event(record_id=record_id, action="stored", agent=agent, tool=archive.store.describe(),
                 detail="every object read back and its SHA-256 verified")


def _metadata(record_id: str, original: Original, fields: IngestFields, pages: int,
              archive: Archive) -> RecordMetadata:
    agency = fields.agency or UNASSIGNED_AGENCY
    if fields.kind == Kind.result:
        assert fields.dossier
        code = codes.result_code(fields.dossier, catalog_write.next_result_number(archive.catalog, fields.dossier))
    else:
        code = component_code(agency, original.sha256)
    return RecordMetadata(
        record_id=record_id, record_code=code, kind=fields.kind, agency_code=agency,
        dossier_code=fields.dossier, procedure_code=fields.procedure, doc_type_code=fields.doc_type,
        owner_id=fields.owner_id, title=fields.title, number_symbol=fields.number_symbol,
        issued_on=fields.issued_on, issuing_agency=fields.issuing_agency, summary=fields.summary,
        valid_until=fields.valid_until, retention_code=fields.retention, page_count=pages,
        scanned_by=fields.scanned_by, original_name=original.name, original_sha256=original.sha256,
        original_size=original.size, media_type=MEDIA_TYPES[original.kind],
    )
