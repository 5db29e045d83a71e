"""Page layout shared by the raster renderer and the born-digital PDF writer.

A `DocText` carries only lines, so the style of each line is inferred from
its content: the national motto and the title are centred and bold, the
place-and-date line is right-aligned, and a signature role (see
`vietnamese.SIGNATURE_ROLES`) starts a right-hand signature block whose second
line, the signer's name, sits below a gap left for the hand signature.
Keeping this in one place means a scan and a text PDF of the same `DocText`
look alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from .fonts import bold_font_path, font_path, has_true_bold
from .vietnamese import MOTTO, MOTTO_SUB, SIGNATURE_ROLES, DocText

# Margins in mm (Vietnamese decree 30/2020 asks for 20-25 mm top/bottom and
# 30-35 mm left; 25 mm left keeps long lines comfortably inside the page).
MARGIN_LEFT_MM = 25.0
MARGIN_RIGHT_MM = 20.0
MARGIN_TOP_MM = 20.0
MARGIN_BOTTOM_MM = 20.0

LINE_SPACING = 1.5  # line pitch as a multiple of the point size
TITLE_SCALE = 1.3
SIGNATURE_GAP = 3.0  # body line pitches left blank for the hand signature
SIGNATURE_CENTRE = 0.73  # centre of the signature column, as a share of the text width
SIGNATURE_WIDTH = 0.45  # widest signature line, as a share of the text width

_DATE_LINE = re.compile(r", ngày \d{1,2} tháng \d{1,2} năm \d{4}$")


@dataclass(frozen=True)
class LineStyle:
    """How one line is set: alignment, weight, size and the space above it."""

    align: str  # "left" | "center" | "right" | "signature"
    bold: bool = False
    scale: float = 1.0  # font size relative to the body size
    space_before: float = 0.0  # extra space above, in body line pitches


@dataclass(frozen=True)
class LineBox:
    """Pixel bounding box of a rendered line (x0, y0 inclusive; x1, y1 exclusive)."""

    index: int
    text: str
    x0: int
    y0: int
    x1: int
    y1: int


def line_styles(doc: DocText) -> list[LineStyle]:
    """Infer the style of every line of `doc` (see the module docstring)."""
    styles: list[LineStyle] = []
    after_title = after_role = False
    for i, line in enumerate(doc.lines):
        if line in (MOTTO, MOTTO_SUB):
            style = LineStyle("center", bold=True)
        elif line == doc.title:
            style = LineStyle("center", bold=True, scale=TITLE_SCALE, space_before=0.8)
        elif _DATE_LINE.search(line):
            style = LineStyle("right")
        elif line in SIGNATURE_ROLES and i >= len(doc.lines) - 3:
            style = LineStyle("signature", bold=True, space_before=0.8)
        elif after_role:
            style = LineStyle("signature", bold=True, space_before=SIGNATURE_GAP)
        else:
            space = 0.0
            if after_title:
                space = 0.3
            elif i > 0 and doc.lines[i - 1] == MOTTO_SUB:
                space = 0.6  # the agency block sits below the motto
            style = LineStyle("left", space_before=space)
        after_title = line == doc.title
        after_role = style.align == "signature" and not after_role and line in SIGNATURE_ROLES
        styles.append(style)
    return styles


@lru_cache(maxsize=256)
def _font(name: str, bold: bool, size_px: int) -> ImageFont.FreeTypeFont:
    path = bold_font_path(name) if bold else font_path(name)
    return ImageFont.truetype(path, size=max(size_px, 4))


def align_x(align: str, left: float, right: float, signature_centre: float, width: float) -> float:
    """Left edge of a line of `width` for an alignment; shared by the raster and PDF writers."""
    if align == "center":
        return left + (right - left - width) / 2
    if align == "right":
        return right - width
    if align == "signature":
        return signature_centre - width / 2
    return float(left)


def mm_to_px(mm: float, dpi: int) -> int:
    return round(mm / 25.4 * dpi)


def render_layout(
    doc: DocText,
    font: str = "LiberationSerif",
    dpi: int = 300,
    size_mm: tuple[float, float] = (210, 297),
    point_size: float = 12,
) -> tuple[Image.Image, list[LineBox]]:
    """Render `doc` black on white as an "L" image and return the line boxes.

    If the text would not fit (very long lines or many lines) every size is
    scaled down uniformly rather than letting text run off the page.
    """
    width, height = mm_to_px(size_mm[0], dpi), mm_to_px(size_mm[1], dpi)
    left, right = mm_to_px(MARGIN_LEFT_MM, dpi), width - mm_to_px(MARGIN_RIGHT_MM, dpi)
    top, bottom = mm_to_px(MARGIN_TOP_MM, dpi), height - mm_to_px(MARGIN_BOTTOM_MM, dpi)
    text_w, text_h = right - left, bottom - top
    styles = line_styles(doc)
    base_px = point_size * dpi / 72.0

    def fit(g: float) -> tuple[float, float]:
        widest = max(
            (
                _font(font, s.bold, round(base_px * s.scale * g)).getlength(line)
                / (SIGNATURE_WIDTH if s.align == "signature" else 1.0)
                for line, s in zip(doc.lines, styles)
            ),
            default=0.0,
        )
        tall = sum(LINE_SPACING * base_px * g * (s.space_before + s.scale) for s in styles)
        return widest, tall

    widest, tall = fit(1.0)
    g = min(1.0, text_w / widest if widest else 1.0, text_h / tall if tall else 1.0)

    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    boxes: list[LineBox] = []
    pitch_body = LINE_SPACING * base_px * g
    sig_centre = left + SIGNATURE_CENTRE * text_w
    y = float(top)
    for i, (line, style) in enumerate(zip(doc.lines, styles)):
        size = round(base_px * style.scale * g)
        f = _font(font, style.bold, size)
        y += style.space_before * pitch_body
        pitch = pitch_body * style.scale
        ascent, descent = f.getmetrics()
        baseline = y + (pitch - (ascent + descent)) / 2 + ascent
        w = f.getlength(line)
        x = align_x(style.align, left, right, sig_centre, w)
        # Fonts without a bold file get a one-pixel stroke as fake bold.
        stroke = 1 if style.bold and not has_true_bold(font) else 0
        draw.text((x, baseline), line, font=f, fill=0, anchor="ls", stroke_width=stroke)
        x0, y0, x1, y1 = draw.textbbox(
            (x, baseline), line, font=f, anchor="ls", stroke_width=stroke
        )
        boxes.append(LineBox(i, line, int(x0), int(y0), int(x1), int(y1)))
        y += pitch
    image.info["dpi"] = (dpi, dpi)
    return image, boxes


def render_page(
    doc: DocText,
    font: str = "LiberationSerif",
    dpi: int = 300,
    size_mm: tuple[float, float] = (210, 297),
    point_size: float = 12,
) -> Image.Image:
    """White page with black text, in RGB mode, DPI recorded in `info["dpi"]`."""
    gray, _ = render_layout(doc, font, dpi, size_mm, point_size)
    page = gray.convert("RGB")
    page.info["dpi"] = (dpi, dpi)
    return page
