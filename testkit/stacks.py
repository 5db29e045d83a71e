"""Generated scanned stacks for the splitting tests and bench: a whole dossier in one file.

A stack is a list of `StackPage` (what the page is, and what the splitter should make of it),
drawn as 200 dpi A4 pages, photocopied (testkit.effects.photocopy), optionally skewed and turned
upside down, and written as a PDF of G4 images or a multi-page G4 TIFF. Sheets come from
`sohoa sheets` itself (rasterised with pypdfium2, as a scanner would see the printout); the
one-stop receipt carries a QR made by segno, not by the zxing-cpp encoder the sheets use.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pypdfium2
import segno
from PIL import Image, ImageDraw, ImageFont

from sohoa.split.codes import read_codes
from sohoa.split.sheets import Separator, cover_page, separator_page, sheets_pdf
from sohoa.testkit import effects
from sohoa.testkit.fonts import bold_font_path, font_path
from sohoa.testkit.vietnamese import document_text

DPI = 200
A4_PX = (round(210 / 25.4 * DPI), round(297 / 25.4 * DPI))
DOSSIER = "000.00.12.H36-240115-0001"
RECEIPT_URL = "https://motcua.example.gov.vn/tra-cuu-ho-so?maHoSo={code}&lang=vi"

PageKind = Literal["cover", "separator", "receipt", "document", "blank", "damaged"]


@dataclass(frozen=True)
class StackPage:
    kind: PageKind
    seed: int = 0
    dossier: str | None = None  # cover and receipt
    doc_type: str | None = None  # separator
    skew: float = 0.0  # degrees
    upside_down: bool = False


def _font(size_px: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(bold_font_path("DejaVuSerif") if bold else font_path("DejaVuSerif"), size_px)


def _document(seed: int) -> Image.Image:
    text = document_text(seed, n_lines=14)
    page = Image.new("L", A4_PX, 255)
    draw = ImageDraw.Draw(page)
    font, y = _font(30), 150
    for line in text.lines:
        draw.text((140, y), line, font=font, fill=0)
        y += 55
    return page


def _receipt(dossier: str, seed: int) -> Image.Image:
    """A one-stop receipt: title, a few lines, and a segno QR holding a look-up URL with the code."""
    page = _document(seed + 1000)
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, A4_PX[0], 140), fill=255)
    draw.text((140, 40), "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", font=_font(40, bold=True), fill=0)
    qr = segno.make(RECEIPT_URL.format(code=dossier), error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=6, border=4)  # ~0.76 mm modules at 200 dpi: a small receipt QR
    symbol = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    page.paste(symbol, (A4_PX[0] - symbol.width - 120, A4_PX[1] - symbol.height - 200))
    return page


def _sheet(image: Image.Image) -> Image.Image:
    """A 300 dpi sheet as the scanner sees the printout: rasterised from its PDF at 200 dpi."""
    pdf = pypdfium2.PdfDocument(sheets_pdf([image]))
    try:
        return pdf[0].render(scale=DPI / 72).to_pil().convert("L").resize(A4_PX)
    finally:
        pdf.close()


def _damaged(image: Image.Image) -> Image.Image:
    """A separator whose QR a coffee stain made unreadable: finder patterns left, a band of data wiped."""
    page = image.copy()
    (code,) = read_codes(page)
    x0, y0, x1, y1 = code.box
    ImageDraw.Draw(page).rectangle((x0, y0 + (y1 - y0) * 0.3, x1, y0 + (y1 - y0) * 0.7), fill=255)
    return page


@lru_cache(maxsize=16)
def _printed(kind: str, dossier: str | None, doc_type: str | None) -> Image.Image:
    """A sheet as printed and seen by the scanner, drawn once per content (the copies differ)."""
    if kind == "cover":
        return _sheet(cover_page(dossier or DOSSIER))
    if kind == "separator":
        return _sheet(separator_page(Separator(doc_type)))
    return _damaged(_sheet(separator_page(Separator())))


def draw_page(spec: StackPage) -> Image.Image:
    """The clean page (gray, 200 dpi) before the photocopy."""
    if spec.kind in ("cover", "separator", "damaged"):
        return _printed(spec.kind, spec.dossier, spec.doc_type).copy()
    if spec.kind == "receipt":
        return _receipt(spec.dossier or DOSSIER, spec.seed)
    if spec.kind == "blank":
        return Image.new("L", A4_PX, 255)
    return _document(spec.seed)


def scan(spec: StackPage, rng: np.random.Generator) -> Image.Image:
    """Photocopy, skew and turn the page as a feeder would; bilevel 200 dpi."""
    page = effects.photocopy(rng, draw_page(spec), DPI)
    if spec.skew:
        page = page.convert("L").rotate(spec.skew, resample=Image.BICUBIC, fillcolor=255)
    if spec.upside_down:
        page = page.rotate(180)
    return page.convert("L").point(lambda v: 255 if v >= 128 else 0).convert("1")


def write_stack(specs: list[StackPage], out: Path, seed: int = 0, fmt: str = "pdf") -> Path:
    """The scanned stack as a PDF of G4 images (`fmt="pdf"`) or a multi-page G4 TIFF (`"tiff"`)."""
    rng = np.random.default_rng(seed)
    pages = [scan(spec, rng) for spec in specs]
    if fmt == "pdf":
        out.write_bytes(sheets_pdf(pages))
    else:
        pages[0].save(out, "TIFF", compression="group4", save_all=True, append_images=pages[1:], dpi=(DPI, DPI))
    return out


def dossier_stack(dossier: str = DOSSIER, skew: float = 3.0) -> list[StackPage]:
    """Cover, a two-page document, a separator with a type, a one-page document upside down, the receipt."""
    return [
        StackPage("cover", dossier=dossier, skew=-skew),
        StackPage("document", seed=1),
        StackPage("document", seed=2, skew=skew),
        StackPage("separator", doc_type="GKS", skew=skew),
        StackPage("document", seed=3, upside_down=True),
        StackPage("separator", upside_down=True),
        StackPage("receipt", seed=4, dossier=dossier, skew=-skew),
        StackPage("document", seed=5),
    ]
