"""Malformed and hostile inputs the ingest stage must reject cleanly.

Each file is what its key says and is built from scratch here, so tests do
not depend on fixtures checked into the repository.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pikepdf

from .degrade import make_scan
from .vietnamese import document_text
from .writers import _text_pdf, save_image

BOMB_SIDE = 40_000  # pixels per side of the decompression-bomb PNG


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_bomb_png(path: Path, side: int = BOMB_SIDE, dpi: int = 300) -> Path:
    """All-white 1-bit PNG of `side` x `side` pixels, streamed row by row.

    The image is never held in memory: each filtered scanline (filter byte 0
    plus packed white bits) goes through one zlib stream and compressed output
    is emitted as IDAT chunks, so 1.6 gigapixels cost ~200 KB on disk.
    """
    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    ppm = round(dpi / 0.0254)  # pHYs is in pixels per metre
    compressor = zlib.compressobj(9)
    with open(path, "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        # IHDR: width, height, bit depth 1, colour type 0 (gray), deflate, filter 0, no interlace.
        out.write(_png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)))
        out.write(_png_chunk(b"pHYs", struct.pack(">IIB", ppm, ppm, 1)))
        pending = bytearray()
        for _ in range(side):
            pending += compressor.compress(row)
            if len(pending) >= 1 << 16:
                out.write(_png_chunk(b"IDAT", bytes(pending)))
                pending.clear()
        pending += compressor.flush()
        out.write(_png_chunk(b"IDAT", bytes(pending)))
        out.write(_png_chunk(b"IEND", b""))
    return path


def _no_pages_pdf() -> bytes:
    """A syntactically valid PDF whose page tree is empty, with a correct xref,
    written by hand so it does not depend on a library accepting zero pages."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _page_of_size(width_pt: float, height_pt: float) -> pikepdf.Pdf:
    """One-page PDF with an arbitrary MediaBox. The page dictionary is built
    directly because `add_blank_page` enforces the spec's 3..14400 pt range,
    which is exactly what these fixtures must violate."""
    pdf = pikepdf.new()
    # A short mark on the page so it is not also an empty-content edge case.
    content = b"0 0 0 rg 0 0 %.2f %.2f re f" % (width_pt / 2, height_pt / 2)
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, width_pt, height_pt],
        Resources=pikepdf.Dictionary(),
        Contents=pikepdf.Stream(pdf, content),
    )
    pdf.pages.append(pikepdf.Page(page))
    return pdf


def write_bad_inputs(dir: str | Path) -> dict[str, Path]:
    """Write the bad inputs into `dir` and return them by name.

    Keys: zero_byte, truncated_pdf, truncated_jpeg, not_a_document,
    encrypted_pdf (user password "secret", AES-256), no_pages_pdf, bomb_png,
    tiny_page_pdf (1 x 1 pt MediaBox), huge_page_pdf (30000 x 30000 pt).
    """
    root = Path(dir)
    root.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    paths["zero_byte"] = root / "zero_byte.pdf"
    paths["zero_byte"].write_bytes(b"")

    good_pdf = _text_pdf([document_text(1)], "DejaVuSerif")
    paths["truncated_pdf"] = root / "truncated.pdf"
    paths["truncated_pdf"].write_bytes(good_pdf[: len(good_pdf) // 2])

    jpeg = save_image(make_scan("gray200_jpeg", 2), root / "truncated.jpg", "jpeg")
    data = jpeg.read_bytes()
    jpeg.write_bytes(data[: len(data) // 2])
    paths["truncated_jpeg"] = jpeg

    # A ZIP archive wearing a .pdf name: extension sniffing alone would accept it.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ghi_chu.txt", "Đây không phải là tài liệu PDF.\n")
    paths["not_a_document"] = root / "not_a_document.pdf"
    paths["not_a_document"].write_bytes(buf.getvalue())

    paths["encrypted_pdf"] = root / "encrypted.pdf"
    with pikepdf.open(io.BytesIO(good_pdf)) as pdf:
        pdf.save(paths["encrypted_pdf"],
                 encryption=pikepdf.Encryption(user="secret", owner="owner-secret", R=6))

    paths["no_pages_pdf"] = root / "no_pages.pdf"
    paths["no_pages_pdf"].write_bytes(_no_pages_pdf())

    paths["bomb_png"] = write_bomb_png(root / "bomb.png")

    for key, side in (("tiny_page_pdf", 1), ("huge_page_pdf", 30_000)):
        paths[key] = root / f"{key.removesuffix('_pdf')}.pdf"
        with _page_of_size(side, side) as pdf:
            pdf.save(paths[key], deterministic_id=True)
    return paths
