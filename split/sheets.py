"""Cover and separator sheets to print: A4 pages a scanner's feeder reads back as codes.

Each sheet is drawn at 300 dpi in black and white with Pillow (text in DejaVu Sans, which has
every Vietnamese diacritic) and stored in the PDF as one CCITT G4 image: exactly what a laser
printer prints, nothing a PDF viewer could reflow or substitute. The symbols are big (QR modules
of 1.5 mm, error correction level Q) so a 200 dpi photocopy of a photocopy still decodes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import numpy as np
import pikepdf
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from sohoa.core.codes import DOSSIER_RE, dossier_code
from sohoa.core.errors import ExitCode, InvalidCode, MissingDependency, SohoaError
from sohoa.ocr.images import encode
from sohoa.split.codes import COVER, DOC_TYPE_RE, SEPARATOR

DPI: Final[int] = 300
A4_MM: Final[tuple[float, float]] = (210.0, 297.0)
QR_MODULE_PX: Final[int] = 18  # 1.5 mm at 300 dpi
BAR_MODULE_PX: Final[int] = 6  # 0.5 mm: Code 128 read by a hand scanner or a 200 dpi scan
FONT_DIRS: Final[tuple[str, ...]] = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu",
                                     "/usr/local/share/fonts", "/Library/Fonts")
COVER_STEPS: Final[tuple[str, ...]] = (
    "1. Đặt tờ bìa này lên đầu hồ sơ, mặt in hướng theo các trang của hồ sơ.",
    "2. Giữa hai tài liệu, đặt một tờ phân cách (in bằng lệnh sohoa sheets).",
    "3. Đặt cả xấp vào khay nạp giấy của máy quét và quét một lần.",
    "Tờ bìa và tờ phân cách không được lưu vào kho; số trang của chúng được ghi lại.",
)


@dataclass(frozen=True, slots=True)
class Separator:
    doc_type: str | None = None  # catalogue code of the next document
    doc_type_name: str | None = None  # its Vietnamese name, printed under the code


def _px(mm: float) -> int:
    return round(mm / 25.4 * DPI)


def _font_path(bold: bool) -> Path:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    raise MissingDependency(f"font {name} not found (install fonts-dejavu-core)")


def _font(size_mm: float, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_font_path(bold)), _px(size_mm))


def _symbol(text: str, fmt, module_px: int, height_px: int | None = None) -> Image.Image:
    """A QR (square modules) or a 1D code (bars `height_px` tall), quiet zones included."""
    options = {"ec_level": "Q"} if fmt == zxingcpp.BarcodeFormat.QRCode else {}
    matrix = np.array(zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(text, fmt, **options)))
    if height_px is not None:  # 1D: one row of modules is enough
        row = matrix[matrix.shape[0] // 2]
        matrix = np.repeat(row[None, :], max(1, height_px // module_px), axis=0)
    big = np.kron(matrix, np.ones((module_px, module_px), dtype=np.uint8))
    return Image.fromarray(big).convert("1")


def _centered(draw: ImageDraw.ImageDraw, y: int, text: str, font: ImageFont.FreeTypeFont, width: int) -> int:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((width - (right - left)) // 2 - left, y - top), text, font=font, fill=0)
    return y + (bottom - top)


def _paste_centered(page: Image.Image, symbol: Image.Image, y: int) -> int:
    page.paste(symbol, ((page.width - symbol.width) // 2, y))
    return y + symbol.height


def _blank() -> Image.Image:
    return Image.new("1", (_px(A4_MM[0]), _px(A4_MM[1])), 1)


def _received_on(code: str) -> str:
    yymmdd = DOSSIER_RE.match(code)["yymmdd"]
    return date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])).strftime("%d/%m/%Y")


def cover_page(dossier: str) -> Image.Image:
    """The cover sheet of one dossier: QR, Code 128, the code in large type, the instructions."""
    code = dossier_code(dossier)
    page = _blank()
    draw = ImageDraw.Draw(page)
    width = page.width
    y = _centered(draw, _px(20), "TỜ BÌA HỒ SƠ", _font(11, bold=True), width) + _px(5)
    y = _centered(draw, y, "(dùng khi quét cả hồ sơ một lần)", _font(5), width) + _px(10)
    y = _paste_centered(page, _symbol(COVER + code, zxingcpp.BarcodeFormat.QRCode, QR_MODULE_PX), y) + _px(8)
    y = _centered(draw, y, code, _font(9, bold=True), width) + _px(5)
    agency = DOSSIER_RE.match(code)["agency"]
    y = _centered(draw, y, f"Cơ quan: {agency}   Ngày tiếp nhận: {_received_on(code)}", _font(4.5), width) + _px(8)
    bars = _symbol(code, zxingcpp.BarcodeFormat.Code128, BAR_MODULE_PX, height_px=_px(18))
    y = _paste_centered(page, bars, y) + _px(12)
    step_font = _font(4.2)
    for line in COVER_STEPS:
        draw.text((_px(20), y), line, font=step_font, fill=0)
        y += _px(8)
    return page


def separator_page(separator: Separator, dossier: str | None = None) -> Image.Image:
    """A separator sheet: a new document starts after it (of `doc_type` when given)."""
    page = _blank()
    draw = ImageDraw.Draw(page)
    width = page.width
    payload = SEPARATOR + (f":{separator.doc_type}" if separator.doc_type else "")
    y = _centered(draw, _px(25), "TỜ PHÂN CÁCH", _font(14, bold=True), width) + _px(6)
    y = _centered(draw, y, "— tài liệu tiếp theo —", _font(7), width) + _px(15)
    y = _paste_centered(page, _symbol(payload, zxingcpp.BarcodeFormat.QRCode, QR_MODULE_PX + 4), y) + _px(12)
    if separator.doc_type:
        y = _centered(draw, y, f"Loại giấy tờ: {separator.doc_type}", _font(7, bold=True), width) + _px(5)
        if separator.doc_type_name:
            y = _centered(draw, y, separator.doc_type_name, _font(6), width) + _px(5)
    if dossier:
        y = _centered(draw, y + _px(5), f"Hồ sơ {dossier}", _font(5), width) + _px(5)
    _centered(draw, _px(265), "Đặt tờ này giữa hai tài liệu. Tờ này không được lưu vào kho.", _font(4.2), width)
    return page


def sheets_pdf(pages: list[Image.Image]) -> bytes:
    """One A4 page per image, each a 300 dpi G4 image filling the page."""
    pdf = pikepdf.Pdf.new()
    width_pt, height_pt = A4_MM[0] / 25.4 * 72, A4_MM[1] / 25.4 * 72
    for image in pages:
        pixels = np.asarray(image.convert("L"))
        encoded = encode(pixels, "bilevel")
        xobject = pikepdf.Stream(pdf, encoded.data)
        xobject.Type, xobject.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        xobject.Width, xobject.Height = encoded.width, encoded.height
        xobject.ColorSpace, xobject.BitsPerComponent = pikepdf.Name.DeviceGray, 1
        xobject.Filter = pikepdf.Name.CCITTFaxDecode
        xobject.DecodeParms = pikepdf.Dictionary({"/" + k: v for k, v in encoded.decode_parms.items()})
        content = f"q {width_pt:.3f} 0 0 {height_pt:.3f} 0 0 cm /Im0 Do Q".encode()
        page = pikepdf.Page(pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, round(width_pt, 3), round(height_pt, 3)],
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobject)),
            Contents=pikepdf.Stream(pdf, content),
        ))
        pdf.pages.append(page)
    pdf.docinfo["/Title"] = "sohoa: tờ bìa và tờ phân cách"
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def separators_for(count: int, doc_types: list[tuple[str, str | None]]) -> list[Separator]:
    """One separator per document type (in order), then plain ones up to `count` sheets in all."""
    typed = []
    for code, name in doc_types:
        normal = code.strip().upper()
        if not DOC_TYPE_RE.match(normal):
            raise InvalidCode(f"invalid document type code {code!r}: letters, digits, '.', '_' or '-' (max 32)")
        typed.append(Separator(normal, name))
    return typed + [Separator()] * max(0, count - len(typed))


def write_sheets(out: Path, dossier: str | None, separators: list[Separator]) -> int:
    """Write the cover (when a dossier is given) and the separators to `out`; returns the page count."""
    pages = ([cover_page(dossier)] if dossier else []) + [separator_page(s, dossier) for s in separators]
    if not pages:
        raise SohoaError("nothing to print: give --dossier or --count/--doc-type", ExitCode.USAGE)
    data = sheets_pdf(pages)
    tmp = out.with_name(out.name + ".part")
    try:
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SohoaError(f"{out}: cannot write ({exc.strerror})", ExitCode.OUTPUT_ERROR) from None
    return len(pages)
