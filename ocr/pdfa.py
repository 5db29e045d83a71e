"""Assemble the PDF/A "two-layer" file: page image with the invisible text under it.

PDF/A-2b by default (object streams allowed, PDF 1.7), PDF/A-1b on request
(PDF 1.4: no object streams, no transparency). The sRGB output intent comes
from Debian's ICC profile (libgs-common); fonts are embedded; XMP and the
document info agree, as both PDF/A levels demand.
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Final, Literal

from typing import TYPE_CHECKING

import sohoa
from sohoa.core.errors import MissingDependency
from sohoa.ocr import textlayer
from sohoa.ocr.images import EncodedImage

if TYPE_CHECKING:
    import pikepdf

Level = Literal["1b", "2b"]
SRGB_ICC_CANDIDATES: Final = (
    "/usr/share/color/icc/ghostscript/srgb.icc",
    "/usr/share/color/icc/sRGB.icc",
    "/usr/share/color/icc/colord/sRGB.icc",
)
PRODUCER: Final[str] = f"sohoa {sohoa.__version__}"


def srgb_profile() -> bytes:
    for candidate in SRGB_ICC_CANDIDATES:
        if os.path.exists(candidate):
            return Path(candidate).read_bytes()
    raise MissingDependency("sRGB ICC profile not found: install libgs-common (make install)")


def image_matrix(rotation: int, width_pt: float, height_pt: float, skew: float = 0.0) -> list[float]:
    """`cm` operands that show the image upright and straight.

    width_pt/height_pt are the image's own (unrotated) size; the image is
    turned `rotation` degrees clockwise, then `skew` degrees clockwise about
    the page centre. Turning the drawing instead of the pixels keeps JPEG and
    G4 originals byte for byte, and a straight page gets a straight text layer.
    """
    w, h = width_pt, height_pt
    orient = {
        0: [w, 0, 0, h, 0, 0],
        90: [0, -w, h, 0, 0, w],
        180: [-w, 0, 0, -h, w, h],
        270: [0, w, -h, 0, h, 0],
    }[rotation % 360]
    if not skew:
        return orient
    page_w, page_h = (h, w) if rotation % 180 else (w, h)
    cx, cy = page_w / 2, page_h / 2
    phi = math.radians(-skew)  # PDF space is y-up: clockwise is a negative angle
    cos, sin = math.cos(phi), math.sin(phi)
    turn = [cos, sin, -sin, cos, cx - cx * cos + cy * sin, cy - cx * sin - cy * cos]
    return _concat(orient, turn)


def _concat(first: list[float], then: list[float]) -> list[float]:
    """PDF matrix product: apply `first`, then `then` (row-vector convention)."""
    a1, b1, c1, d1, e1, f1 = first
    a2, b2, c2, d2, e2, f2 = then
    return [
        a1 * a2 + b1 * c2, a1 * b2 + b1 * d2,
        c1 * a2 + d1 * c2, c1 * b2 + d1 * d2,
        e1 * a2 + f1 * c2 + e2, e1 * b2 + f1 * d2 + f2,
    ]


def escape(text: str) -> str:
    """XML character data (xml.sax.saxutils.escape, whose import pulls in urllib and email: issue #17)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xmp_packet(title: str, language: str, level: str, when: datetime) -> bytes:
    """The XMP packet, namespaces declared on rdf:Description (PDFBox's xmpbox requires it)."""
    stamp = when.isoformat()
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li></rdf:Alt></dc:title>
   <dc:language><rdf:Bag><rdf:li>{escape(language)}</rdf:li></rdf:Bag></dc:language>
   <xmp:CreatorTool>{PRODUCER}</xmp:CreatorTool>
   <xmp:CreateDate>{stamp}</xmp:CreateDate>
   <xmp:ModifyDate>{stamp}</xmp:ModifyDate>
   <xmp:MetadataDate>{stamp}</xmp:MetadataDate>
   <pdf:Producer>{PRODUCER}</pdf:Producer>
   <pdfaid:part>{level[0]}</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode("utf-8")


class PdfABuilder:
    """Adds pages one by one; `save` writes the finished PDF/A file."""

    def __init__(self, level: Level = "2b", title: str = "", language: str = "vi-VN") -> None:
        import pikepdf  # here, not at import: `sohoa ocr` needs it only once its first page is back

        self.level = level
        self.title = title
        self.language = language
        self.pdf = pikepdf.new()
        self._font = self._make_font()

    def _make_font(self) -> pikepdf.Object:
        from pikepdf import Dictionary, Name

        pdf = self.pdf
        program = pdf.make_stream(textlayer.font_program())
        program.Length1 = len(textlayer.font_program())
        descriptor = pdf.make_indirect(Dictionary(
            Type=Name.FontDescriptor, FontName=Name("/" + textlayer.FONT_NAME), Flags=4,
            FontBBox=[0, textlayer.DESCENT, textlayer.GLYPH_ADVANCE, textlayer.ASCENT],
            ItalicAngle=0, Ascent=textlayer.ASCENT, Descent=textlayer.DESCENT,
            CapHeight=textlayer.ASCENT, StemV=80, FontFile2=program,
        ))
        cid_map = pdf.make_stream(textlayer.compressed_cid_map())
        cid_map.Filter = Name.FlateDecode
        cid_font = pdf.make_indirect(Dictionary(
            Type=Name.Font, Subtype=Name.CIDFontType2, BaseFont=Name("/" + textlayer.FONT_NAME),
            CIDSystemInfo=Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
            FontDescriptor=descriptor, DW=textlayer.GLYPH_ADVANCE, CIDToGIDMap=cid_map,
        ))
        return pdf.make_indirect(Dictionary(
            Type=Name.Font, Subtype=Name.Type0, BaseFont=Name("/" + textlayer.FONT_NAME),
            Encoding=Name("/Identity-H"), DescendantFonts=[cid_font],
            ToUnicode=pdf.make_stream(textlayer.TO_UNICODE_CMAP),
        ))

    def add_page(
        self,
        width_pt: float,
        height_pt: float,
        image: EncodedImage,
        image_cm: list[float],
        words: list[textlayer.PlacedWord],
    ) -> None:
        import pikepdf
        from pikepdf import Dictionary, Name

        pdf = self.pdf
        xobject = pdf.make_stream(image.data)
        xobject.Type = Name.XObject
        xobject.Subtype = Name.Image
        xobject.Width, xobject.Height = image.width, image.height
        xobject.ColorSpace = Name("/" + image.colorspace)
        xobject.BitsPerComponent = image.bits
        xobject.Filter = Name("/" + image.filter)
        if image.decode_parms:
            xobject.DecodeParms = Dictionary({"/" + k: v for k, v in image.decode_parms.items()})
        drawing = "q {} cm /Im0 Do Q\n".format(" ".join(f"{v:.4f}" for v in image_cm)).encode()
        contents = pdf.make_stream(drawing + textlayer.content_stream(words))
        page = Dictionary(
            Type=Name.Page,
            MediaBox=[0, 0, round(width_pt, 3), round(height_pt, 3)],
            Resources=Dictionary(XObject=Dictionary(Im0=xobject), Font=Dictionary(FText=self._font)),
            Contents=contents,
        )
        pdf.pages.append(pikepdf.Page(page))

    def _finish_metadata(self) -> None:
        import pikepdf
        from pikepdf import Array, Dictionary, Name

        pdf = self.pdf
        icc = pdf.make_stream(srgb_profile())
        icc.N = 3
        pdf.Root.OutputIntents = Array([Dictionary(
            Type=Name.OutputIntent, S=Name.GTS_PDFA1,
            OutputConditionIdentifier="sRGB IEC61966-2.1", Info="sRGB IEC61966-2.1",
            RegistryName="http://www.color.org", DestOutputProfile=icc,
        )])
        pdf.Root.Lang = pikepdf.String(self.language)
        pdf.Root.MarkInfo = Dictionary(Marked=False)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        title = self.title or "sohoa record"
        metadata = pdf.make_stream(xmp_packet(title, self.language, self.level, now))
        metadata.Type, metadata.Subtype = Name.Metadata, Name.XML
        pdf.Root.Metadata = metadata
        pdf_date = now.strftime("D:%Y%m%d%H%M%S+00'00'")
        pdf.trailer.Info = pdf.make_indirect(Dictionary(
            Title=pikepdf.String(title), Producer=PRODUCER, Creator=PRODUCER,
            CreationDate=pdf_date, ModDate=pdf_date,
        ))

    def save(self, path: Path) -> None:
        import pikepdf

        self._finish_metadata()
        if self.level == "1b":
            self.pdf.save(
                path, min_version="1.4", force_version="1.4",
                object_stream_mode=pikepdf.ObjectStreamMode.disable, fix_metadata_version=False,
            )
        else:
            self.pdf.save(
                path, min_version="1.7", force_version="1.7",
                object_stream_mode=pikepdf.ObjectStreamMode.generate, fix_metadata_version=False,
            )
        self.pdf.close()
