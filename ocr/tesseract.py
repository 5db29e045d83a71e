"""Tesseract behind one small wrapper (tesserocr: in-process, no model reload per page).

Locates the tessdata directory, probes the version, and turns an OCR image into
`Word`s with boxes, baselines and confidences.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

from sohoa.core.errors import MissingDependency

if TYPE_CHECKING:
    import numpy as np

TESSDATA_CANDIDATES: Final = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word; box and baseline in OCR-image pixels (y down)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    baseline: float  # y of the baseline at x0
    line_top: float
    line_bottom: float
    confidence: float
    line_no: int


def tessdata_dir(configured: Path | None = None) -> Path:
    candidates = [str(configured)] if configured else []
    if os.environ.get("TESSDATA_PREFIX"):
        candidates.append(os.environ["TESSDATA_PREFIX"])
    candidates.extend(TESSDATA_CANDIDATES)
    for candidate in candidates:
        path = Path(candidate)
        if (path / "osd.traineddata").exists() or any(path.glob("*.traineddata")):
            return path
    raise MissingDependency(
        "Tesseract language data not found: install tesseract-ocr-vie (make install)"
    )


def languages(configured: Path | None = None) -> list[str]:
    return sorted(p.stem for p in tessdata_dir(configured).glob("*.traineddata"))


def check_language(lang: str, configured: Path | None = None) -> None:
    have = set(languages(configured))
    missing = [part for part in lang.split("+") if part not in have]
    if missing:
        raise MissingDependency(
            f"Tesseract language model {'+'.join(missing)!r} not installed "
            f"(have: {', '.join(sorted(have))})"
        )


@lru_cache(maxsize=1)
def version() -> str:
    import tesserocr

    return tesserocr.tesseract_version().split()[1]


class Recognizer:
    """One Tesseract engine per process; reuse it for every page the process handles."""

    def __init__(self, lang: str, tessdata: Path | None = None) -> None:
        import tesserocr

        self._tesserocr = tesserocr
        path = tessdata_dir(tessdata)
        check_language(lang, path)
        self.lang = lang
        self._api = tesserocr.PyTessBaseAPI(
            path=str(path) + "/", lang=lang, psm=tesserocr.PSM.AUTO, oem=tesserocr.OEM.LSTM_ONLY
        )
        self._osd: object | None = None
        self._path = path

    def recognize(self, image: np.ndarray, dpi: int) -> tuple[list[Word], str]:
        """OCR an 8-bit gray/binary image; returns words and the plain text (NFC)."""
        import numpy as np

        api = self._api
        height, width = image.shape[:2]
        api.SetImageBytes(np.ascontiguousarray(image).tobytes(), width, height, 1, width)
        api.SetSourceResolution(int(dpi))
        api.Recognize()
        words = list(self._iter_words())
        try:
            text = unicodedata.normalize("NFC", api.GetUTF8Text() or "")
        except RuntimeError:  # tesserocr's way of saying "no text on this page" (drawings, lines)
            text = ""
        api.Clear()
        return words, text

    def _iter_words(self):
        ril = self._tesserocr.RIL
        iterator = self._api.GetIterator()
        if iterator is None:
            return
        line_no = -1
        line_box = (0, 0, 0, 0)
        baseline = None
        while True:
            if iterator.IsAtBeginningOf(ril.TEXTLINE):
                line_no += 1
                line_box = iterator.BoundingBox(ril.TEXTLINE) or line_box
                baseline = iterator.Baseline(ril.TEXTLINE)
            try:
                text = iterator.GetUTF8Text(ril.WORD)
            except RuntimeError:  # an empty "word" (a ruled line, a box): nothing to place
                text = ""
            box = iterator.BoundingBox(ril.WORD)
            if text and text.strip() and box:
                x0, y0, x1, y1 = box
                yield Word(
                    text=unicodedata.normalize("NFC", text.strip()),
                    x0=x0, y0=y0, x1=x1, y1=y1,
                    baseline=_baseline_at(baseline, x0, y1),
                    line_top=line_box[1], line_bottom=line_box[3],
                    confidence=float(iterator.Confidence(ril.WORD)),
                    line_no=line_no,
                )
            if not iterator.Next(ril.WORD):
                break

    def detect_orientation(self, image: np.ndarray, dpi: int) -> tuple[int, float]:
        """Tesseract OSD: (clockwise correction in degrees, confidence). Slow: a fallback only."""
        import numpy as np

        tesserocr = self._tesserocr
        if self._osd is None:
            self._osd = tesserocr.PyTessBaseAPI(
                path=str(self._path) + "/", lang="osd", psm=tesserocr.PSM.OSD_ONLY
            )
        height, width = image.shape[:2]
        self._osd.SetImageBytes(np.ascontiguousarray(image).tobytes(), width, height, 1, width)
        self._osd.SetSourceResolution(int(dpi))
        result = self._osd.DetectOrientationScript()
        if not result:
            return 0, 0.0
        # OSD reports how the text is rotated; the correction is the opposite turn.
        return (360 - int(result["orient_deg"])) % 360, float(result["orient_conf"])


def _baseline_at(baseline, x: float, fallback: float) -> float:
    if not baseline:
        return float(fallback)
    (bx0, by0), (bx1, by1) = baseline
    if bx1 == bx0:
        return float(by0)
    return by0 + (by1 - by0) * (x - bx0) / (bx1 - bx0)
