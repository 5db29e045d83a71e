"""The split stage's work: one scanned stack → the files and fields of the records it holds (issue #15).

The pages' codes are read (split/stack.py) and planned into documents (split/plan.py). A plan
of one document over every page, with no sheet, changes nothing: the file goes on as it came.
Otherwise each document is cut out of the stack into a file of its own (PDF pages copied as
they are, TIFF frames losslessly) that becomes that record's original, its record id derived from
the stack's SHA-256 and the page range, so a retried split makes the same records. The whole
stack, sheets included, is kept once, in the folder of the first document's record, and every
record's metadata names the stack and its page range.

Codes read off the pages never overrule staff: a dossier code on the pages that is not the one
given (flag, folder, sidecar), or two that disagree inside the stack, quarantine the file
(exit 22), and a document type typed by staff wins over a separator's or the receipt's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Collection, Final

from sohoa.core.errors import ExitCode, InputError, SohoaError
from sohoa.core.hashing import sha256_file
import sohoa
from sohoa.core.records import Event, record_id_for
from sohoa.ingest.base import Original, Quarantined, SourceRef
from sohoa.ingest.policy import IngestFields, quarantined
from sohoa.ocr import inputs
from sohoa.split.plan import RECEIPT_DOC_TYPE, Segment, SplitPlan
from sohoa.split.stack import StackReading, read_stack

RECEIPT_NAME: Final = "giấy tiếp nhận hồ sơ"


@dataclass
class Split:
    """The records a file holds: (original, fields) each; `trivial` when it is the file itself."""

    parts: list[tuple[Original, IngestFields]]
    reading: StackReading
    trivial: bool
    warnings: list[str] = field(default_factory=list)


def segment_record_id(stack_sha256: str, first: int, last: int) -> str:
    """Deterministic id of the record of pages first..last (0-based) of a stack."""
    return record_id_for(hashlib.sha256(f"{stack_sha256}:{first}-{last}".encode()).hexdigest())


def receipt_doc_type(type_names: dict[str, str]) -> str:
    """The catalogue's code for the one-stop receipt (GTN unless an admin's catalogue names another)."""
    if RECEIPT_DOC_TYPE in type_names:
        return RECEIPT_DOC_TYPE
    found = [code for code, name in type_names.items() if name.lower().startswith(RECEIPT_NAME)]
    return found[0] if found else RECEIPT_DOC_TYPE


def read(original: Original, max_pixels: int, max_pages: int | None, max_page_bytes: int | None,
         split_on_blank: bool, receipt_type: str) -> StackReading:
    document = inputs.inspect(original.path, max_pixels, max_pages, max_page_bytes)
    frames = document.frames or [None] * document.page_count
    if original.kind != "pdf" and document.frames is None:
        frames = list(range(document.page_count))
    return read_stack(original.path, original.kind, frames, split_on_blank, receipt_type)


def conflict(plan: SplitPlan, fields: IngestFields, agencies: Collection[str] | None = None) -> str | None:
    """Why the codes on the pages cannot be trusted with the fields given, if they cannot.

    `agencies` are those the given agency covers (itself and the agencies below it): a dossier
    read off a cover or receipt must be one of theirs, as a typed dossier must be, so a sheet
    printed for another agency never files a scan into that agency's dossier."""
    if plan.conflicts:
        return "; ".join(plan.conflicts)
    others = sorted(d for d in plan.dossiers if fields.dossier and d != fields.dossier)
    if others:
        return f"the pages carry dossier code {', '.join(others)}, not the {fields.dossier} given"
    if fields.agency and not fields.dossier:
        covered = set(agencies or ()) | {fields.agency}
        foreign = sorted(d for d in plan.dossiers if d.split("-")[0] not in covered)
        if foreign:
            return (f"the pages carry dossier code {', '.join(foreign)} of another agency than {fields.agency} "
                    "(the agency given)")
    return None


def fields_for(fields: IngestFields, segment: Segment) -> IngestFields:
    """The fields given, completed by what the sheets and the receipt say (never overruled by them)."""
    completed = replace(fields, dossier=fields.dossier or segment.dossier,
                        doc_type=fields.doc_type or segment.doc_type, is_validated=False)
    if completed.dossier and not fields.dossier and not fields.agency:
        completed = replace(completed, agency=None)  # follows from the dossier code read off the page
    return completed.validated()


def cut(original: Original, segment: Segment, work: Path) -> Path:
    """Pages first..last of the stack as a file of their own; the same bytes every time."""
    out = work / f"pages-{segment.first + 1:04d}-{segment.last + 1:04d}.{'pdf' if original.kind == 'pdf' else 'tiff'}"
    if original.kind == "pdf":
        _cut_pdf(original.path, segment, out)
    else:
        _cut_tiff(original.path, segment, out)
    return out


def _cut_pdf(path: Path, segment: Segment, out: Path) -> None:
    import pikepdf

    with pikepdf.open(path) as source, pikepdf.new() as part:
        for index in range(segment.first, segment.last + 1):
            part.pages.append(source.pages[index])
        part.remove_unreferenced_resources()
        part.save(out, deterministic_id=True)


def _cut_tiff(path: Path, segment: Segment, out: Path) -> None:
    """Frames copied losslessly: bilevel as CCITT G4, anything else deflated; resolution kept."""
    from PIL import Image

    with Image.open(path) as source:
        frames = []
        for index in range(segment.first, segment.last + 1):
            source.seek(index)
            frames.append(source.copy())
        dpi = source.info.get("dpi", (300, 300))
    bilevel = all(f.mode == "1" for f in frames)
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:], dpi=dpi,
                   compression="group4" if bilevel else "tiff_adobe_deflate")


def _notes(reading: StackReading, segment: Segment) -> tuple[str, ...]:
    """The warnings about the pages of one document (page numbers of the stack)."""
    return tuple(f"page {p.index + 1}: {w}" for p in reading.pages[segment.first:segment.last + 1]
                 for w in p.mark.warnings)


def _pages(indexes: tuple[int, ...]) -> str:
    return ", ".join(str(i + 1) for i in indexes) or "none"


def split_events(record_id: str, original: Original, agent: str) -> list[Event]:
    """The `split` event of a record cut out of a stack: which pages of which file, and the sheets
    around it (their page numbers are kept, though the sheets are not archived)."""
    source = original.source
    notes = [Event(record_id=record_id, action="codes", agent=agent, tool="sohoa.split", tool_version=sohoa.__version__,
                   detail=f"warning: {note}") for note in original.notes]
    if source is None:
        return notes
    kept = "this record's folder keeps the whole stack (object 'stack')" if source.keeps_stack \
        else f"record {source.stack_record} keeps the whole stack"
    detail = (f"pages {source.page_range} of {source.page_count} of {source.name} (sha256 {source.sha256})"
              f"{'; the one-stop receipt' if source.receipt else ''}; separator sheets next to it: pages "
              f"{_pages(source.separator_pages)}; sheets not archived: pages {_pages(source.skipped_pages)}; {kept}")
    return [Event(record_id=record_id, action="split", agent=agent, tool="sohoa.split",
                  tool_version=sohoa.__version__, detail=detail), *notes]


def _part(original: Original, segment: Segment, plan: SplitPlan, work: Path, notes: tuple[str, ...]) -> Original:
    path = cut(original, segment, work)
    sha256, size = sha256_file(path)
    source = SourceRef(
        sha256=original.sha256, name=original.name, size=original.size, path=str(original.path),
        first=segment.first, last=segment.last, page_count=plan.page_count,
        separator_pages=tuple(segment.separator_pages), skipped_pages=tuple(plan.skipped_pages),
        record_id=segment_record_id(original.sha256, segment.first, segment.last),
        keeps_stack=segment is plan.segments[0], receipt=segment.receipt,
        stack_record=segment_record_id(original.sha256, plan.segments[0].first, plan.segments[0].last),
    )
    name = f"{original.name} (trang {segment.page_range})"
    return Original(path, name, original.kind, sha256, size, source=source, notes=notes)


def split(original: Original, fields: IngestFields, reading: StackReading, work: Path,
          agencies: Collection[str] | None = None) -> Split | Quarantined:
    """The records of the stack `reading` describes; `work` receives the cut files. `agencies`:
    those the given agency covers (see `conflict`)."""
    plan = reading.plan
    problem = conflict(plan, fields, agencies)
    if problem:
        return quarantined(original.path, SohoaError(problem, ExitCode.CODE_CONFLICT))
    if not plan.segments:
        return quarantined(original.path, InputError(
            "no document in the file: every page is a cover, separator or blank sheet", ExitCode.NO_PAGES))
    try:
        if plan.trivial:
            noted = replace(original, notes=tuple(plan.warnings))
            return Split([(noted, fields_for(fields, plan.segments[0]))], reading, True, list(plan.warnings))
        parts = [(_part(original, s, plan, work, _notes(reading, s)), fields_for(fields, s)) for s in plan.segments]
    except SohoaError as error:
        return quarantined(original.path, error)
    return Split(parts, reading, False, list(plan.warnings))


__all__ = ["Split", "read", "receipt_doc_type", "segment_record_id", "split", "split_events"]
