"""The TrueType fonts embedded in what signing draws on page 1.

DejaVu Sans (Debian fonts-dejavu-core) has every Vietnamese glyph and draws the signature box;
Liberation Serif (Debian fonts-liberation2) is metric-compatible with Times New Roman, the font
TT 05/2025/TT-BNV names for "BẢN SAO". Both are found through fontconfig, then at known paths.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from sohoa.core.errors import ExitCode, SohoaError

logging.getLogger("fontTools").setLevel(logging.ERROR)  # "FFTM NOT subset" and the like: harmless

SIGNATURE_FONT = ("DejaVu Sans", "DejaVuSans.ttf", "fonts-dejavu-core",
                  ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",))
COPY_FONT = ("Liberation Serif", "LiberationSerif-Regular.ttf", "fonts-liberation2",
             ("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
              "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf"))


def _fc_match(family: str) -> Path | None:
    if not shutil.which("fc-match"):
        return None
    result = subprocess.run(["fc-match", "-f", "%{file}", family], capture_output=True, text=True, timeout=30)
    found = Path(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip() else None
    return found if found and found.suffix.lower() == ".ttf" else None


@lru_cache(maxsize=None)
def font_file(spec: tuple[str, str, str, tuple[str, ...]]) -> Path:
    """The TrueType file of a font spec, or a SIGNING_SETUP error naming the Debian package."""
    family, file_name, package, known = spec
    matched = _fc_match(family)
    if matched is not None and matched.name == file_name and matched.exists():
        return matched
    for candidate in known:
        if Path(candidate).exists():
            return Path(candidate)
    raise SohoaError(f"font {family} not found: install the Debian package {package}", ExitCode.SIGNING_SETUP)


def cid_set(cids: set[int]) -> bytes:
    """A PDF CIDSet bitmap: bit `cid` (most significant bit first) set for every CID the subset holds."""
    data = bytearray(max(cids) // 8 + 1)
    for cid in cids:
        data[cid // 8] |= 0x80 >> (cid % 8)
    return bytes(data)


VIETNAMESE_LATIN: tuple[int, ...] = (*range(0x20, 0x7F), *range(0xA0, 0x1B1), *range(0x300, 0x324),
                                     *range(0x1EA0, 0x1EFA), 0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D)


@lru_cache(maxsize=4)
def font_at_1000_units(path: Path) -> bytes:
    """The font rescaled to 1000 units per em. pyHanko writes glyph widths (/W) and kerning in the
    font's own units, while PDF reads them in thousandths of an em: DejaVu (2048 units) would get
    doubled widths, which PDFBox Preflight rejects (3.1.6) and viewers draw too wide."""
    from io import BytesIO

    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    from fontTools import subset

    font = TTFont(str(path))
    # Only the letters signing can draw (Vietnamese Latin, digits, punctuation): rescaling the
    # whole of DejaVu costs seconds, this subset a fraction of one.
    options = subset.Options(layout_features=["*"], notdef_outline=True, name_IDs=["*"], name_languages=["*"])
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(unicodes=VIETNAMESE_LATIN)
    subsetter.subset(font)
    if font["head"].unitsPerEm != 1000:
        scale_upem(font, 1000)
    out = BytesIO()
    font.save(out)
    return out.getvalue()


def pdfa_font_factory(path: Path, size: int):
    """pyHanko's embedded-TrueType engine on the font at 1000 units per em, plus the CIDSet that
    PDF/A-1 asks of a subset CID font (PDFBox Preflight 3.1.11); the subset keeps glyph ids, so CID = GID."""
    from dataclasses import dataclass
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory

    class PdfaGlyphAccumulator(GlyphAccumulator):
        def prepare_write(self) -> None:
            if self._write_prepared:
                return
            super().prepare_write()
            cids = {cid for cid, _ in self._glyphs.values()} | {0}
            stream = generic.StreamObject(stream_data=cid_set(cids))
            stream.compress()
            self.cidfont_obj._font_descriptor[generic.pdf_name("/CIDSet")] = self.writer.add_object(stream)

    @dataclass(frozen=True)
    class PdfaGlyphAccumulatorFactory(GlyphAccumulatorFactory):
        def create_font_engine(self, writer, obj_stream=None):
            if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
                obj_stream = writer.prepare_object_stream()
            return PdfaGlyphAccumulator(writer=writer, font_handle=BytesIO(font_at_1000_units(Path(self.font_file))),
                                        font_size=self.font_size, obj_stream=obj_stream)

    return PdfaGlyphAccumulatorFactory(str(path), font_size=size)
