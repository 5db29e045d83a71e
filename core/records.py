"""Records: the metadata of one digitised paper document, its codes and its events.

A record is stored as a self-describing folder of objects (see archive/records.py),
so everything here serialises to JSON and back without the catalog.

Codes:
- record id: ``R`` + the first 24 hex digits of the original's SHA-256. The same
  bytes always give the same id, so ingest is idempotent (a retried task finds
  its record instead of making a second one).
- component code: ``<agency code>-TP-<first 10 hex of SHA-256, upper case>``,
  stable and unique for the same reason; result code: ``<dossier code>-KQ<n>``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from enum import Enum
from typing import Final

from pydantic import BaseModel, Field, field_validator

from sohoa.core import codes

SCHEMA_VERSION: Final[int] = 1
UNASSIGNED_AGENCY: Final[str] = "000.00.00.000"
VIETNAM: Final = timezone(timedelta(hours=7))  # the offices' time (no daylight saving: a fixed offset is exact)


class Kind(str, Enum):
    component = "component"  # thành phần hồ sơ
    result = "result"  # kết quả giải quyết TTHC


def record_id_for(sha256: str) -> str:
    return "R" + sha256[:24].lower()


def component_code(agency: str, sha256: str) -> str:
    return f"{agency}-TP-{sha256[:10].upper()}"


def vietnam_midnight(day: date | None) -> datetime | None:
    """Midnight starting a Vietnamese calendar day, as an instant (None stays None)."""
    return datetime.combine(day, time(), VIETNAM) if day else None


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class ObjectInfo(BaseModel):
    key: str
    sha256: str
    size: int


class RecordMetadata(BaseModel):
    """TT 01/2023/TT-VPCP Điều 9 fields plus what the archive needs to rebuild itself."""

    schema_version: int = SCHEMA_VERSION
    record_id: str
    record_code: str
    kind: Kind = Kind.component
    agency_code: str = UNASSIGNED_AGENCY
    dossier_code: str | None = None
    procedure_code: str | None = None
    doc_type_code: str | None = None  # mã loại giấy tờ / loại kết quả
    owner_id: str | None = None  # CCCD or MST
    title: str | None = None  # tên loại / trích yếu ngắn
    number_symbol: str | None = None  # số, ký hiệu
    issued_on: date | None = None
    issuing_agency: str | None = None
    summary: str | None = None  # trích yếu
    valid_until: date | None = None
    validity_scope: str | None = None
    retention_code: str = "06"
    page_count: int = 0
    language: str = "vi"
    scanned_by: str | None = None
    original_name: str = ""
    original_sha256: str
    original_size: int
    media_type: str = ""
    created_at: datetime = Field(default_factory=now_utc)
    # dossiers this record was reused in (archive/reuse.py); each reuse is a new metadata version
    reused_in: list[str] = Field(default_factory=list)
    # Read off the pages (extract/, issue #14): the catalogue name of doc_type_code, the owner's
    # name and birth date, and every other person ID printed on the document (a spouse, a child).
    doc_type_name: str | None = None
    owner_name: str | None = None
    date_of_birth: date | None = None
    other_ids: list[str] = Field(default_factory=list)
    # Fields whose value an extraction proposed and nobody has confirmed yet, and fields where
    # what staff typed and what the pages say disagree: both put the record in the review queue.
    unconfirmed: list[str] = Field(default_factory=list)
    disagreements: list[str] = Field(default_factory=list)
    review_confidence: float | None = None  # the lowest confidence among them (the queue's order)
    # Cut out of a scanned stack (split/, issue #15): the stack's SHA-256, the pages of it this
    # record holds (1-based, "3-5"), and the record whose folder keeps the whole stack ("stack").
    source_sha256: str | None = None
    source_pages: str | None = None
    source_record: str | None = None

    @field_validator("agency_code")
    @classmethod
    def _agency(cls, value: str) -> str:
        return codes.agency_code(value)

    @field_validator("dossier_code")
    @classmethod
    def _dossier(cls, value: str | None) -> str | None:
        return codes.dossier_code(value) if value else None

    @field_validator("reused_in")
    @classmethod
    def _reused_in(cls, value: list[str]) -> list[str]:
        return [codes.dossier_code(code) for code in value]

    @field_validator("owner_id")
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        return codes.owner_id(value) if value else None

    @field_validator("other_ids")
    @classmethod
    def _other_ids(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(codes.owner_id(v) for v in value))

    @field_validator("retention_code")
    @classmethod
    def _retention(cls, value: str) -> str:
        return codes.retention_code(value)


class Event(BaseModel):
    """One action on a record (Archivematica-style PREMIS-lite): who, when, with what, outcome."""

    record_id: str
    action: str  # ingested | ocr | validated | stored | indexed | fixity-checked | reused | linked
    at: datetime = Field(default_factory=now_utc)
    agent: str = "sohoa"
    tool: str = ""
    tool_version: str = ""
    outcome: str = "success"  # success | failure
    detail: str = ""
