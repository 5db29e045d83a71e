"""The invisible OCR text layer: a glyphless embedded font and word placement.

Every character maps (CID = Unicode code point) to one empty glyph of width
half an em; /ToUnicode maps CIDs back to Unicode, so copy-paste and
`pdftotext` give the exact NFC text. Each word is stretched (Tz) to the width
of its box and turned by the page skew, so a selection covers the printed word.
"""

from __future__ import annotations

import io
import math
import unicodedata
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

FONT_NAME: Final[str] = "SohoaGlyphless"
UNITS_PER_EM: Final[int] = 1000
GLYPH_ADVANCE: Final[int] = 500
ASCENT: Final[int] = 800
DESCENT: Final[int] = -200


@dataclass(frozen=True, slots=True)
class PlacedWord:
    """A word on the output page, PDF coordinates (points, origin bottom-left)."""

    text: str
    x: float  # baseline start
    y: float
    width: float  # advance the word (and its trailing space) must span
    size: float  # font size in points
    angle: float = 0.0  # degrees counter-clockwise


@lru_cache(maxsize=1)
def font_program() -> bytes:
    """A TrueType font with .notdef and one empty glyph, both GLYPH_ADVANCE wide."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    builder = FontBuilder(UNITS_PER_EM, isTTF=True)
    builder.setupGlyphOrder([".notdef", "blank"])
    builder.setupCharacterMap({0x20: "blank"})
    empty = TTGlyphPen(None).glyph()
    builder.setupGlyf({".notdef": empty, "blank": TTGlyphPen(None).glyph()})
    builder.setupHorizontalMetrics({".notdef": (GLYPH_ADVANCE, 0), "blank": (GLYPH_ADVANCE, 0)})
    builder.setupHorizontalHeader(ascent=ASCENT, descent=DESCENT)
    builder.setupNameTable({"familyName": FONT_NAME, "styleName": "Regular"})
    builder.setupOS2(sTypoAscender=ASCENT, sTypoDescender=DESCENT, usWinAscent=ASCENT,
                     usWinDescent=-DESCENT)
    builder.setupPost()
    buffer = io.BytesIO()
    builder.save(buffer)
    return buffer.getvalue()


def cid_to_gid_map() -> bytes:
    """Every 16-bit CID draws glyph 1 (the empty one)."""
    return b"\x00\x01" * 65536


TO_UNICODE_CMAP: Final[bytes] = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
1 beginbfrange
<0000> <FFFF> <0000>
endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end
"""


def encode_text(text: str) -> str:
    """Hex string of 2-byte CIDs; characters outside the BMP cannot be CIDs and are dropped."""
    text = unicodedata.normalize("NFC", text)
    return "".join(f"{ord(ch):04X}" for ch in text if ord(ch) <= 0xFFFF)


def content_stream(words: list[PlacedWord], font_resource: str = "/FText") -> bytes:
    """Operators drawing `words` invisibly (text render mode 3)."""
    if not words:
        return b""
    out = ["BT", "3 Tr"]
    current_size = None
    for word in words:
        hex_text = encode_text(word.text)
        if not hex_text or word.size <= 0 or word.width <= 0:
            continue
        if word.size != current_size:
            out.append(f"{font_resource} {word.size:.2f} Tf")
            current_size = word.size
        natural = len(hex_text) // 4 * word.size * GLYPH_ADVANCE / UNITS_PER_EM
        scale = 100.0 * word.width / natural
        cos, sin = math.cos(math.radians(word.angle)), math.sin(math.radians(word.angle))
        out.append(f"{scale:.2f} Tz")
        out.append(f"{cos:.5f} {sin:.5f} {-sin:.5f} {cos:.5f} {word.x:.2f} {word.y:.2f} Tm")
        out.append(f"<{hex_text}> Tj")
    out.append("ET")
    return ("\n".join(out) + "\n").encode("ascii")


def compressed_cid_map() -> bytes:
    return zlib.compress(cid_to_gid_map(), 9)
