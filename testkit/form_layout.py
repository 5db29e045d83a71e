"""Positioned page layout and scan degradations for the labelled extraction forms.

`testkit/layout.py` sets one line per row; administrative papers need more: NĐ 30/2020 puts the
issuer block top-left and the national motto top-right on the same rows, "Số: …" beside the
place-and-date line, and "Nơi nhận:" beside the signature. A `Form` is a list of `Row`s, each
holding one or more `Seg`ments anchored to a column; `render_form` draws it black on white and
`degrade` turns that page into one scan kind, reusing the effects of testkit/effects.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from . import effects as fx
from .fonts import FONTS, bold_font_path, has_true_bold
from .layout import _font, mm_to_px

# Column anchors as shares of the text width: the issuer column, the motto column and the
# signature column are centred on these; "left"/"right"/"center" span the whole text width.
COLUMN_CENTRE = {"lcol": 0.2, "rcol": 0.71, "sig": 0.72, "center": 0.5}
COLUMN_WIDTH = {"lcol": 0.38, "rcol": 0.56, "sig": 0.5, "center": 1.0, "left": 1.0, "right": 1.0}
PITCH = 1.45  # row pitch as a multiple of the point size

DEGRADATIONS: tuple[str, ...] = (
    "clean", "skew", "gray200_jpeg", "photocopy", "seal", "faint", "rot90", "rot180",
)
BORN_DIGITAL = "born_digital"  # no scan: a text PDF, as an office's software would write it
KINDS: tuple[str, ...] = (*DEGRADATIONS, BORN_DIGITAL)


@dataclass(frozen=True)
class Seg:
    """A piece of text on a row. `pos`: lcol, rcol, sig, center, left, right, or "x:<mm>"
    (left edge at that distance from the page's left edge)."""

    text: str
    pos: str = "left"
    bold: bool = False
    scale: float = 1.0
    underline: bool = False


@dataclass(frozen=True)
class Row:
    segs: tuple[Seg, ...]
    space: float = 0.0  # extra space above, in row pitches


@dataclass
class Form:
    """One page: rows, paper size and margins (mm), body point size and the seal's ring text."""

    rows: list[Row]
    size_mm: tuple[float, float] = (210.0, 297.0)
    margins_mm: tuple[float, float, float] = (25.0, 20.0, 20.0)  # left, top, right
    point: float = 13.0
    seal_text: str | None = None
    signature_row: int | None = None  # the signer's last role row (seal and hand signature below it)
    name_row: int | None = None  # the signer's name row
    frames_mm: list[tuple[float, float, float, float]] = field(default_factory=list)  # rectangles


@dataclass(frozen=True)
class SegBox:
    row: int
    text: str
    x0: int
    y0: int
    x1: int
    y1: int
    baseline: float = 0.0  # pixels from the top
    bold: bool = False


def row(*segs: Seg, space: float = 0.0) -> Row:
    return Row(tuple(segs), space)


def _seg_x(seg: Seg, width: float, left: float, text_w: float, dpi: int) -> float:
    if seg.pos.startswith("x:"):
        return mm_to_px(float(seg.pos[2:]), dpi)
    if seg.pos == "left":
        return left
    if seg.pos == "right":
        return left + text_w - width
    return left + COLUMN_CENTRE[seg.pos] * text_w - width / 2


def _fitted(seg: Seg, font: str, base_px: float, text_w: float, avail_px: float | None):
    """The font for `seg`, shrunk until the text fits its column."""
    limit = avail_px if avail_px is not None else COLUMN_WIDTH[seg.pos] * text_w
    size = round(base_px * seg.scale)
    face = _font(font, seg.bold, size)
    while face.getlength(seg.text) > limit and size > 8:
        size -= 1
        face = _font(font, seg.bold, size)
    return face


def render_form(form: Form, font: str, dpi: int) -> tuple[Image.Image, list[SegBox]]:
    """Draw `form` black on white ("L" image) and return every segment's pixel box."""
    width, height = mm_to_px(form.size_mm[0], dpi), mm_to_px(form.size_mm[1], dpi)
    left = mm_to_px(form.margins_mm[0], dpi)
    top = mm_to_px(form.margins_mm[1], dpi)
    text_w = width - left - mm_to_px(form.margins_mm[2], dpi)
    base_px = form.point * dpi / 72.0
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for x0, y0, x1, y1 in form.frames_mm:
        draw.rectangle([mm_to_px(v, dpi) for v in (x0, y0, x1, y1)], outline=0,
                       width=max(1, dpi // 100))
    boxes: list[SegBox] = []
    y = float(top)
    for index, r in enumerate(form.rows):
        scale = max((s.scale for s in r.segs), default=1.0)
        y += r.space * PITCH * base_px
        pitch = PITCH * base_px * scale
        baseline = y + 0.78 * pitch
        for seg in r.segs:
            avail = (width - mm_to_px(float(seg.pos[2:]), dpi) - mm_to_px(form.margins_mm[2], dpi)
                     if seg.pos.startswith("x:") else None)
            face = _fitted(seg, font, base_px, text_w, avail)
            w = face.getlength(seg.text)
            x = _seg_x(seg, w, left, text_w, dpi)
            stroke = 1 if seg.bold and not has_true_bold(font) else 0
            draw.text((x, baseline), seg.text, font=face, fill=0, anchor="ls", stroke_width=stroke)
            bx = draw.textbbox((x, baseline), seg.text, font=face, anchor="ls", stroke_width=stroke)
            boxes.append(SegBox(index, seg.text, *(int(v) for v in bx), baseline, seg.bold))
            if seg.underline:
                rule = w if seg.pos == "rcol" else w * 0.4
                ux = x + (w - rule) / 2
                uy = baseline + 0.3 * face.size
                draw.line([(ux, uy), (ux + rule, uy)], fill=0, width=max(1, dpi // 150))
        y += pitch
    image.info["dpi"] = (dpi, dpi)
    return image, boxes


# ---------------------------------------------------------------- degradations


def _paper(rng: np.random.Generator, gray: Image.Image, level: float, ink: float,
           grain: float = 2.0) -> np.ndarray:
    return fx.compose(fx.paper(rng, gray.size[::-1], level, grain=grain), ink, fx.coverage(gray))


def _seal(rng: np.random.Generator, gray: Image.Image, form: Form, boxes: list[SegBox],
          dpi: int) -> Image.Image:
    """Yellowish paper, a red seal over the left of the signature and a blue hand signature."""
    cov = fx.coverage(gray)
    lum = fx.paper(rng, cov.shape, 1.0, grain=0.012, mottle=0.02)
    rgb = fx.to_color(lum, (238.0, 226.0, 185.0))
    rgb += (np.array([36.0, 32.0, 30.0], dtype=np.float32) - rgb) * cov[..., None]
    role = [b for b in boxes if b.row == form.signature_row and b.x0 > gray.width * 0.45]
    name = [b for b in boxes if b.row == form.name_row and b.x0 > gray.width * 0.45]
    if role and name:
        r, n = role[0], name[0]
        radius = mm_to_px(17, dpi)
        cx, cy = r.x0 + 0.1 * radius, (r.y1 + n.y0) / 2
        seal_font = "DejaVuSans" if "DejaVuSans" in FONTS else min(FONTS)
        seal = fx.seal_density(rng, radius, form.seal_text or "ỦY BAN NHÂN DÂN", bold_font_path(seal_font))
        fx.multiply_ink(rgb, seal * rng.uniform(0.75, 0.9), (200, 30, 45),
                        round(cy - seal.shape[0] / 2), round(cx - seal.shape[1] / 2))
        sig_w = int(max(n.x1 - n.x0, mm_to_px(35, dpi)))
        sig_h = max(int((n.y0 - r.y1) * 0.85), mm_to_px(8, dpi))
        sig = fx.signature_density(rng, sig_w, sig_h, dpi)
        fx.multiply_ink(rgb, sig, (25, 45, 160), round(r.y1 + (n.y0 - r.y1 - sig_h) / 2),
                        round((n.x0 + n.x1) / 2 - sig_w / 2))
    rgb *= fx.illumination(rng, cov.shape, rng.uniform(0.15, 0.22))[..., None]
    return fx.to_image(rgb)


def degrade(form: Form, gray: Image.Image, boxes: list[SegBox], kind: str,
            rng: np.random.Generator, dpi: int) -> Image.Image:
    """One scan kind of a rendered page (see DEGRADATIONS)."""
    if kind == "clean":
        image = fx.to_image(fx.to_color(_paper(rng, gray, 248.0, 20.0, 1.5), (1.0, 0.996, 0.985)))
    elif kind == "skew":
        angle = float(rng.uniform(1.0, 2.5) * rng.choice([-1.0, 1.0]))
        turned = gray.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
        image = fx.to_image(_paper(rng, turned, 247.0, 22.0))
    elif kind == "gray200_jpeg":
        image = fx.to_image(fx.blur(_paper(rng, gray, 240.0, 35.0), 0.6))
    elif kind == "photocopy":
        image = fx.photocopy(rng, gray, dpi)
    elif kind == "seal":
        image = _seal(rng, gray, form, boxes, dpi)
    elif kind == "faint":
        ink = float(rng.uniform(140.0, 160.0))
        image = fx.to_image(fx.blur(_paper(rng, gray, 245.0, ink, 3.0), 0.5))
    elif kind in ("rot90", "rot180"):
        page = fx.to_image(_paper(rng, gray, 247.0, 22.0))
        image = page.transpose(Image.Transpose.ROTATE_90 if kind == "rot90" else Image.Transpose.ROTATE_180)
    else:
        raise ValueError(f"unknown degradation {kind!r}; expected one of {DEGRADATIONS}")
    image.info["dpi"] = (dpi, dpi)
    return image


def save_scan(pages: list[Image.Image], kind: str, path_stem: Path, dpi: int) -> Path:
    """Write the scan in the format an office would produce for that kind; returns the path."""
    first, rest = pages[0], pages[1:]
    if kind == "photocopy":
        path = path_stem.with_suffix(".tif")
        first.save(path, "TIFF", compression="group4", dpi=(dpi, dpi), save_all=bool(rest), append_images=rest)
    elif rest:
        path = path_stem.with_suffix(".pdf")
        rgb = [p.convert("RGB") for p in pages]
        rgb[0].save(path, "PDF", resolution=float(dpi), save_all=True, append_images=rgb[1:], quality=85)
    elif kind in ("gray200_jpeg", "seal"):
        path = path_stem.with_suffix(".jpg")
        first.convert("L" if first.mode in ("1", "L") else "RGB").save(path, "JPEG", quality=85, dpi=(dpi, dpi))
    else:
        path = path_stem.with_suffix(".png")
        first.save(path, "PNG", dpi=(dpi, dpi), compress_level=1)
    return path


def save_text_pdf(forms: list[Form], font: str, path: Path) -> Path:
    """A born-digital PDF of the forms: real text in an embedded font, each piece where the raster
    renderer puts it (its width and baseline), so a text layer reads like the scan's OCR."""
    from fpdf import FPDF

    from .fonts import font_path

    dpi = 288  # measure the layout finely, then place in millimetres
    to_mm = 25.4 / dpi
    pdf = FPDF(unit="mm", format=forms[0].size_mm)
    pdf.set_auto_page_break(False)
    pdf.add_font("Doc", "", font_path(font))
    pdf.add_font("Doc", "B", bold_font_path(font))
    for form in forms:
        pdf.add_page()
        _, boxes = render_form(form, font, dpi)
        for x0, y0, x1, y1 in form.frames_mm:
            pdf.rect(x0, y0, x1 - x0, y1 - y0)
        for box in boxes:
            pdf.set_font("Doc", "B" if box.bold else "", form.point)
            natural = pdf.get_string_width(box.text)
            size = form.point * (box.x1 - box.x0) * to_mm / natural if natural else form.point
            pdf.set_font("Doc", "B" if box.bold else "", size)
            pdf.text(box.x0 * to_mm, box.baseline * to_mm, box.text)
    path.write_bytes(bytes(pdf.output()))
    return path
