"""File writers: scans as images, multi-page TIFFs, scanned / born-digital / mixed PDFs.

Every raster format records the scan's DPI in its own metadata (JFIF density,
PNG pHYs, TIFF X/YResolution) and scanned PDF pages are sized so that the
image sits at exactly its DPI, because the pipeline under test relies on the
resolution to size PDF/A pages and to pick OCR parameters.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import pikepdf
from fpdf import FPDF
from PIL import Image, TiffImagePlugin

from .degrade import Scan
from .fonts import bold_font_path, font_path
from .layout import (
    align_x,
    LINE_SPACING,
    MARGIN_BOTTOM_MM,
    MARGIN_LEFT_MM,
    MARGIN_RIGHT_MM,
    MARGIN_TOP_MM,
    SIGNATURE_CENTRE,
    SIGNATURE_WIDTH,
    line_styles,
)
from .vietnamese import DocText

IMAGE_FORMATS: tuple[str, ...] = (
    "jpeg", "png", "png-palette", "png-alpha", "tiff-g4", "tiff-lzw", "tiff-jpeg", "jpeg-cmyk",
)
JPEG_QUALITY = 75  # a typical office scanner / phone setting
# Paper grain makes scans nearly incompressible for PNG's deflate: level 1 is
# 4x faster than the default and only ~10 % larger.
PNG_LEVEL = 1
PDF_JPEG_QUALITY = 85
# Fixed date so born-digital PDFs are byte-identical from run to run.
_FIXED_DATE = datetime(2024, 1, 15, 8, 0, 0, tzinfo=timezone.utc)

PathLike = str | Path


def binarize(image: Image.Image) -> Image.Image:
    """Mode "1" via Otsu's threshold (Pillow's default convert("1") dithers,
    and a fixed 128 would erase faint ink)."""
    if image.mode == "1":
        return image
    gray = np.asarray(image.convert("L"))
    _, bw = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return Image.fromarray(bw > 127)


def _gray_or_rgb(image: Image.Image) -> Image.Image:
    return image.convert("L") if image.mode in ("1", "L") else image.convert("RGB")


def save_image(scan: Scan, path: PathLike, fmt: str) -> Path:
    """Write `scan` as a single image file in format `fmt` (see IMAGE_FORMATS).

    "png-alpha" is RGBA, opaque except a transparent triangle in the top-right
    corner whose colour channels are black, so a reader that drops alpha
    instead of compositing on white shows a black corner.
    """
    path = Path(path)
    dpi = (scan.dpi, scan.dpi)
    image = scan.image
    if fmt == "jpeg":
        _gray_or_rgb(image).save(path, "JPEG", quality=JPEG_QUALITY, dpi=dpi)
    elif fmt == "png":
        image.save(path, "PNG", dpi=dpi, compress_level=PNG_LEVEL)
    elif fmt == "png-palette":
        rgb = image.convert("RGB")
        palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=256)
        palette.save(path, "PNG", dpi=dpi, compress_level=PNG_LEVEL)
    elif fmt == "png-alpha":
        rgba = np.array(image.convert("RGBA"))
        h, w = rgba.shape[:2]
        side = w // 8
        ys, xs = np.ogrid[:h, :w]
        corner = (xs - (w - side)) > ys  # triangle in the top-right corner
        rgba[corner] = (0, 0, 0, 0)
        Image.fromarray(rgba).save(path, "PNG", dpi=dpi, compress_level=PNG_LEVEL)
    elif fmt == "tiff-g4":
        binarize(image).save(path, "TIFF", compression="group4", dpi=dpi)
    elif fmt == "tiff-lzw":
        image.save(path, "TIFF", compression="tiff_lzw", dpi=dpi)
    elif fmt == "tiff-jpeg":
        _gray_or_rgb(image).save(path, "TIFF", compression="jpeg", quality=JPEG_QUALITY, dpi=dpi)
    elif fmt == "jpeg-cmyk":
        image.convert("RGB").convert("CMYK").save(path, "JPEG", quality=JPEG_QUALITY, dpi=dpi)
    else:
        raise ValueError(f"unknown image format {fmt!r}; expected one of {IMAGE_FORMATS}")
    return path


_TIFF_COMPRESSIONS = ("group4", "tiff_lzw", "jpeg")


def save_multipage_tiff(scans: list[Scan], path: PathLike, compression: str = "group4") -> Path:
    """Write all scans into one TIFF, each frame with its own DPI."""
    if compression not in _TIFF_COMPRESSIONS:
        raise ValueError(f"compression must be one of {_TIFF_COMPRESSIONS}")
    if not scans:
        raise ValueError("no scans to write")
    path = Path(path)
    frames = []
    for scan in scans:
        if compression == "group4":
            frame = binarize(scan.image)
        elif compression == "jpeg":
            frame = _gray_or_rgb(scan.image)
        else:
            frame = scan.image.copy()
        # Pillow's multi-frame writer lets an appended frame's own encoderinfo
        # override the first frame's, which is how pages keep distinct DPIs.
        frame.encoderinfo = {"dpi": (scan.dpi, scan.dpi), "compression": compression}
        if compression == "jpeg":
            frame.encoderinfo["quality"] = JPEG_QUALITY
        frames.append(frame)
    first = frames[0]
    first.save(path, "TIFF", save_all=True, append_images=frames[1:], **first.encoderinfo)
    return path


# --------------------------------------------------------------------------
# Scanned PDF
# --------------------------------------------------------------------------


def _g4_data(image: Image.Image) -> bytes:
    """CCITT G4 stream of a mode "1" image, taken from a one-strip TIFF.

    Pillow stores "1" as MinIsBlack, so white pixels are 1 bits and the G4
    coder would code paper as "black" runs; the image is inverted first so
    the stream matches PDF's default (BlackIs1 false: coded black is black).
    """
    inverted = Image.fromarray(~np.asarray(image))
    buf = io.BytesIO()
    inverted.save(buf, "TIFF", compression="group4", strip_size=2**31 - 1)
    buf.seek(0)
    with Image.open(buf) as tif:
        offsets = tif.tag_v2[TiffImagePlugin.STRIPOFFSETS]
        counts = tif.tag_v2[TiffImagePlugin.STRIPBYTECOUNTS]
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
    if len(offsets) != 1:
        raise RuntimeError("expected a single G4 strip")
    raw = buf.getvalue()
    return raw[offsets[0]:offsets[0] + counts[0]]


def _image_xobject(pdf: pikepdf.Pdf, image: Image.Image) -> pikepdf.Stream:
    w, h = image.size
    if image.mode == "1":
        return pikepdf.Stream(
            pdf, _g4_data(image),
            Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=w, Height=h,
            ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=1,
            Filter=pikepdf.Name.CCITTFaxDecode,
            DecodeParms=pikepdf.Dictionary(K=-1, Columns=w, Rows=h, BlackIs1=False),
        )
    img = _gray_or_rgb(image)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=PDF_JPEG_QUALITY)
    space = pikepdf.Name.DeviceGray if img.mode == "L" else pikepdf.Name.DeviceRGB
    return pikepdf.Stream(
        pdf, buf.getvalue(),
        Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=w, Height=h,
        ColorSpace=space, BitsPerComponent=8, Filter=pikepdf.Name.DCTDecode,
    )


def _image_pdf(scans: list[Scan]) -> pikepdf.Pdf:
    pdf = pikepdf.new()
    for scan in scans:
        w, h = scan.image.size
        # Page exactly the image size at its DPI (72 pt per inch).
        w_pt, h_pt = w * 72 / scan.dpi, h * 72 / scan.dpi
        xobj = _image_xobject(pdf, scan.image)
        content = f"q {w_pt:.4f} 0 0 {h_pt:.4f} 0 0 cm /Im0 Do Q".encode()
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, w_pt, h_pt],
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobj)),
            Contents=pikepdf.Stream(pdf, content),
        )
        pdf.pages.append(pikepdf.Page(page))
    return pdf


def save_image_pdf(scans: list[Scan], path: PathLike) -> Path:
    """Scanned PDF: one image per page, JPEG for gray/colour, CCITT G4 for bilevel."""
    path = Path(path)
    with _image_pdf(scans) as pdf:
        pdf.save(path, deterministic_id=True)
    return path


# --------------------------------------------------------------------------
# Born-digital PDF
# --------------------------------------------------------------------------


def _text_pdf(docs: list[DocText], font: str, point_size: float = 12) -> bytes:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_lang("vi")
    pdf.add_font("Doc", "", font_path(font))
    pdf.add_font("Doc", "B", bold_font_path(font))
    page_w, page_h = pdf.w, pdf.h
    left, right = MARGIN_LEFT_MM, page_w - MARGIN_RIGHT_MM
    text_w = right - left
    text_h = page_h - MARGIN_TOP_MM - MARGIN_BOTTOM_MM
    pitch_mm = LINE_SPACING * point_size * 25.4 / 72
    for doc in docs:
        pdf.add_page()
        styles = line_styles(doc)
        # Same rule as the raster renderer: scale down uniformly if it would not fit.
        tall = sum(pitch_mm * (s.space_before + s.scale) for s in styles)
        widest = 0.0
        for line, s in zip(doc.lines, styles):
            pdf.set_font("Doc", "B" if s.bold else "", point_size * s.scale)
            share = SIGNATURE_WIDTH if s.align == "signature" else 1.0
            widest = max(widest, pdf.get_string_width(line) / share)
        g = min(1.0, text_w / widest if widest else 1.0, text_h / tall if tall else 1.0)
        y = MARGIN_TOP_MM
        for line, s in zip(doc.lines, styles):
            pdf.set_font("Doc", "B" if s.bold else "", point_size * s.scale * g)
            y += s.space_before * pitch_mm * g
            pitch = pitch_mm * s.scale * g
            w = pdf.get_string_width(line)
            x = align_x(s.align, left, right, left + SIGNATURE_CENTRE * text_w, w)
            # text() takes the baseline; put it ~70 % down the line pitch.
            pdf.text(x, y + pitch * 0.7, line)
            y += pitch
    return bytes(pdf.output())


def save_born_digital_pdf(docs: list[DocText], path: PathLike, font: str = "DejaVuSerif") -> Path:
    """Text PDF (embedded TrueType subset, real Unicode text), one A4 page per doc."""
    path = Path(path)
    path.write_bytes(_text_pdf(docs, font))
    return path


def save_mixed_pdf(items: list[DocText | Scan], path: PathLike, font: str = "DejaVuSerif") -> Path:
    """PDF with text pages (DocText) and image pages (Scan) in the given order."""
    path = Path(path)
    docs = [it for it in items if isinstance(it, DocText)]
    scans = [it for it in items if isinstance(it, Scan)]
    if len(docs) + len(scans) != len(items):
        raise TypeError("items must be DocText or Scan")
    text_pdf = pikepdf.open(io.BytesIO(_text_pdf(docs, font))) if docs else pikepdf.new()
    image_pdf = _image_pdf(scans)
    out = pikepdf.new()
    with text_pdf, image_pdf, out:
        next_text = iter(text_pdf.pages)
        next_image = iter(image_pdf.pages)
        for it in items:
            out.pages.append(next(next_text) if isinstance(it, DocText) else next(next_image))
        out.save(path, deterministic_id=True)
    return path
