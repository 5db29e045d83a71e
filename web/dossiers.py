"""A dossier as the one-stop system and the office see it (issue #19 item 1, issue #18's dossier page):
the registry's row, its components and results (records filed in it), what was reused into it and
from where, and what the owner's Kho already holds that it lacks. The page (/ho-so/{code}), the API
(GET /api/dossiers/{code}) and `sohoa dossiers show` all call `view`.

Why here, in the web package: the view joins the registry (ratios), the archive and the Kho
(search) — ratios and search share a layer and may not import each other — and it must apply the
caller's agency scope and the purpose-bound Kho of web/scope.py. The CLI sits above web and calls it
for `--as USER`. A dossier of another agency, or one the registry has not sent, is a 404 (the same
message as a missing one), for people and machine tokens alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Final

from sohoa.archive.backends import Archive
from sohoa.archive.catalog import Record
from sohoa.core import codes
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ratios import registry
from sohoa.ratios.agencies import load_tree
from sohoa.ratios.registry import EXEMPT_REASONS, RegistryEntry
from sohoa.search.model import Hit, SearchIndex
from sohoa.search.service import kho
from sohoa.web import scope

NOT_FOUND_VI: Final = "Không có hồ sơ {0!r} trong sổ hồ sơ (hoặc hồ sơ không thuộc phạm vi của bạn)."
CHANNELS_VI: Final = {"direct": "Trực tiếp", "postal": "Qua bưu chính", "online": "Trực tuyến"}
RESULT_FORMS_VI: Final = {"paper": "Bản giấy", "electronic": "Bản điện tử"}


@dataclass(frozen=True)
class Document:
    """A record of the dossier: filed in it (a component or its result), or reused into it."""

    record_id: str
    record_code: str
    kind: str
    title: str | None
    doc_type_code: str | None
    doc_type_name: str | None
    agency_code: str
    page_count: int
    original_name: str
    file_name: str  # the PDF/A as downloaded
    reused: bool = False
    from_dossier: str | None = None  # reused: the dossier it was first filed in (if the viewer may see it)
    from_agency: str | None = None  # reused: the agency that digitised it
    reused_at: datetime | None = None
    reused_by: str | None = None
    from_kho: bool = False  # taken from the national database warehouse (Kho DMQG): not known to sohoa


@dataclass(frozen=True)
class DossierView:
    entry: RegistryEntry
    agency_name: str
    components: list[Document]
    results: list[Document]
    reused: list[Document]
    kho: list[Hit]  # the owner's valid documents the dossier lacks
    kho_all_agencies: bool  # the Kho crossed agencies for this dossier (its purpose)
    shown: list[str] = field(default_factory=list)  # every record id the view shows (for the audit row)

    @property
    def code(self) -> str:
        return self.entry.code

    @property
    def documents(self) -> list[Document]:
        """The dossier's components, filed then reused (the national portal's TaiLieuNop)."""
        return self.components + self.reused

    def digitised(self) -> dict[str, bool]:
        """As the ratios count it (docs/ratios.md): a component record, a reuse, an electronic component
        or an online dossier; a result record."""
        entry = self.entry
        return {"components": bool(self.documents) or entry.electronic_components > 0 or entry.channel == "online",
                "result": bool(self.results)}

    def to_json(self) -> dict[str, Any]:
        entry = self.entry
        return {
            "dossier_code": entry.code, "agency_code": entry.agency_code, "agency_name": self.agency_name,
            "procedure_code": entry.procedure_code, "owner_id": entry.owner_id,
            "received_on": entry.received_on.isoformat(), "channel": entry.channel,
            "result": None if entry.result_issued_on is None else {
                "issued_on": entry.result_issued_on.isoformat(), "form": entry.result_form, "code": entry.result_code},
            "exemptions": {"components": entry.components, "electronic_components": entry.electronic_components,
                           "exempted": {column.removeprefix("exempt_"): getattr(entry, column)
                                        for column in EXEMPT_REASONS}, "exempted_total": entry.exempted},
            "digitised": self.digitised(),
            "components": [_document_json(d) for d in self.components],
            "results": [_document_json(d) for d in self.results],
            "reused": [_document_json(d) for d in self.reused],
            "documents": [_document_json(d) for d in self.documents],
            "kho": [{**hit.model_dump(mode="json", exclude={"score", "snippet"}),
                     "link": f"/ban-ghi/{hit.record_id}?dossier={entry.code}"} for hit in self.kho],
            "kho_all_agencies": self.kho_all_agencies,
        }


def _document_json(document: Document) -> dict[str, Any]:
    values = asdict(document)
    values["reused_at"] = document.reused_at.isoformat() if document.reused_at else None
    values["link"] = f"/ban-ghi/{document.record_id}"
    values["download"] = f"/api/records/{document.record_id}/pdfa"
    return values


def entry_in_scope(catalog, seen: scope.Scope, dossier_code: str) -> RegistryEntry:
    """The registry's row, if this scope may see the dossier; the same 404 otherwise."""
    try:
        code = codes.dossier_code(dossier_code)
    except SohoaError:
        raise SohoaError(NOT_FOUND_VI.format(dossier_code), ExitCode.NOT_FOUND) from None
    entry = registry.entry_of(catalog, code)
    if entry is None or not seen.covers(entry.agency_code) or not scope.shows_dossier(seen, code):
        raise SohoaError(NOT_FOUND_VI.format(code), ExitCode.NOT_FOUND)
    return entry


def _document(record: Record, **extra) -> Document:
    meta = record.metadata_json or {}
    return Document(record.id, record.code, record.kind, record.title, record.doc_type_code,
                    meta.get("doc_type_name"), record.agency_code, record.page_count,
                    str(meta.get("original_name") or ""), f"{record.code}.pdf", **extra)


def _reused(archive: Archive, seen: scope.Scope, code: str, filed: set[str]) -> list[Document]:
    """The records reused into the dossier; the source dossier only when the viewer may be told it."""
    documents = []
    for record_id in sorted(archive.catalog.records_in_dossier(code) - filed):
        record, link = archive.catalog.record(record_id), archive.catalog.reuse_link(record_id, code)
        if record is None or link is None:
            continue
        source = record.dossier_code if record.dossier_code and scope.shows_dossier(seen, record.dossier_code) else None
        documents.append(_document(record, reused=True, from_dossier=source, from_agency=record.agency_code,
                                   reused_at=link.at, reused_by=link.by))
    documents.sort(key=lambda d: (str(d.reused_at or ""), d.record_id))  # ISO text: naive or aware alike
    return documents


def view(archive: Archive, index: SearchIndex, seen: scope.Scope, dossier_code: str,
         today: date | None = None) -> DossierView:
    """The dossier as `seen` may see it (404 outside it); the Kho crosses agencies for this dossier."""
    catalog = archive.catalog
    entry = entry_in_scope(catalog, seen, dossier_code)
    filed = catalog.records_of_dossier(entry.code)
    components = [_document(r) for r in filed if r.kind != "result"]
    results = [_document(r) for r in filed if r.kind == "result"]
    reused = _reused(archive, seen, entry.code, {r.id for r in filed})
    agencies, bound = scope.kho_agencies(catalog, seen, entry.owner_id, entry.code)
    have = {d.record_id for d in components + results + reused}
    types = {d.doc_type_code for d in components + reused if d.doc_type_code}
    lacking = [hit for hits in kho(index, entry.owner_id, today=today, agencies=agencies).values() for hit in hits
               if hit.record_id not in have and (hit.doc_type_code is None or hit.doc_type_code not in types)]
    tree = load_tree(catalog)
    agency = tree.agencies.get(entry.agency_code)
    shown = [d.record_id for d in components + results + reused] + [hit.record_id for hit in lacking]
    return DossierView(entry, agency.name if agency else "", components, results, reused, lacking,
                       bound is not None or seen.everything, shown)
