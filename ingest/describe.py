"""What the pages say against what staff typed: extraction proposals merged into a record's fields.

Typed values always win. A proposal only fills a field nobody gave, and stays *unconfirmed* (the
record is in the review queue) until someone confirms it; a typed value that differs from a
confident proposal is kept and flagged as a *disagreement*. Person and tax IDs are used only
when near-certain, so a misread digit never names the wrong citizen. Confirming or correcting
fields later (`sohoa describe`, the web's review queue) goes through `described_metadata`, which
returns the next metadata version of the record (issue #9) and the fields it changed.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Mapping

from sohoa.archive import records
from sohoa.archive.storage import ObjectExists
from sohoa.core import codes
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.records import RecordMetadata
from sohoa.ingest.policy import IngestFields

FILL_AT: Final = 0.6  # a proposal fills an empty field from this confidence on (unconfirmed)
ID_AT: Final = 0.9  # person and tax IDs, and the end of validity: only near-certain ones are used
DISAGREE_AT: Final = 0.8  # a typed value differing from a proposal this sure is flagged

# Extraction field → (IngestFields attribute, RecordMetadata attribute).
FIELDS: Final = {
    "doc_type_code": ("doc_type", "doc_type_code"),
    "number_symbol": ("number_symbol", "number_symbol"),
    "issued_on": ("issued_on", "issued_on"),
    "issuing_agency": ("issuing_agency", "issuing_agency"),
    "title": ("title", "title"),
    "summary": ("summary", "summary"),
    "owner_id": ("owner_id", "owner_id"),
    "owner_name": ("owner_name", "owner_name"),
    "date_of_birth": ("date_of_birth", "date_of_birth"),
    "valid_until": ("valid_until", "valid_until"),
}
DATES: Final = frozenset({"issued_on", "date_of_birth", "valid_until"})
IDS: Final = frozenset({"owner_id"})
# Fields with legal effect: a wrong owner names the wrong citizen, a wrong end of validity hides a
# valid document from the Kho or refuses its reuse. A date computed from the catalogue's validity
# period (not printed) never reaches this confidence; it stays in extracted.json as a proposal.
STRICT: Final = IDS | {"valid_until"}
# What `sohoa describe --set` and the review form may change (the record's identity may not).
EDITABLE: Final = (*FIELDS, "doc_type_name", "other_ids", "procedure_code")


@lru_cache(maxsize=4)
def catalogue(doctypes: Path | None = None):
    """The document-type catalogue (extract/data/doctypes.yaml, plus an admin's file), read once."""
    from sohoa.extract import load_catalogue

    return load_catalogue(doctypes)


def type_names(types=None) -> dict[str, str]:
    """Catalogue code → Vietnamese name (what lists and forms show instead of codes)."""
    types = types if types is not None else catalogue()
    return {t.code: t.name for t in types.types.values()}


@dataclass
class Described:
    """The fields a record is stored with, and what the extraction added to them."""

    fields: IngestFields
    extracted: bytes | None = None  # extracted.json, None when nothing was extracted
    doc_type_name: str | None = None
    other_ids: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    proposed: int = 0  # how many proposals the pages gave
    error: str | None = None  # the extraction failed (the record is stored as typed)
    review_confidence: float | None = None  # lowest confidence among the unconfirmed and disagreeing

    def summary_line(self) -> str:
        parts = [f"{self.proposed} proposals"]
        if self.unconfirmed:
            parts.append("filled (unconfirmed): " + ", ".join(self.unconfirmed))
        if self.disagreements:
            parts.append("typed value differs from the pages: " + ", ".join(self.disagreements))
        return "; ".join(parts)


def given(fields: IngestFields, type_name: str | None = None) -> Described:
    """No extraction (switched off, or nothing to read): the fields as typed."""
    return Described(fields, doc_type_name=type_name)


def merge(fields: IngestFields, proposals: Mapping[str, Mapping[str, Any]], other_ids: list[Mapping[str, Any]],
          document: Mapping[str, Any], type_names: Mapping[str, str]) -> Described:
    """Fill the empty fields of `fields` from confident proposals; flag the typed ones they contradict.

    `proposals` is the `fields` part of an extracted.json document (name → {"value", "confidence",
    ...}), `other_ids` its `other_ids`, `document` the whole of it (stored as extracted.json),
    `type_names` the catalogue's code → Vietnamese name.
    """
    filled: dict[str, Any] = {}
    unconfirmed: list[str] = []
    disagreements: list[str] = []
    doubts: list[float] = []
    for name, (attr, _) in FIELDS.items():
        proposal = proposals.get(name)
        if not proposal:
            continue
        value = _value(name, proposal.get("value"))
        confidence = float(proposal.get("confidence") or 0.0)
        if value is None or confidence < (ID_AT if name in STRICT else FILL_AT):
            continue
        typed = getattr(fields, attr)
        if typed in (None, ""):
            filled[attr] = value
            unconfirmed.append(name)
            doubts.append(confidence)
        elif confidence >= DISAGREE_AT and _norm(typed) != _norm(value):
            disagreements.append(name)
            doubts.append(confidence)
    merged = replace(fields, **filled)
    owner = merged.owner_id
    others = [v for v in (_value("owner_id", p.get("value")) for p in other_ids
                          if float(p.get("confidence") or 0.0) >= ID_AT) if v and v != owner]
    name = type_names.get(merged.doc_type or "")
    body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    return Described(merged, body, name, list(dict.fromkeys(others)), unconfirmed, disagreements,
                     proposed=len(proposals), review_confidence=round(min(doubts), 3) if doubts else None)


def _value(name: str, raw: Any) -> Any:
    """A proposal's value as the record stores it, or None when it is not a valid one."""
    if raw is None or raw == "" or isinstance(raw, (list, dict)):
        return None
    text = unicodedata.normalize("NFC", str(raw)).strip()
    if name in DATES:
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    if name in IDS:
        try:
            return codes.owner_id(text)
        except SohoaError:
            return None
    return text


def _norm(value: Any) -> str:
    text = value.isoformat() if isinstance(value, date) else str(value)
    return " ".join(unicodedata.normalize("NFC", text).casefold().replace(" ", " ").split())


# ----------------------------------------------------------------- later descriptions


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """`FIELD=VALUE` pairs of `sohoa describe --set` → values checked like a sidecar's."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or name not in EDITABLE:
            raise SohoaError(f"--set {pair!r}: expected FIELD=VALUE with FIELD one of {', '.join(sorted(set(EDITABLE)))}",
                             ExitCode.USAGE)
        out[name] = value.strip()
    return out


def described_metadata(meta: RecordMetadata, values: Mapping[str, Any], confirm: list[str] | bool,
                       type_names: Mapping[str, str] | None = None) -> tuple[RecordMetadata, list[str]]:
    """The record's metadata with `values` set and the fields in `confirm` (True: every unconfirmed
    one and every disagreement) confirmed. Returns (new metadata, names of the fields that changed
    or were confirmed); an empty value clears a field. Invalid values raise a one-line SohoaError."""
    update: dict[str, Any] = {}
    for name, raw in values.items():
        attr = FIELDS.get(name, (name, name))[1]
        update[attr] = _checked(name, raw)
    if "doc_type_code" in values and "doc_type_name" not in values and type_names is not None:
        update["doc_type_name"] = type_names.get(update["doc_type_code"] or "")
    settled = set(values) | (set(meta.unconfirmed) | set(meta.disagreements) if confirm is True else set(confirm or []))
    update["unconfirmed"] = [n for n in meta.unconfirmed if n not in settled]
    update["disagreements"] = [n for n in meta.disagreements if n not in settled]
    if not update["unconfirmed"] and not update["disagreements"]:
        update["review_confidence"] = None
    try:
        new = RecordMetadata.model_validate({**json.loads(meta.model_dump_json()), **_jsonable(update)})
    except ValueError as exc:
        errors = exc.errors() if hasattr(exc, "errors") else [{"msg": str(exc)}]
        raise SohoaError(f"invalid value: {errors[0].get('msg', exc)}", ExitCode.INVALID_CODE) from None
    changed = sorted(n for n in settled if n in values or n in meta.unconfirmed or n in meta.disagreements)
    return new, changed


def _checked(name: str, raw: Any) -> Any:
    if raw is None or raw == "":
        return [] if name == "other_ids" else None
    if name == "other_ids":
        items = raw if isinstance(raw, list) else str(raw).replace(";", ",").split(",")
        try:
            return [codes.owner_id(str(v)) for v in items if str(v).strip()]
        except SohoaError as error:
            raise SohoaError(f"other_ids: {error.message}", ExitCode.INVALID_CODE) from None
    if name in DATES:
        try:
            return date.fromisoformat(str(raw).strip())
        except ValueError:
            raise SohoaError(f"{name}: {raw!r} is not a date YYYY-MM-DD", ExitCode.INVALID_CODE) from None
    if name in IDS:
        return codes.owner_id(str(raw))
    return unicodedata.normalize("NFC", str(raw)).strip()


def _jsonable(update: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in update.items()}


@dataclass
class DescribeOutcome:
    record_id: str
    record_code: str
    version: int | None  # the metadata version written; None when nothing changed
    changed: list[str]


def describe_record(archive, record_id: str, values: Mapping[str, Any], confirm: list[str] | bool, by: str,
                    type_names: Mapping[str, str] | None = None, index=None) -> DescribeOutcome:
    """Set and/or confirm fields of a stored record: a new metadata version with a `described` event
    (who, which fields), the catalog moved to it, the search index updated. Nothing to change (the
    values are the record's and nothing is left to confirm) writes nothing."""
    record = archive.catalog.record(record_id)
    if record is None:
        raise SohoaError(f"no record {record_id!r}", ExitCode.NOT_FOUND)
    for _attempt in range(20):
        stored = records.read_stored_record(archive.store, record.prefix)
        meta, changed = described_metadata(stored.meta, values, confirm, type_names)
        if records.same_metadata(stored.meta, meta):
            return DescribeOutcome(record.id, record.code, None, [])
        detail = f"by {by}: " + ", ".join(changed or records.differences(stored.meta, meta))
        try:
            version = records.write_metadata_version(archive.store, record.prefix, meta, stored.objects, by,
                                                     action="described", detail=detail,
                                                     version=stored.version + 1)
        except ObjectExists:
            continue  # a concurrent change took the number: read again, apply on top of it
        break
    else:
        raise SohoaError(f"{record.code}: its metadata keeps changing; try again", ExitCode.OUTPUT_ERROR)
    stored = records.catalog_follows(archive.catalog, archive.store, record.prefix, "described")
    if index is not None:
        from sohoa.search.service import index_record

        index_record(archive, index, record.id, by)
    return DescribeOutcome(record.id, record.code, version, changed)
