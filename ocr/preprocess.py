"""OpenCV preprocessing of the OCR copy of a page (never of the stored page image).

Order: stamp-suppressing gray → illumination normalisation → orientation →
deskew → (upscale of low-dpi scans) → binarisation → despeckle → the gray
strokes kept where the cleaned binary has ink, everything else white.
Analysis (orientation, skew, blank) runs on a small copy at `ANALYSIS_DPI`
so it costs milliseconds, not seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np

ANALYSIS_DPI: Final[int] = 150
OCR_MIN_DPI: Final[int] = 300  # Tesseract's LSTM wants x-heights near 300 dpi sizes
MAX_SKEW_DEG: Final[float] = 5.0
BLANK_INK_RATIO: Final[float] = 0.0008  # share of ink pixels under which a page is blank
ORIENTATION_MARGIN: Final[float] = 1.12
MIN_TEXT_LINES: Final[int] = 3  # fewer lines are no evidence of orientation
MAX_OCR_PIXELS: Final[int] = 60_000_000  # caps the upscaled OCR copy (memory per worker)
# A page above this is read from a reduced copy (an A3 page at 600 dpi is read at ~350 dpi, an A4 page at 600 dpi at ~500 dpi): the OCR
# copies then cost the same on any page, and the archival image is never touched.
MAX_OCR_SOURCE_PIXELS: Final[int] = 24_000_000
INK_MAX_LEVEL: Final[int] = 200  # normalised gray above this is paper, whatever Otsu says  # ascender/descender ratio needed to decide 0 vs 180


@dataclass(slots=True)
class Prepared:
    """The OCR image: the page upright, straightened and scaled to `dpi`."""

    image: np.ndarray  # uint8 gray, paper pure white; upright, deskewed, maybe upscaled
    dpi: int | float  # resolution of `image` (fractional when a huge page was reduced)
    rotation: int  # clockwise degrees applied to the source to make it upright
    rotation_certain: bool
    skew: float  # degrees the content was rotated counter-clockwise on the paper
    blank: bool
    ink_ratio: float


def ocr_gray(pixels: np.ndarray) -> np.ndarray:
    """Gray image in which coloured ink (red/blue seals, signatures) fades to paper.

    The brightest channel of a red or blue pixel is bright, while black or dark
    gray print stays dark in every channel, so max(R, G, B) keeps the text and
    drops the stamp over it.
    """
    if pixels.ndim == 2:
        return pixels
    # In bands of rows: three full-page channel planes beside the page cost as much as the page.
    gray = np.empty(pixels.shape[:2], np.uint8)
    band = max(1, (4 << 20) // max(1, pixels.shape[1]))
    for top in range(0, pixels.shape[0], band):
        red, green, blue = cv2.split(pixels[top:top + band])  # numpy's max(axis=2) is ~30x slower here
        cv2.max(cv2.max(red, green), blue, dst=gray[top:top + band])
    return gray


def estimate_background(gray_small: np.ndarray, dpi: int) -> np.ndarray:
    """Paper brightness everywhere: a max filter wider than strokes, then smoothed."""
    kernel = max(3, int(round(dpi / 20)) | 1)  # ~1.3 mm: wider than any text stroke
    bg = cv2.dilate(gray_small, cv2.getStructuringElement(cv2.MORPH_RECT, (kernel, kernel)))
    bg = cv2.medianBlur(bg, max(3, (kernel * 3) | 1))
    return np.maximum(bg, 1)


def normalise(gray: np.ndarray, background_small: np.ndarray) -> np.ndarray:
    bg = cv2.resize(background_small, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(gray, bg, scale=255)


def binarise(norm: np.ndarray) -> np.ndarray:
    """Otsu on the normalised image: uneven light is gone, so one threshold fits the page.

    Capped at INK_MAX_LEVEL: on a blank page Otsu would split paper noise.
    """
    otsu, _ = cv2.threshold(norm, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    _, binary = cv2.threshold(norm, min(otsu, INK_MAX_LEVEL), 255, cv2.THRESH_BINARY)
    return binary


def despeckle(binary: np.ndarray, dpi: int, in_place: bool = False) -> np.ndarray:
    """Drop specks smaller than a Vietnamese dot-below and blobs touching the paper edge.

    `in_place`: `binary` itself is cleaned and returned (no full-page copies beside the labels,
    which take 4 bytes a pixel)."""
    if in_place:
        ink = cv2.bitwise_not(binary, dst=binary)  # turned back below
    else:
        ink = cv2.bitwise_not(binary)
    try:  # 2-byte labels: half the memory of the page's largest array, unless a page has > 65535 blobs
        count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8, ltype=cv2.CV_16U)
    except cv2.error:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8, ltype=cv2.CV_32S)
    if in_place:
        cv2.bitwise_not(binary, dst=binary)
    del ink
    if count <= 1:
        return binary
    min_area = max(2, int(6 * (dpi / 300) ** 2))
    h, w = binary.shape
    x, y, bw, bh, area = (stats[:, i] for i in range(5))
    touches_edge = (x == 0) | (y == 0) | (x + bw >= w) | (y + bh >= h)
    drop = (area < min_area) | touches_edge
    drop[0] = False
    if not drop.any():
        return binary
    cleaned = binary if in_place else binary.copy()
    band = max(1, (4 << 20) // max(1, w))
    for top in range(0, h, band):  # a band's mask at a time, not a full-page one
        rows = cleaned[top:top + band]
        rows[drop[labels[top:top + band]]] = 255
    return cleaned


def _ascender_ratio(ink: np.ndarray) -> tuple[float, int]:
    """(ink above the x-height band ÷ ink below the baseline, number of text lines).

    Upright Latin text, and Vietnamese even more with its stacked tone marks,
    carries more ink above the core band than below it; upside down it flips.
    """
    rows = ink.sum(axis=1, dtype=np.float64)
    if rows.max() <= 0:
        return 1.0, 0
    in_line = rows > 0.05 * rows.max()
    above = below = 1.0
    lines = 0
    start = None
    for i, flag in enumerate(np.append(in_line, False)):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            line = rows[start:i]
            if len(line) >= 4:
                core = np.nonzero(line >= 0.5 * line.max())[0]
                above += line[: core[0]].sum()
                below += line[core[-1] + 1 :].sum()
                lines += 1
            start = None
    return above / below, lines


def _skew_search(ink: np.ndarray, max_deg: float) -> tuple[float, float]:
    """(angle, sharpness) of the text-line direction nearest horizontal.

    Instead of rotating the image per candidate angle we shear the ink pixel
    coordinates and histogram them: same answer, a hundred times cheaper.
    A line rotated counter-clockwise by `deg` has y = y0 - x*tan(deg).
    """
    ys, xs = np.nonzero(ink)
    if len(xs) < 50:
        return 0.0, 0.0
    if len(xs) > 60_000:
        pick = np.random.default_rng(0).choice(len(xs), 60_000, replace=False)
        ys, xs = ys[pick], xs[pick]
    xs = xs.astype(np.float64) - ink.shape[1] / 2
    ys = ys.astype(np.float64) + ink.shape[1] * np.tan(np.radians(max_deg))
    # 1-pixel bins: finer bins alias at 0 degrees, where every sample is an integer row.
    bins = int(ys.max() + ink.shape[1] * np.tan(np.radians(max_deg))) + 2

    def score(deg: float) -> float:
        shifted = ys + xs * np.tan(np.radians(deg))
        hist = np.bincount(np.clip(shifted.astype(np.int64), 0, bins - 1), minlength=bins)
        return float(np.square(hist.astype(np.float64)).sum())

    coarse = np.arange(-max_deg, max_deg + 1e-9, 0.25)
    best = max(coarse, key=score)
    fine = np.arange(best - 0.25, best + 0.25 + 1e-9, 0.025)
    angle = max(fine, key=score)
    return round(float(angle), 2), score(angle)


def rotate_small(image: np.ndarray, degrees_ccw: float) -> np.ndarray:
    h, w = image.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees_ccw, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)


def detect_orientation_and_skew(ink_small: np.ndarray) -> tuple[int, bool, float]:
    """(clockwise correction 0/90/180/270, evidence clear?, skew in degrees CCW).

    Text lines are sharper along their own direction, so the axis is whichever
    of the two skew searches peaks higher; 0 vs 180 then comes from the
    ascender/descender asymmetry of the deskewed lines.
    """
    skew_h, sharp_h = _skew_search(ink_small, MAX_SKEW_DEG)
    turned = np.ascontiguousarray(np.rot90(ink_small, -1))  # clockwise 90
    skew_v, sharp_v = _skew_search(turned, MAX_SKEW_DEG)
    base, skew, upright = (90, skew_v, turned) if sharp_v > sharp_h else (0, skew_h, ink_small)
    ratio, lines = _ascender_ratio(rotate_small(upright, -skew) if skew else upright)
    certain = lines >= MIN_TEXT_LINES and (ratio >= ORIENTATION_MARGIN or ratio <= 1 / ORIENTATION_MARGIN)
    return (base if ratio >= 1 else (base + 180) % 360), certain, skew


def _within_ocr_budget(pixels: np.ndarray, dpi: int) -> tuple[np.ndarray, int | float]:
    """The page itself, or a copy reduced to MAX_OCR_SOURCE_PIXELS with its (fractional) dpi."""
    height, width = pixels.shape[:2]
    if width * height <= MAX_OCR_SOURCE_PIXELS:
        return pixels, dpi
    factor = (MAX_OCR_SOURCE_PIXELS / (width * height)) ** 0.5
    size = (max(1, int(width * factor)), max(1, int(height * factor)))
    reduced = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    return reduced, dpi * size[0] / width


def ocr_source(pixels: np.ndarray, dpi: float) -> tuple[np.ndarray, float]:
    """The gray copy OCR works from (stamps faded, reduced to the OCR budget) and its dpi.

    The caller can drop the page's pixels after this (ocr/page.py does): `prepare_gray` then
    never holds them beside its own full-page arrays."""
    pixels, dpi = _within_ocr_budget(pixels, dpi)
    return ocr_gray(pixels), dpi


def prepare(pixels: np.ndarray, dpi: int, osd=None) -> Prepared:
    """Build the OCR image of one page.

    `osd(gray, dpi) -> (rotation, confidence)` is consulted only when the cheap
    orientation evidence is unclear.
    """
    gray, dpi = ocr_source(pixels, dpi)
    return _prepare([gray], dpi, osd)


def prepare_page(page, dpi: float, osd=None) -> Prepared:
    """`prepare` of `page.pixels`, which it takes (`page.pixels` is None after): the decoded page
    goes once its gray copy is made, and that copy once it is normalised."""
    gray, dpi = ocr_source(page.pixels, dpi)
    page.pixels = None
    return _prepare([gray], dpi, osd)


def prepare_gray(gray: np.ndarray, dpi: float, osd=None) -> Prepared:
    """`prepare` from the OCR source `ocr_source` made."""
    return _prepare([gray], dpi, osd)


def _prepare(source: list[np.ndarray], dpi: float, osd=None) -> Prepared:
    """`source` holds the only reference to the gray page, so it is freed as soon as it is used.
    Other full-page temporaries go as soon as they are used too, and the binary images are
    cleaned in place: on an A3 page at 300 dpi (17 megapixels) the peak is the normalised page,
    one binary image and the labels of its connected components (4 bytes a pixel)."""
    gray = source.pop()
    factor = min(1.0, ANALYSIS_DPI / dpi)
    small = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    small_dpi = max(1, int(round(dpi * factor)))
    bg_small = estimate_background(small, small_dpi)
    ink_small = cv2.bitwise_not(despeckle(binarise(normalise(small, bg_small)), small_dpi))
    ink_ratio = float(np.count_nonzero(ink_small)) / ink_small.size

    blank = ink_ratio < BLANK_INK_RATIO
    rotation, certain, skew = (0, True, 0.0) if blank else detect_orientation_and_skew(ink_small)
    if not certain and osd is not None:
        osd_rotation, confidence = osd(small, small_dpi)
        if confidence >= 1.0:
            if (osd_rotation - rotation) % 180:  # OSD disagrees on the axis: skew is unknown
                skew = 0.0
            rotation, certain = osd_rotation, True
    if not certain:  # no evidence: leave the page as it was scanned
        if rotation % 180:
            skew = 0.0  # measured along the other axis
        rotation = 0
    turns = -rotation // 90  # np.rot90 turns counter-clockwise
    del small, ink_small

    norm = np.rot90(normalise(gray, bg_small), turns)
    del gray  # this frame's reference: the caller's, if any, is its own
    upright_h, upright_w = norm.shape
    scale = max(1.0, OCR_MIN_DPI / dpi) if dpi < OCR_MIN_DPI * 0.9 else 1.0
    scale = max(1.0, min(scale, (MAX_OCR_PIXELS / (upright_w * upright_h)) ** 0.5))
    out_w, out_h = int(round(upright_w * scale)), int(round(upright_h * scale))
    # One affine: scale, then rotate by -skew around the centre (straightens the lines).
    forward = cv2.getRotationMatrix2D((out_w / 2, out_h / 2), -skew, 1.0)
    forward = forward @ np.array([[scale, 0, 0], [0, scale, 0], [0, 0, 1]], dtype=np.float64)
    if skew or scale != 1.0:
        norm = cv2.warpAffine(
            np.ascontiguousarray(norm), forward, (out_w, out_h),
            flags=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=255,
        )
    ocr_dpi = dpi * scale if isinstance(dpi, float) else int(round(dpi * scale))
    norm = np.ascontiguousarray(norm)
    ink = despeckle(binarise(norm), ocr_dpi, in_place=True)
    cv2.bitwise_not(ink, dst=ink)
    # Tesseract's LSTM reads gray better than hard black/white: keep the gray
    # strokes (anti-aliasing, thin photocopied serifs) and whiten only the
    # paper, specks and edge blobs.
    near_ink = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    del ink
    norm[near_ink == 0] = 255  # the OCR image: norm where there is ink nearby, white elsewhere
    return Prepared(
        image=norm,
        dpi=ocr_dpi,
        rotation=rotation,
        rotation_certain=certain,
        skew=skew,
        blank=blank,
        ink_ratio=round(ink_ratio, 5),
    )
