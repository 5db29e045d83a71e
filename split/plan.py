"""From what each page of a scanned stack carries to the documents in it (issue #15).

Rules, page by page (0-based indexes; warnings count pages from 1):
- a sohoa cover sheet sets the dossier for the pages after it and is not archived;
- a sohoa separator sheet ends the current document and is not archived; its index is kept in
  `separator_pages` of the documents on both sides (so their events can name it);
- any other page whose code holds a valid dossier code (the one-stop receipt) sets the dossier, is a
  document of its own (type: the receipt's catalogue code, passed in), and the next page starts a
  new document;
- with `split_on_blank`, a blank page acts as a separator;
- a code that cannot be read, or that means nothing to sohoa, leaves the page an ordinary page of
  the current document, with a warning: no page is ever lost.
Two dossier codes that disagree inside one stack (a cover and a receipt) are a conflict the caller
must quarantine, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from sohoa.split.codes import PageMark

RECEIPT_DOC_TYPE: Final[str] = "GTN"  # Giấy tiếp nhận hồ sơ và hẹn trả kết quả


@dataclass(slots=True)
class Segment:
    """One document of the stack: pages first..last (0-based, inclusive)."""

    first: int
    last: int
    dossier: str | None = None
    doc_type: str | None = None
    receipt: bool = False
    separator_pages: list[int] = field(default_factory=list)

    @property
    def page_count(self) -> int:
        return self.last - self.first + 1

    @property
    def page_range(self) -> str:
        """1-based, as people count pages: "3-5" or "7"."""
        return f"{self.first + 1}" if self.first == self.last else f"{self.first + 1}-{self.last + 1}"


@dataclass(slots=True)
class SplitPlan:
    segments: list[Segment]
    skipped_pages: list[int]  # cover and separator sheets (and blank pages when splitting on them)
    warnings: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # dossier codes that disagree inside the stack
    page_count: int = 0

    @property
    def trivial(self) -> bool:
        """One document, every page, no sheet: the file is stored as it came, like any scan (a lone
        receipt page too: its code only fills in the dossier)."""
        return (len(self.segments) == 1 and not self.skipped_pages
                and self.segments[0].first == 0 and self.segments[0].last == self.page_count - 1)

    @property
    def dossiers(self) -> set[str]:
        return {s.dossier for s in self.segments if s.dossier}


@dataclass(slots=True)
class _State:
    plan: SplitPlan
    receipt_doc_type: str
    dossier: str | None = None
    dossier_from: str | None = None  # "cover" | "receipt": where the dossier in effect came from
    open: Segment | None = None
    doc_type: str | None = None  # announced by the last separator, for the next document
    pending_separators: list[int] = field(default_factory=list)

    def add_page(self, index: int) -> None:
        if self.open is None:
            self.open = Segment(index, index, self.dossier, self.doc_type,
                                separator_pages=list(self.pending_separators))
            self.doc_type, self.pending_separators = None, []
        self.open.last = index

    def close(self) -> None:
        if self.open is not None:
            self.plan.segments.append(self.open)
            self.open = None

    def separator(self, index: int, doc_type: str | None) -> None:
        if self.open is not None:
            self.open.separator_pages.append(index)
        elif self.plan.segments and self.plan.segments[-1].last < index and not self.pending_separators:
            self.plan.segments[-1].separator_pages.append(index)  # right after a receipt
        self.close()
        self.plan.skipped_pages.append(index)
        self.pending_separators.append(index)
        if doc_type:
            self.doc_type = doc_type

    def set_dossier(self, index: int, dossier: str, source: str) -> None:
        if self.dossier and dossier != self.dossier and self.dossier_from == "cover" and source == "receipt":
            self.plan.conflicts.append(
                f"page {index + 1}: the receipt's dossier {dossier} is not the cover's {self.dossier}")
        self.dossier, self.dossier_from = dossier, source


def plan_split(marks: list[PageMark], blanks: list[bool] | None = None, split_on_blank: bool = False,
               receipt_doc_type: str = RECEIPT_DOC_TYPE) -> SplitPlan:
    """The documents of a stack whose page i carries `marks[i]` (and is blank when `blanks[i]`)."""
    state = _State(SplitPlan([], [], page_count=len(marks)), receipt_doc_type)
    for index, mark in enumerate(marks):
        state.plan.warnings.extend(f"page {index + 1}: {w}" for w in mark.warnings)
        if mark.kind == "cover" and mark.dossier:
            state.close()
            state.set_dossier(index, mark.dossier, "cover")
            state.plan.skipped_pages.append(index)
        elif mark.kind == "separator":
            state.separator(index, mark.doc_type)
        elif mark.kind == "receipt" and mark.dossier:
            state.close()
            state.set_dossier(index, mark.dossier, "receipt")
            state.add_page(index)
            state.open.dossier, state.open.doc_type, state.open.receipt = mark.dossier, receipt_doc_type, True
            state.close()
        elif split_on_blank and blanks and blanks[index]:
            state.separator(index, None)
        else:
            state.add_page(index)
    state.close()
    if not state.plan.segments and marks:
        state.plan.warnings.append("no document: every page is a cover, separator or blank sheet")
    return state.plan
