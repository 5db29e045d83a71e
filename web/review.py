"""Xác nhận thông tin (issue #14): the review queue of records whose fields were filled from
extraction proposals, what a reviewer sees of one record (its fields beside the page images with
the proposals' boxes), and the confirmation itself (`describe_record`: a new metadata version, a
`described` event, the catalog and the search index updated), audited.

Typed values always win: the form shows the record's current values; a proposal that differs from
a typed value is shown beside it, never put in its place.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Mapping

from sohoa.archive import verified
from sohoa.archive.catalog import Record
from sohoa.archive.storage import ChecksumMismatch
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ingest import describe
from sohoa.web import audit, labels, records, scope
from sohoa.web.accounts import Principal
from sohoa.web.errors import WebError
from sohoa.web.state import WebState

EXTRACTED: Final = "extracted.json"
# The fields of the form, in the order a paper is read (the first gets the focus).
FORM_FIELDS: Final = ("doc_type_code", "number_symbol", "issued_on", "issuing_agency", "title", "summary",
                      "owner_id", "owner_name", "date_of_birth", "valid_until", "other_ids")
DATES: Final = frozenset({"issued_on", "date_of_birth", "valid_until"})
PAGE_WIDTH: Final = 900  # px of the page image on the review page: small print stays readable
DATE_HINT_VI: Final = "nhập ngày theo dạng năm-tháng-ngày, ví dụ 2024-01-10"


@dataclass(frozen=True)
class QueueRow:
    """One record waiting for review, as the queue lists it."""

    record_id: str
    record_code: str
    title: str
    doc_type_name: str
    waiting: list[str]  # unconfirmed field names
    disagreements: list[str]
    confidence: float | None  # the lowest confidence among them

    def to_json(self) -> dict:
        return {"record_id": self.record_id, "record_code": self.record_code, "title": self.title,
                "doc_type_name": self.doc_type_name, "unconfirmed": self.waiting,
                "disagreements": self.disagreements, "review_confidence": self.confidence}


@dataclass(frozen=True)
class Box:
    """A proposal's box on a page, in per cent of the page (what the page image is drawn over)."""

    field: str
    label: str
    page: int
    x: float
    y: float
    width: float
    height: float
    value: str
    confidence: float


@dataclass(frozen=True)
class Proposed:
    """One extracted field as the record page lists it."""

    field: str
    label: str
    value: str
    confidence: float
    page: int
    source: str


@dataclass(frozen=True)
class FormField:
    """One field of the review form: the record's value, and what the pages say."""

    name: str
    label: str
    value: str
    proposed: str | None  # the proposal, when there is one
    confidence: float | None
    unconfirmed: bool
    disagrees: bool

    @property
    def kind(self) -> str:
        return "date" if self.name in DATES else "select" if self.name == "doc_type_code" else "text"


@dataclass(frozen=True)
class Extracted:
    """What the record page and the review page show of extracted.json."""

    fields: list[Proposed]
    boxes: list[Box]
    pages: list[int]  # the pages with at least one box, in order
    other_ids: list[str]


def type_names(web: WebState) -> dict[str, str]:
    return describe.type_names(describe.catalogue(web.settings.doctypes_file))


def doc_types(web: WebState) -> list[tuple[str, str]]:
    """(code, Vietnamese name) of every catalogue type, by name: the options of the type select."""
    return sorted(type_names(web).items(), key=lambda item: (item[1].casefold(), item[0]))


def label(name: str) -> str:
    return labels.FIELD_VI.get(name, name)


# ----------------------------------------------------------------- the queue


def _row(record: Record, names: Mapping[str, str]) -> QueueRow:
    meta = record.metadata_json or {}
    code = meta.get("doc_type_code") or ""
    return QueueRow(record.id, record.code, meta.get("title") or "", meta.get("doc_type_name") or names.get(code, ""),
                    list(meta.get("unconfirmed") or []), list(meta.get("disagreements") or []),
                    record.review_confidence)


def queue(web: WebState, principal: Principal, limit: int, offset: int) -> tuple[int, list[QueueRow]]:
    """The records of the user's agency subtree waiting for review, least certain first."""
    seen = scope.scope_of(web.catalog, principal)
    total, rows = web.catalog.review_queue(limit=limit, offset=offset, agencies=seen.agencies)
    names = type_names(web)
    return total, [_row(record, names) for record in rows]


def next_waiting(web: WebState, principal: Principal, after: str) -> str | None:
    """The first record of the queue other than `after` (the one just confirmed), or None."""
    _total, rows = queue(web, principal, 2, 0)
    return next((row.record_id for row in rows if row.record_id != after), None)


def in_scope(web: WebState, principal: Principal, record_id: str) -> Record:
    """The record, if it is in the user's subtree; else the same 404 as a missing record (reviewing
    is never purpose-bound: another agency's record is theirs to confirm)."""
    record = records.load(web, record_id)
    if not scope.scope_of(web.catalog, principal).covers(record.agency_code):
        raise scope.hidden(record_id)
    return record


# ----------------------------------------------------------------- extracted.json


def read_extracted(web: WebState, record: Record, who: str = "") -> dict | None:
    """The record's extracted.json, verified against its SHA-256; None when it has none."""
    obj = next((o for o in record.objects if o.name == EXTRACTED), None)
    if obj is None:
        return None
    try:
        body = verified.read_small(web.archive, obj.key, obj.sha256)
    except ChecksumMismatch:
        records.mismatch(web, record, obj.key, who, "extracted.json on the review page")
        raise WebError(500, records.ALTERED_VI, "fixity_failed") from None
    document = json.loads(body)
    return document if isinstance(document, dict) else None


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _proposals(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Field name → proposal; the document type is the `doc_type` proposal."""
    found = {name: p for name, p in (document.get("fields") or {}).items() if isinstance(p, dict)}
    if isinstance(document.get("doc_type"), dict):
        found.setdefault("doc_type_code", document["doc_type"])
    return found


def _box(name: str, proposal: Mapping[str, Any], sizes: list[tuple[float, float]]) -> Box | None:
    page, box = proposal.get("page"), proposal.get("box")
    if not isinstance(page, int) or not 1 <= page <= len(sizes) or not isinstance(box, list) or len(box) != 4:
        return None
    width, height = sizes[page - 1]
    x0, y0, x1, y1 = (float(v) for v in box)
    if width <= 0 or height <= 0 or x1 <= x0 or y1 <= y0:
        return None  # a proposal made of no words (e.g. a date computed from the catalogue)

    def pct(value: float, whole: float) -> float:
        return round(min(max(value / whole * 100, 0.0), 100.0), 3)

    return Box(name, label(name), page, pct(x0, width), pct(y0, height), pct(x1 - x0, width), pct(y1 - y0, height),
               _text(proposal.get("value")), float(proposal.get("confidence") or 0.0))


def extracted_view(web: WebState, record: Record, who: str = "") -> Extracted | None:
    """The proposals of the record with their boxes in per cent of their pages; None without extraction."""
    document = read_extracted(web, record, who)
    if document is None:
        return None
    order = {name: n for n, name in enumerate(FORM_FIELDS)}
    proposals = dict(sorted(_proposals(document).items(), key=lambda item: order.get(item[0], len(order))))
    sizes = records.page_sizes(web, record, who) if proposals else []
    fields = [Proposed(name, label(name), _text(p.get("value")), float(p.get("confidence") or 0.0),
                       int(p.get("page") or 0), str(p.get("source") or "")) for name, p in proposals.items()]
    boxes = [box for name, p in proposals.items() if (box := _box(name, p, sizes)) is not None]
    others = [_text(p.get("value")) for p in document.get("other_ids") or [] if isinstance(p, dict)]
    return Extracted(fields, boxes, sorted({b.page for b in boxes}), others)


# ----------------------------------------------------------------- the form and the confirmation


def form_fields(record: Record, document: Mapping[str, Any] | None) -> list[FormField]:
    """The review form, prefilled with the record's current values (typed values win)."""
    meta = record.metadata_json or {}
    pending, disputed = set(meta.get("unconfirmed") or []), set(meta.get("disagreements") or [])
    proposals = _proposals(document or {})
    out = []
    for name in FORM_FIELDS:
        proposal = proposals.get(name)
        shown_as = label("doc_type_name" if name == "doc_type_code" else name)  # the select shows names
        out.append(FormField(name, shown_as, _text(meta.get(name)),
                             _text(proposal.get("value")) if proposal else None,
                             float(proposal.get("confidence") or 0.0) if proposal else None,
                             name in pending, name in disputed))
    return out


def _same(a: str, b: str) -> bool:
    def norm(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).casefold().replace(";", ",").replace(",", " ").split())

    return norm(a) == norm(b)


def edited(record: Record, posted: Mapping[str, str]) -> dict[str, str]:
    """The form's fields whose value differs from the record's: only those are set."""
    meta = record.metadata_json or {}
    return {name: posted[name].strip() for name in FORM_FIELDS
            if name in posted and not _same(posted[name], _text(meta.get(name)))}


def check_form(values: Mapping[str, str]) -> None:
    """The mistakes a person makes in the form, in Vietnamese, before anything is written."""
    for name in DATES & set(values):
        text = values[name].strip()
        if not text:
            continue
        try:
            date.fromisoformat(text)
        except ValueError:
            raise WebError(400, f"{label(name)}: “{text}” không phải là ngày hợp lệ ({DATE_HINT_VI}).",
                           "invalid_value") from None


def _vietnamese(error: SohoaError, values: Mapping[str, Any]) -> WebError:
    """describe_record's one-line error → the form's message: which field, what was typed."""
    name = next((n for n in values if error.message.startswith(f"{n}:") or f" {n}" in error.message), None)
    if name is None:
        return WebError(400, f"Giá trị không hợp lệ: {error.message}", "invalid_value")
    hint = DATE_HINT_VI if name in DATES else ("số định danh cá nhân 12 chữ số, CMND 9 chữ số hoặc mã số thuế"
                                               if name in ("owner_id", "other_ids") else "")
    return WebError(400, f"{label(name)}: “{_text(values[name])}” không hợp lệ{f' ({hint})' if hint else ''}.",
                    "invalid_value")


def confirm(web: WebState, principal: Principal, record: Record, values: Mapping[str, Any],
            fields: list[str] | bool, who: str) -> describe.DescribeOutcome:
    """Set `values` and confirm `fields` (True: every waiting one): a new metadata version, a
    `described` event, the search index updated, one audit row. Invalid values write nothing."""
    unknown = sorted(set(values) - set(describe.EDITABLE))
    if unknown:
        raise WebError(400, f"Không sửa được trường {', '.join(unknown)} (chỉ: {', '.join(describe.EDITABLE)}).",
                       "invalid_field")
    check_form({k: str(v) for k, v in values.items() if isinstance(v, str)})
    try:
        outcome = describe.describe_record(web.archive, record.id, values, fields, principal.username,
                                           type_names(web), web.index)
    except SohoaError as error:
        if error.exit_code in (ExitCode.INVALID_CODE, ExitCode.USAGE):
            raise _vietnamese(error, values) from None
        raise
    audit.write(web.catalog, principal.username, audit.DESCRIBE, record.id,
                "review: " + (", ".join(outcome.changed) or "no change")
                + (f" (metadata version {outcome.version})" if outcome.version else ""), who)
    return outcome
