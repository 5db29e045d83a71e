"""Read a whole scanned file page by page and plan its split: the `split` stage's work.

Each page is loaded once through the OCR loader (`ocr.inputs.load_page`: the embedded scan of a
PDF page or the TIFF frame, never a re-render when avoidable), its codes read on a downscaled
copy, and optionally its blankness measured on a 100 dpi copy. The result is typed and holds
no pixels, so it can cross between processes as JSON.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Final, Sequence

import cv2
import numpy as np

from sohoa.ocr import inputs
from sohoa.ocr.preprocess import BLANK_INK_RATIO, binarise, despeckle, estimate_background, normalise
from sohoa.split.codes import PageCode, PageMark, page_mark, read_codes
from sohoa.split.plan import RECEIPT_DOC_TYPE, SplitPlan, plan_split

BLANK_DPI: Final[int] = 100
BLANK_MARGIN: Final[float] = 0.06  # edges ignored when judging blankness (lid shadows, punch holes)


@dataclass(slots=True)
class PageScan:
    index: int
    codes: list[PageCode]
    mark: PageMark
    blank: bool = False


@dataclass(slots=True)
class StackReading:
    pages: list[PageScan]
    plan: SplitPlan
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _gray(pixels: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY) if pixels.ndim == 3 else pixels


def is_blank(pixels: np.ndarray, dpi: float) -> bool:
    """Almost no ink once the paper is flattened, the edges (shadows, holes) left out."""
    gray = _gray(pixels)
    factor = min(1.0, BLANK_DPI / dpi)
    small = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    h, w = small.shape
    dy, dx = int(h * BLANK_MARGIN), int(w * BLANK_MARGIN)
    small = np.ascontiguousarray(small[dy:h - dy, dx:w - dx])
    small_dpi = max(1, round(dpi * factor))
    ink = cv2.bitwise_not(despeckle(binarise(normalise(small, estimate_background(small, small_dpi))), small_dpi))
    return float(np.count_nonzero(ink)) / max(1, ink.size) < BLANK_INK_RATIO


def scan_page(path: Path, kind: str, index: int, frame: int | None = None, blank: bool = False) -> PageScan:
    page = inputs.load_page(path, kind, index, frame)
    codes = read_codes(page.pixels)
    mark = page_mark(codes)
    return PageScan(index, codes, mark, blank=bool(blank and not codes and is_blank(page.pixels, page.dpi)))


def read_stack(path: Path, kind: str, frames: Sequence[int | None], split_on_blank: bool = False,
               receipt_doc_type: str = RECEIPT_DOC_TYPE) -> StackReading:
    """The codes of every page of `path` (`frames[i]` = frame of page i, None for PDFs) and the split plan."""
    started = time.perf_counter()
    try:
        pages = [scan_page(path, kind, i, frame, blank=split_on_blank) for i, frame in enumerate(frames)]
    finally:
        inputs.release()
    plan = plan_split([p.mark for p in pages], [p.blank for p in pages], split_on_blank, receipt_doc_type)
    return StackReading(pages, plan, time.perf_counter() - started)
