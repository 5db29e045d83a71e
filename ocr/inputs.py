"""Open an input document and load its pages one at a time (memory stays bounded).

`inspect()` checks the whole file up front (type, damage, encryption, page
count, pixel limit, page sizes) so bad input fails before any work is done.
`load_page()` runs in the worker processes and returns the archival pixels of
one page, a passthrough stream when the original can be kept byte for byte,
and, for born-digital PDF pages, the words the PDF already carries.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from sohoa.core.errors import ExitCode, InputError
from sohoa.ocr.images import EncodedImage, Mode, classify, g4_image
from sohoa.ocr.sniff import Kind, sniff

Image.MAX_IMAGE_PIXELS = None  # we enforce our own, configurable limit before decoding
DEFAULT_DPI: Final[int] = 300
MIN_TRUSTED_DPI: Final[int] = 50
MIN_PAGE_INCHES: Final[float] = 1.0
MAX_PAGE_INCHES: Final[float] = 200.0  # PDF/A-1 implementation limit: 14400 units
PDF_RENDER_DPI: Final[int] = 300
OCR_SOURCE_DPI: Final[int] = 300  # a reduced decode for OCR never goes below this (see _dct_reduction)
CAMERA_DEFAULT_MAX_INCHES: Final[float] = 17.0
COVER_TOLERANCE: Final[float] = 0.03


@dataclass(slots=True)
class Document:
    path: Path
    kind: Kind
    page_count: int
    warnings: list[str] = field(default_factory=list)
    frames: list[int] | None = None  # image frame of each page (None: page i is frame i)


@dataclass(slots=True)
class TextWord:
    """A word a born-digital page already carries; box in points, origin top-left."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float


@dataclass(slots=True)
class SourcePage:
    pixels: np.ndarray  # RGB or gray uint8 (bilevel as 0/255 gray)
    mode: Mode
    dpi: float
    width_pt: float
    height_pt: float
    passthrough: EncodedImage | None = None
    words: list[TextWord] | None = None  # set for born-digital pages: no OCR needed
    warnings: list[str] = field(default_factory=list)
    # `pixels` were decoded at this fraction of the scan's resolution (`dpi`): a huge JPEG whose
    # bytes go to the archive as they are is read for OCR only, so at no more than it needs.
    pixel_scale: float = 1.0


def _check_page_size(path: Path, width_in: float, height_in: float, where: str) -> None:
    small, large = min(width_in, height_in), max(width_in, height_in)
    if small < MIN_PAGE_INCHES or large > MAX_PAGE_INCHES:
        raise InputError(
            f"{path}: absurd page size {width_in:.2f} x {height_in:.2f} in {where} "
            f"(allowed {MIN_PAGE_INCHES:g} to {MAX_PAGE_INCHES:g} inches)",
            ExitCode.BAD_PAGE_SIZE,
        )


def _check_pixels(path: Path, width: int, height: int, limit: int, where: str, channels: int = 1,
                  byte_limit: int | None = None) -> None:
    if width * height > limit:
        raise InputError(
            f"{path}: {where} is {width} x {height} = {width * height / 1e6:.0f} megapixels, "
            f"above the limit of {limit / 1e6:.0f} (SOHOA_MAX_PIXELS)",
            ExitCode.TOO_LARGE,
        )
    decoded = width * height * channels
    if byte_limit is not None and decoded > byte_limit:  # what one worker may hold for one page
        raise InputError(
            f"{path}: {where} decodes to {decoded / 1e6:.0f} MB, above the per-page budget of "
            f"{byte_limit / 1e6:.0f} MB (SOHOA_MAX_PAGE_BYTES)",
            ExitCode.TOO_LARGE,
        )


def _check_page_count(path: Path, count: int, limit: int | None) -> None:
    if limit is not None and count > limit:
        raise InputError(f"{path}: {count} pages, above the limit of {limit} pages per file "
                         "(SOHOA_MAX_PAGES): split it into several files", ExitCode.TOO_MANY_PAGES)


SINGLE_CHANNEL_MODES: Final = frozenset({"1", "L", "I;16", "I;16B", "I;16L", "I", "F"})


# ---------------------------------------------------------------- images


def _image_dpi(image: Image.Image) -> tuple[float, float, str | None]:
    """(x dpi, y dpi, warning). Missing, absurd or camera-default values become 300 dpi."""
    dpi = image.info.get("dpi")
    try:
        x, y = (float(dpi[0]), float(dpi[1])) if dpi else (0.0, 0.0)
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        x = y = 0.0
    if not (math.isfinite(x) and math.isfinite(y)) or min(x, y) < MIN_TRUSTED_DPI:
        return DEFAULT_DPI, DEFAULT_DPI, f"no usable resolution in the file: assumed {DEFAULT_DPI} dpi"
    # Cameras and screenshots write 72/96 dpi whatever they show; paper is not 40 inches wide.
    if max(x, y) in (72.0, 96.0) and max(image.size) / min(x, y) > CAMERA_DEFAULT_MAX_INCHES:
        return DEFAULT_DPI, DEFAULT_DPI, f"{x:g} dpi is a camera default: assumed {DEFAULT_DPI} dpi"
    return x, y, None


def _frames(image: Image.Image) -> list[int]:
    """Frames that are pages: not an MPO preview, APNG animation or TIFF thumbnail."""
    if image.format in ("MPO", "PNG"):
        return [0]
    pages = []
    for index in range(getattr(image, "n_frames", 1)):
        image.seek(index)
        if image.format == "TIFF" and int(image.tag_v2.get(254, 0)) & 1:
            continue  # NewSubfileType bit 0: a reduced-resolution copy of another page
        pages.append(index)
    return pages or [0]


def _open_image(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except UnidentifiedImageError:
        raise InputError(f"{path}: damaged image (cannot read its header)", ExitCode.DAMAGED) from None
    except OSError as exc:
        raise InputError(f"{path}: damaged image ({exc})", ExitCode.DAMAGED) from None


def _inspect_image(path: Path, kind: Kind, max_pixels: int, max_pages: int | None = None,
                   max_page_bytes: int | None = None) -> Document:
    image = _open_image(path)
    notes: list[str] = []
    frames = _frames(image)
    _check_page_count(path, len(frames), max_pages)
    for number, index in enumerate(frames, start=1):
        image.seek(index)
        width, height = image.size
        if width < 1 or height < 1:
            raise InputError(f"{path}: page {number} has no pixels", ExitCode.DAMAGED)
        channels = 1 if image.mode in SINGLE_CHANNEL_MODES else 3
        _check_pixels(path, width, height, max_pixels, f"page {number}", channels, max_page_bytes)
        dpi_x, dpi_y, note = _image_dpi(image)
        if note and note not in notes:
            notes.append(note)
        if min(dpi_x, dpi_y) < 200:
            notes.append(f"page {number} is {min(dpi_x, dpi_y):.0f} dpi, below the archival 200 dpi")
        _check_page_size(path, width / dpi_x, height / dpi_y, f"page {number}")
    return Document(path, kind, len(frames), notes, frames)


def _to_pixels(image: Image.Image) -> np.ndarray:
    """Flatten transparency on white paper and reduce to RGB, gray or 0/255 gray."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba).convert("RGB")
    elif image.mode == "1":
        # Packed bits → 0/255 bytes in one array: no 8-bit PIL copy beside the numpy one.
        width, height = image.size
        packed = np.frombuffer(image.tobytes(), dtype=np.uint8).reshape(height, -1)
        image.close()
        pixels = np.unpackbits(packed, axis=1, count=width)
        del packed
        pixels *= 255
        return pixels
    elif image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        bits = 16
        tags = getattr(image, "tag_v2", {})
        if tags.get(258):
            bits = int(tags[258][0] if isinstance(tags[258], tuple) else tags[258])
        array = np.clip(array * (255.0 / (2 ** min(bits, 32) - 1)), 0, 255).astype(np.uint8)
        if tags.get(262) == 0:  # WhiteIsZero, which Pillow does not apply to 16-bit data
            array = 255 - array
        return array
    elif image.mode not in ("L", "RGB"):
        image = image.convert("RGB")  # P, CMYK (Adobe inversion handled by Pillow), YCbCr, LAB
    # The packed bytes, then Pillow's own buffer (4 bytes a pixel for RGB) is freed before numpy
    # wraps them: np.asarray(image) would hold both and a third copy (issue #17, peak memory).
    width, height = image.size
    channels = 3 if image.mode == "RGB" else 1
    data = image.tobytes()
    image.close()
    pixels = np.frombuffer(data, np.uint8).reshape((height, width, channels) if channels == 3 else (height, width))
    del data
    if pixels.ndim == 3 and _gray_content(pixels):
        pixels = np.ascontiguousarray(pixels[..., 0])  # colour file, gray content
    return pixels


def _gray_content(pixels: np.ndarray) -> bool:
    """All three channels equal, checked in bands of rows (bounded temporaries on a huge page)."""
    band = max(1, (4 << 20) // max(1, pixels.shape[1]))
    for top in range(0, pixels.shape[0], band):
        rows = pixels[top:top + band]
        if not (np.array_equal(rows[..., 0], rows[..., 1]) and np.array_equal(rows[..., 1], rows[..., 2])):
            return False
    return True


def _dct_reduction(width: int, height: int, dpi: float, reduce_above: int | None) -> int:
    """1, 2, 4 or 8: how much smaller libjpeg may decode a JPEG page (DCT scaling, no full-size
    buffer) when only OCR reads its pixels: pages above `reduce_above` pixels, never under 300 dpi."""
    if reduce_above is None or width * height <= reduce_above:
        return 1
    factor = 1
    while factor < 8 and dpi / (factor * 2) >= OCR_SOURCE_DPI:
        factor *= 2
    return factor


def _decode_reduced(data: bytes, mode: str, factor: int) -> np.ndarray:
    """A JPEG decoded at 1/`factor` of its size by libjpeg's DCT scaling, straight into one array
    (OpenCV; Pillow would hold its 4-byte-a-pixel image and two packed copies on the way)."""
    import cv2

    reduced = {2: (cv2.IMREAD_REDUCED_COLOR_2, cv2.IMREAD_REDUCED_GRAYSCALE_2),
               4: (cv2.IMREAD_REDUCED_COLOR_4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
               8: (cv2.IMREAD_REDUCED_COLOR_8, cv2.IMREAD_REDUCED_GRAYSCALE_8)}[factor][mode == "L"]
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), reduced | cv2.IMREAD_IGNORE_ORIENTATION)
    if pixels is None:
        raise OSError("the JPEG data does not decode")
    if pixels.ndim == 3:
        cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB, dst=pixels)
        if _gray_content(pixels):
            pixels = np.ascontiguousarray(pixels[..., 0])
    return pixels


def _load_image_page(path: Path, frame: int, reduce_above: int | None = None) -> SourcePage:
    image = _open_image(path)
    image.seek(frame)
    dpi_x, dpi_y, note = _image_dpi(image)
    notes = [note] if note else []
    passthrough = None
    is_jpeg = image.format in ("JPEG", "MPO")
    exif_turn = image.getexif().get(0x0112, 1) if is_jpeg else 1
    if image.format == "JPEG" and image.mode in ("L", "RGB") and exif_turn == 1 and dpi_x == dpi_y:
        passthrough = EncodedImage(
            data=path.read_bytes(), filter="DCTDecode",
            colorspace="DeviceRGB" if image.mode == "RGB" else "DeviceGray",
            bits=8, width=image.width, height=image.height, passthrough=True,
        )
    full_width, full_height = image.size
    factor = _dct_reduction(full_width, full_height, dpi_x, reduce_above) if passthrough is not None else 1
    try:
        if factor > 1:
            pixels = _decode_reduced(passthrough.data, image.mode, factor)
        elif exif_turn != 1:
            image = ImageOps.exif_transpose(image)
            if exif_turn in (5, 6, 7, 8):
                dpi_x, dpi_y = dpi_y, dpi_x
            pixels = _to_pixels(image)
        else:
            pixels = _to_pixels(image)
    except OSError as exc:
        raise InputError(f"{path}: damaged or truncated image ({exc})", ExitCode.DAMAGED) from None
    if abs(dpi_x - dpi_y) > 0.01 * dpi_x:  # fax-style 204 x 98 dpi: make pixels square
        import cv2

        height, width = pixels.shape[:2]
        pixels = cv2.resize(pixels, (width, max(1, round(height * dpi_x / dpi_y))),
                            interpolation=cv2.INTER_CUBIC)
    height, width = pixels.shape[:2]
    if factor > 1:  # the page keeps the scan's size and resolution; only the OCR pixels are fewer
        return SourcePage(pixels=pixels, mode=classify(pixels), dpi=dpi_x, width_pt=full_width * 72 / dpi_x,
                          height_pt=full_height * 72 / dpi_x, passthrough=passthrough, warnings=notes,
                          pixel_scale=width / full_width)
    return SourcePage(
        pixels=pixels, mode=classify(pixels), dpi=dpi_x,
        width_pt=width * 72 / dpi_x, height_pt=height * 72 / dpi_x,
        passthrough=passthrough, warnings=notes,
    )


# ---------------------------------------------------------------- PDF


def _open_pikepdf(path: Path):
    import pikepdf

    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - (1 << 20)))
        tail = handle.read()
    if b"%%EOF" not in tail:
        raise InputError(f"{path}: truncated PDF (no end-of-file marker)", ExitCode.DAMAGED)
    try:
        # A PDF with only an owner password (print/copy restrictions) opens as is: we only read it.
        return pikepdf.open(path)
    except pikepdf.PasswordError:
        raise InputError(f"{path}: encrypted PDF (password protected)", ExitCode.ENCRYPTED) from None
    except pikepdf.PdfError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "unreadable"
        raise InputError(f"{path}: damaged PDF ({first})", ExitCode.DAMAGED) from None


def _rotation(page) -> int:
    """/Rotate as 0/90/180/270; anything else is invalid and means 0, as viewers do."""
    try:
        value = int(page.obj.get("/Rotate", 0))
    except (TypeError, ValueError):
        return 0
    return value % 360 if value % 90 == 0 else 0


def _plain_geometry(page) -> bool:
    """Unrotated, CropBox equal to MediaBox, no UserUnit: page space is what the viewer shows."""
    return (
        _rotation(page) == 0
        and [float(v) for v in page.cropbox] == [float(v) for v in page.mediabox]
        and float(page.obj.get("/UserUnit", 1)) == 1
    )


def _page_box(page) -> tuple[float, float]:
    """Visible page size in points (CropBox, UserUnit and /Rotate applied)."""
    box = [float(v) for v in page.cropbox]
    user_unit = float(page.obj.get("/UserUnit", 1))
    width, height = abs(box[2] - box[0]) * user_unit, abs(box[3] - box[1]) * user_unit
    if _rotation(page) % 180:
        width, height = height, width
    return width, height


def _content_streams(page):
    import pikepdf

    contents = page.obj.get("/Contents")
    if contents is None:
        return []
    return list(contents) if isinstance(contents, pikepdf.Array) else [contents]


def _inspect_pdf(path: Path, max_pixels: int, max_pages: int | None = None,
                 max_page_bytes: int | None = None) -> Document:
    import pikepdf

    pdf = _open_pikepdf(path)
    with pdf:
        try:
            count = len(pdf.pages)
        except Exception:  # qpdf raises on a broken page tree
            raise InputError(f"{path}: damaged PDF (broken page tree)", ExitCode.DAMAGED) from None
        if count == 0:
            raise InputError(f"{path}: PDF has no pages", ExitCode.NO_PAGES)
        _check_page_count(path, count, max_pages)
        for index, page in enumerate(pdf.pages):
            width, height = _page_box(page)
            _check_page_size(path, width / 72, height / 72, f"page {index + 1}")
            _check_pixels(
                path, int(width / 72 * PDF_RENDER_DPI), int(height / 72 * PDF_RENDER_DPI),
                max_pixels, f"page {index + 1} at {PDF_RENDER_DPI} dpi", 3, max_page_bytes,
            )
            try:  # a content stream that does not decode would silently render as a blank page
                for stream in _content_streams(page):
                    stream.read_bytes()
            except pikepdf.PdfError as exc:
                raise InputError(f"{path}: damaged page {index + 1} ({str(exc).splitlines()[0]})",
                                 ExitCode.DAMAGED) from None
            for name, image in page.get_images().items():
                if int(image.get("/Width", 0)) <= 0 or int(image.get("/Height", 0)) <= 0:
                    raise InputError(f"{path}: damaged image {name} on page {index + 1} (no size)",
                                     ExitCode.DAMAGED)
                _check_pixels(
                    path, int(image.get("/Width", 0)), int(image.get("/Height", 0)),
                    max_pixels, f"image {name} on page {index + 1}",
                )
    return Document(path, "pdf", count)


_HANDLES: dict[str, tuple] = {}


def _pdf_handles(path: str):
    """Per-process cache of the open document (pikepdf, pdfplumber, pdfium); see release()."""
    if path not in _HANDLES:
        release()  # one document at a time per process
        _HANDLES[path] = _open_pdf_handles(path)
    return _HANDLES[path]


def release() -> None:
    """Close the cached document handles (call when a file is done)."""
    for pike, plumber, pdfium in _HANDLES.values():
        for handle in (plumber, pdfium, pike):
            try:
                handle.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
    _HANDLES.clear()


def _open_pdf_handles(path: str):
    """Per-process cache: each worker opens the document once, not once per page.

    When pdfplumber's page list disagrees with qpdf's (a sloppy page tree),
    all three libraries read a copy qpdf has normalised, so page n is page n.
    """
    import tempfile

    import pdfplumber
    import pikepdf
    import pypdfium2

    pike = pikepdf.open(path)
    plumber = pdfplumber.open(path)
    if len(plumber.pages) != len(pike.pages):
        plumber.close()
        normalised = tempfile.NamedTemporaryFile(prefix="sohoa-", suffix=".pdf", delete=False)
        pike.save(normalised.name)
        normalised.close()
        path = normalised.name
        pike, plumber = pikepdf.open(path), pdfplumber.open(path)
        Path(path).unlink()  # the open handles keep reading it; nothing is left behind
    return pike, plumber, pypdfium2.PdfDocument(path)


def _text_words(plumber_page) -> list[TextWord]:
    words = plumber_page.extract_words(keep_blank_chars=False, use_text_flow=True)
    return [
        TextWord(w["text"], float(w["x0"]), float(w["top"]), float(w["x1"]), float(w["bottom"]))
        for w in words
        if w["text"].strip()
    ]


def _full_page_image(pike_page, width: float, height: float):
    """The page's single image XObject if it is drawn unrotated over the whole page, else None.

    Follows the graphics state (q/Q/cm) to the one `Do`; pages without exactly
    one image return at once, so vector-heavy pages cost nothing here.
    """
    import pikepdf

    images = pike_page.get_images(recursive=False)
    if len(images) != 1:
        return None
    (name, image), = images.items()
    box = [float(v) for v in pike_page.mediabox]
    stack: list[list[float]] = []
    ctm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    placed = None
    for operands, operator in pikepdf.parse_content_stream(pike_page, "q Q cm Do"):
        op = str(operator)
        if op == "q":
            stack.append(ctm)
        elif op == "Q":
            ctm = stack.pop() if stack else ctm
        elif op == "cm":
            a, b, c, d, e, f = (float(v) for v in operands)
            ctm = [
                a * ctm[0] + b * ctm[2], a * ctm[1] + b * ctm[3],
                c * ctm[0] + d * ctm[2], c * ctm[1] + d * ctm[3],
                e * ctm[0] + f * ctm[2] + ctm[4], e * ctm[1] + f * ctm[3] + ctm[5],
            ]
        elif op == "Do":
            if placed is not None or str(operands[0]) != name:
                return None  # drawn twice, or a form XObject: not a plain scan
            placed = ctm
    if placed is None:
        return None
    a, b, c, d, e, f = placed
    tol_w, tol_h = width * COVER_TOLERANCE, height * COVER_TOLERANCE
    covers = (
        abs(b) < 1e-6 and abs(c) < 1e-6
        and abs(e - box[0]) <= tol_w and abs(f - box[1]) <= tol_h
        and abs(a - width) <= tol_w and abs(d - height) <= tol_h
    )
    return image if covers else None


def _passthrough_stream(stream) -> EncodedImage | None:
    """Keep a scanned page's JPEG or G4 bytes as they are when the PDF/A rules allow it."""
    import pikepdf

    filters = stream.get("/Filter")
    if isinstance(filters, pikepdf.Array):
        filters = filters[0] if len(filters) == 1 else None
    space = stream.get("/ColorSpace")
    if isinstance(space, pikepdf.Array) and str(space[0]) == "/ICCBased":
        space = {1: pikepdf.Name.DeviceGray, 3: pikepdf.Name.DeviceRGB}.get(int(space[1].get("/N", 0)))
    width, height = int(stream.Width), int(stream.Height)
    bits = int(stream.get("/BitsPerComponent", 8))
    if stream.get("/Decode") is not None or stream.get("/SMask") is not None:
        return None
    if filters == pikepdf.Name.DCTDecode and bits == 8 and space in (
        pikepdf.Name.DeviceRGB, pikepdf.Name.DeviceGray
    ):
        return EncodedImage(
            data=stream.read_raw_bytes(), filter="DCTDecode", colorspace=str(space)[1:],
            bits=8, width=width, height=height, passthrough=True,
        )
    if filters == pikepdf.Name.CCITTFaxDecode:
        parms = stream.get("/DecodeParms")
        if isinstance(parms, pikepdf.Array):
            parms = parms[0]
        if parms is not None and int(parms.get("/K", 0)) < 0 and not parms.get("/EncodedByteAlign"):
            encoded = g4_image(stream.read_raw_bytes(), width, height, bool(parms.get("/BlackIs1", False)))
            encoded.passthrough = True
            return encoded
    return None


def _load_pdf_page(path: Path, index: int, reduce_above: int | None = None) -> SourcePage:
    import pikepdf

    pike, plumber, pdfium = _pdf_handles(str(path))
    pike_page, plumber_page = pike.pages[index], plumber.pages[index]
    plain = _plain_geometry(pike_page)
    # pdfium counts characters in milliseconds; pdfplumber is only asked when there are some.
    has_text = pdfium[index].get_textpage().count_chars() > 0
    if has_text and plain:  # born-digital: keep its text, render it for the archival image
        words = _text_words(plumber_page)
        if words:
            pixels = _render(pdfium, index, PDF_RENDER_DPI)
            return _rendered(pixels, PDF_RENDER_DPI, words=words)
    # Rotated or cropped text pages are rendered as pdfium shows them and OCR'd.

    width_pt, height_pt = _page_box(pike_page)
    image = _full_page_image(pike_page, width_pt, height_pt) if plain and not has_text else None
    if image is not None and int(image.Width) * 72 / width_pt < MIN_TRUSTED_DPI:
        image = None  # a thumbnail stretched over the page: render the page instead
    dpi: float = PDF_RENDER_DPI
    if image is not None:
        dpi = int(image.Width) * 72 / width_pt
        encoded = _passthrough_stream(image)
        if encoded is not None and encoded.filter == "DCTDecode":  # kept as is: OCR may read it smaller
            factor = _dct_reduction(encoded.width, encoded.height, dpi, reduce_above)
            if factor > 1:
                pixels = _decode_reduced(encoded.data, "L" if encoded.colorspace == "DeviceGray" else "RGB", factor)
                return SourcePage(pixels, classify(pixels), dpi, width_pt, height_pt, passthrough=encoded,
                                  pixel_scale=pixels.shape[1] / encoded.width)
        pil = None
        # pikepdf ignores /Decode on JPEG streams: let pdfium draw those.
        if image.get("/Decode") is None or image.get("/Filter") not in (
            pikepdf.Name.DCTDecode, pikepdf.Name.JPXDecode
        ):
            try:
                pil = pikepdf.PdfImage(image).as_pil_image()
            except Exception:  # a codec pikepdf lacks (JBIG2 without jbig2dec): pdfium draws it
                pil = None
        if pil is not None:
            pixels = _to_pixels(pil)
            mode = "bilevel" if encoded and encoded.bits == 1 else classify(pixels)
            return SourcePage(pixels, mode, dpi, width_pt, height_pt, passthrough=encoded)
        dpi = min(max(dpi, 200), 600)
        pixels = _render(pdfium, index, dpi)
        if pixels.min() == pixels.max():  # the page's only image did not decode anywhere
            raise InputError(f"{path}: damaged image on page {index + 1}", ExitCode.DAMAGED)
        return _rendered(pixels, dpi)
    return _rendered(_render(pdfium, index, dpi), dpi)


def _rendered(pixels: np.ndarray, dpi: float, words: list[TextWord] | None = None) -> SourcePage:
    """A page as pdfium drew it: its size is the drawing's, so nothing is stretched."""
    height, width = pixels.shape[:2]
    return SourcePage(pixels, classify(pixels), dpi, width * 72 / dpi, height * 72 / dpi, words=words)


def _render(pdfium, index: int, dpi: float) -> np.ndarray:
    bitmap = pdfium[index].render(scale=dpi / 72, rev_byteorder=True)
    pixels = bitmap.to_numpy()[..., :3]
    if np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2]):
        return np.ascontiguousarray(pixels[..., 0])
    return np.ascontiguousarray(pixels)


# ---------------------------------------------------------------- entry points


def _damaged(path: Path, where: str, exc: Exception) -> InputError:
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
    return InputError(f"{path}: damaged {where} ({detail})", ExitCode.DAMAGED)


def inspect(path: Path, max_pixels: int, max_pages: int | None = None, max_page_bytes: int | None = None) -> Document:
    """Refuse bad input before any work: type, damage, page count, pixels and decoded bytes per page."""
    kind = sniff(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "pdf":
                return _inspect_pdf(path, max_pixels, max_pages, max_page_bytes)
            return _inspect_image(path, kind, max_pixels, max_pages, max_page_bytes)
    except InputError:
        raise
    except Exception as exc:  # any decoder failure on input bytes means a damaged file
        raise _damaged(path, "file", exc) from None


def load_page(path: Path, kind: Kind, index: int, frame: int | None = None,
              reduce_above: int | None = None) -> SourcePage:
    """Page `index` (0-based); for images `frame` is its frame in the file.

    `reduce_above` (pixels): a JPEG page above it whose bytes are archived as they are may be
    decoded smaller for OCR (SourcePage.pixel_scale says how much)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "pdf":
                page = _load_pdf_page(path, index, reduce_above)
            else:
                page = _load_image_page(path, index if frame is None else frame, reduce_above)
    except InputError:
        raise
    except Exception as exc:  # decoders (Pillow, qpdf, pdfium, pdfminer) on bad bytes
        raise _damaged(path, f"page {index + 1}", exc) from None
    height, width = page.pixels.shape[:2]
    if width < 1 or height < 1 or page.dpi <= 0:
        raise InputError(f"{path}: page {index + 1} has no pixels", ExitCode.DAMAGED)
    return page
