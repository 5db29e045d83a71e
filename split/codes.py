"""Codes on a page image: read QR, Code 128 and Code 39, and say what they mean to sohoa.

`read_codes` decodes a downscaled grayscale copy of the page (a few milliseconds) and only when
that finds nothing goes to full resolution, then to a coarser copy. zxing-cpp finds codes in any orientation, so skewed and upside-down
pages need no extra pass. `page_mark` turns the decoded texts into what the splitter needs:
a sohoa cover sheet, a separator sheet, a one-stop receipt holding a dossier code, or nothing.

Payloads printed by `sohoa sheets` (versioned so a later format can coexist):
  SOHOA1:COVER:<dossier code>        cover sheet: the pages after it belong to that dossier
  SOHOA1:SEP  /  SOHOA1:SEP:<type>   separator sheet: a new document starts (optionally of that type)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import cv2
import numpy as np
import zxingcpp
from PIL import Image

from sohoa.core.codes import dossier_code
from sohoa.core.errors import InvalidCode

MAX_SIDE: Final[int] = 1600  # long side of the copy decoded first
COARSE_SIDE: Final[int] = 1000  # long side of the last try
FULL_RES_BELOW: Final[float] = 0.6  # full resolution is tried only when the first copy was this much smaller
PREFIX: Final[str] = "SOHOA1"
COVER: Final[str] = f"{PREFIX}:COVER:"
SEPARATOR: Final[str] = f"{PREFIX}:SEP"
FORMATS: Final = zxingcpp.barcode_formats_from_str("QRCode,Code128,Code39")
FORMAT_NAMES: Final[dict[str, str]] = {"QRCode": "qr", "Code128": "code128", "Code39": "code39"}
DOSSIER_IN_TEXT: Final = re.compile(r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[0-9A-Z]{3}-\d{6}-\d{4}", re.I)
DOC_TYPE_RE: Final = re.compile(r"^[0-9A-Z][0-9A-Z._-]{0,31}$")

MarkKind = Literal["cover", "separator", "receipt"]


@dataclass(frozen=True, slots=True)
class PageCode:
    """One symbol on the page; box (x0, y0, x1, y1) in pixels of the image given."""

    format: str  # qr | code128 | code39
    text: str
    box: tuple[int, int, int, int]
    error: str | None = None  # set when a symbol was found but could not be decoded


@dataclass(frozen=True, slots=True)
class PageMark:
    """What a page's codes mean for splitting; `kind` None = an ordinary page."""

    kind: MarkKind | None = None
    dossier: str | None = None
    doc_type: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------- decoding


def _gray(image: np.ndarray | Image.Image) -> np.ndarray:
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("L"))
    if image.ndim == 3:
        image = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    return np.ascontiguousarray(image, dtype=np.uint8)


def _downscaled(gray: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    scale = max_side / max(gray.shape[:2])
    if scale >= 1.0:
        return gray, 1.0
    size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), scale


def _box(position, scale: float) -> tuple[int, int, int, int]:
    points = [position.top_left, position.top_right, position.bottom_right, position.bottom_left]
    xs, ys = [p.x / scale for p in points], [p.y / scale for p in points]
    return (round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys)))


def _decode(gray: np.ndarray, scale: float) -> list[PageCode]:
    found = zxingcpp.read_barcodes(gray, formats=FORMATS, return_errors=True)
    codes = []
    for symbol in found:
        error = str(symbol.error) if not symbol.valid else None
        name = FORMAT_NAMES.get(symbol.format.name, symbol.format.name.lower())
        codes.append(PageCode(name, symbol.text if error is None else "", _box(symbol.position, scale), error))
    return codes


def _merge(codes: list[PageCode]) -> list[PageCode]:
    """Decoded symbols once each; a failed one only if no decoded symbol covers the same spot."""
    good: dict[tuple[str, str], PageCode] = {}
    for code in codes:
        if code.error is None:
            good.setdefault((code.format, code.text), code)
    failed = [c for c in codes if c.error is not None and not any(_overlap(c.box, g.box) for g in good.values())]
    return list(good.values()) + failed[:1]


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def read_codes(image: np.ndarray | Image.Image, max_side: int = MAX_SIDE) -> list[PageCode]:
    """Every QR / Code 128 / Code 39 on the page, decoded ones first.

    First a copy whose long side is at most `max_side` (a few milliseconds); only when that
    decodes nothing, the full-resolution page (of a 300+ dpi scan: small symbols) and a coarser
    copy (photocopy speckle breaks finder patterns at full size) are tried, so a damaged symbol
    is at least seen.
    """
    gray = _gray(image)
    codes: list[PageCode] = []
    for attempt, scale in _attempts(gray, max_side):
        codes += _decode(attempt, scale)
        if any(c.error is None for c in codes):
            break
    return _merge(codes)


def _attempts(gray: np.ndarray, max_side: int):
    small, scale = _downscaled(gray, max_side)
    yield small, scale
    if scale < FULL_RES_BELOW:  # a 300+ dpi page: a small receipt QR may need every pixel
        yield gray, 1.0
    coarse, factor = _downscaled(small, COARSE_SIDE)  # from the small copy: a quarter of the work
    yield coarse, scale * factor


# ---------------------------------------------------------------- meaning


def dossier_in(text: str) -> str | None:
    """The valid dossier code a receipt's symbol holds: the whole text, or inside a URL's path or query."""
    text = text.strip()
    try:
        return dossier_code(text)
    except InvalidCode:
        pass
    if not re.match(r"^https?://", text, re.I):
        return None
    parts = urlsplit(text)
    pieces = [unquote(p) for p in parts.path.split("/")] + [v for _, v in parse_qsl(parts.query)]
    pieces.append(unquote(parts.fragment))
    found = set()
    for piece in pieces:
        for candidate in DOSSIER_IN_TEXT.findall(piece):
            try:
                found.add(dossier_code(candidate))
            except InvalidCode:
                continue
    return found.pop() if len(found) == 1 else None


def _sohoa_mark(text: str) -> PageMark:
    if text.startswith(COVER):
        try:
            return PageMark("cover", dossier=dossier_code(text[len(COVER):]))
        except InvalidCode as exc:
            return PageMark(warnings=(f"cover sheet with an invalid dossier code: {exc.message}",))
    if text == SEPARATOR:
        return PageMark("separator")
    if text.startswith(SEPARATOR + ":"):
        doc_type = text[len(SEPARATOR) + 1:].strip().upper()
        if DOC_TYPE_RE.match(doc_type):
            return PageMark("separator", doc_type=doc_type)
        return PageMark("separator", warnings=(f"separator sheet with an invalid document type {doc_type!r}",))
    return PageMark(warnings=(f"unknown sohoa sheet {text[:40]!r} (printed by a newer version?)",))


def page_mark(codes: list[PageCode]) -> PageMark:
    """A sohoa sheet wins over anything else on the page; then a receipt's dossier code.

    Two different dossier codes on one page, or a symbol that could not be decoded and nothing
    else, give an ordinary page with a warning: the splitter never guesses.
    """
    texts = [c.text.strip() for c in codes if c.error is None]
    marks = {_sohoa_mark(t) for t in texts if t.upper().startswith(PREFIX + ":")}
    if len(marks) == 1:
        return marks.pop()
    if len(marks) > 1:
        return PageMark(warnings=("two different sohoa sheets on one page: ignored",))
    dossiers = {d for d in (dossier_in(t) for t in texts) if d}
    if len(dossiers) == 1:
        return PageMark("receipt", dossier=dossiers.pop())
    if len(dossiers) > 1:
        return PageMark(warnings=(f"different dossier codes on one page ({', '.join(sorted(dossiers))}): ignored",))
    if any(c.error for c in codes) and not texts:
        return PageMark(warnings=("a code was found but could not be read",))
    return PageMark()
