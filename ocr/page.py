"""One page through the OCR stages: load → orient/preprocess → recognise → place → encode.

Runs inside a worker process; everything it returns is compressed (image
stream bytes and word positions), so the parent never holds raw pages.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sohoa.ocr import images, inputs, preprocess, timing
from sohoa.ocr.images import EncodedImage
from sohoa.ocr.pdfa import image_matrix
from sohoa.ocr.report import PageReport
from sohoa.ocr.tesseract import Recognizer, Word
from sohoa.ocr.textlayer import PlacedWord
from sohoa.ocr.sniff import Kind


@dataclass(slots=True)
class PageTask:
    path: Path
    kind: Kind
    index: int
    frame: int | None = None  # image frame holding this page (multi-frame images)


@dataclass(slots=True)
class PageOutcome:
    width_pt: float  # upright page size
    height_pt: float
    image: EncodedImage
    image_cm: list[float]
    words: list[PlacedWord]
    text: str
    report: PageReport
    word_boxes: list[dict] = field(default_factory=list)  # for text sidecars and the archive


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(self.seconds.get(stage, 0.0) + now - self._last, 4)
        self._last = now


def process_page(task: PageTask, recognizer: Recognizer) -> PageOutcome:
    clock = _Clock()
    if task.index == 0:
        timing.stamp("page-1")
    page = inputs.load_page(task.path, task.kind, task.index, task.frame,
                            reduce_above=preprocess.MAX_OCR_SOURCE_PIXELS)
    clock.lap("load")
    report = PageReport(
        number=task.index + 1, mode=page.mode, source_dpi=round(page.dpi, 2),
        width_pt=round(page.width_pt, 2), height_pt=round(page.height_pt, 2),
        warnings=list(page.warnings), worker=os.getpid(),
    )
    if page.words is not None:
        return _born_digital(page, report, clock)

    # The archival image first: then the decoded page can go before Tesseract runs (a worker holds
    # one full page and the reduced OCR copies, never both with Tesseract's own buffers).
    encoded = page.passthrough or images.encode(page.pixels, page.mode)
    _describe_image(report, encoded)
    clock.lap("encode")
    dpi = int(round(page.dpi)) if page.pixel_scale == 1 else page.dpi * page.pixel_scale
    prepared = preprocess.prepare_page(page, dpi, osd=recognizer.detect_orientation)  # takes page.pixels
    # Plain Python values (OpenCV hands back numpy scalars): the report travels as JSON.
    report.rotation, report.rotation_certain = int(prepared.rotation), bool(prepared.rotation_certain)
    report.skew_deg, report.blank = float(prepared.skew), bool(prepared.blank)
    clock.lap("preprocess")

    words: list[Word] = []
    text = ""
    if not prepared.blank:
        if task.index == 0:
            timing.stamp("page-1-ocr")
        words, text = recognizer.recognize(prepared.image, prepared.dpi)
        report.ocr = True
        clock.lap("ocr")
    report.text_source = "ocr" if report.ocr else "none"
    report.words = len(words)
    report.characters = sum(len(w.text) for w in words)
    if words:
        report.confidence = round(float(np.mean([w.confidence for w in words])), 2)

    if not words and (prepared.rotation or prepared.skew):
        # No text read: nothing proves the turn was right, so the page stays as scanned.
        report.warnings.append(f"no text found: rotation {prepared.rotation} and skew {prepared.skew} not applied")
        prepared.rotation, prepared.skew = 0, 0.0
        report.rotation, report.skew_deg, report.rotation_certain = 0, 0.0, False
    width_pt, height_pt = page.width_pt, page.height_pt
    if prepared.rotation in (90, 270):
        width_pt, height_pt = height_pt, width_pt
    placed, boxes = _place_ocr_words(words, prepared, height_pt)
    report.seconds = clock.seconds
    return PageOutcome(
        width_pt, height_pt, encoded,
        image_matrix(prepared.rotation, page.width_pt, page.height_pt, prepared.skew),
        placed, text.strip(), report, boxes,
    )


def _describe_image(report: PageReport, encoded: EncodedImage) -> None:
    kind = {"DCTDecode": "JPEG", "CCITTFaxDecode": "CCITT G4"}.get(encoded.filter, encoded.filter)
    report.image = f"{kind} {encoded.colorspace[6:].lower()}" + (" passthrough" if encoded.passthrough else "")
    report.image_bytes = len(encoded.data)


def _place_ocr_words(
    words: list[Word], prepared: preprocess.Prepared, height_pt: float
) -> tuple[list[PlacedWord], list[dict]]:
    """Map words from the OCR image onto the page, in points.

    The page shows the image straightened (see pdfa.image_matrix), exactly as
    the OCR image is, so only the scale differs: words stay horizontal and
    text extraction reads them in order.
    """
    to_pt = 72.0 / prepared.dpi
    placed: list[PlacedWord] = []
    boxes: list[dict] = []
    for i, word in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else None
        same_line = nxt is not None and nxt.line_no == word.line_no and nxt.x0 > word.x0
        span = (nxt.x0 - word.x0) if same_line else (word.x1 - word.x0)
        placed.append(PlacedWord(
            text=word.text + (" " if same_line else ""),
            x=word.x0 * to_pt, y=height_pt - word.baseline * to_pt,
            width=max(span, 1) * to_pt, size=round(max(1.0, (word.line_bottom - word.line_top) * to_pt), 2),
        ))
        boxes.append({
            "text": word.text, "line": word.line_no, "confidence": round(word.confidence, 1),
            "box_pt": [round(v * to_pt, 2) for v in (word.x0, word.y0, word.x1, word.y1)],
        })
    return placed, boxes


def _born_digital(page: inputs.SourcePage, report: PageReport, clock: _Clock) -> PageOutcome:
    """Keep the text the PDF already has; only the archival image is made."""
    words = page.words or []
    placed: list[PlacedWord] = []
    boxes: list[dict] = []
    lines: list[list[str]] = []
    last_bottom = None
    for i, word in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else None
        same_line = nxt is not None and abs(nxt.bottom - word.bottom) < 2 and nxt.x0 > word.x0
        if last_bottom is None or abs(word.bottom - last_bottom) >= 2:
            lines.append([])
        lines[-1].append(word.text)
        last_bottom = word.bottom
        size = max(1.0, word.bottom - word.top)
        placed.append(PlacedWord(
            text=word.text + (" " if same_line else ""),
            x=word.x0, y=page.height_pt - word.bottom + 0.2 * size,
            width=max((nxt.x0 if same_line else word.x1) - word.x0, 0.5), size=round(size, 2),
        ))
        boxes.append({"text": word.text, "line": len(lines) - 1, "confidence": 100.0,
                      "box_pt": [round(v, 2) for v in (word.x0, word.top, word.x1, word.bottom)]})
    report.text_source = "pdf"
    report.words = len(words)
    report.characters = sum(len(w.text) for w in words)
    encoded = images.encode(page.pixels, page.mode)
    _describe_image(report, encoded)
    clock.lap("encode")
    report.seconds = clock.seconds
    text = "\n".join(" ".join(line) for line in lines)
    return PageOutcome(
        page.width_pt, page.height_pt, encoded, image_matrix(0, page.width_pt, page.height_pt),
        placed, text, report, boxes,
    )
