"""The invisible text sits on the printed words: a viewer's selection lands on the right place."""

from __future__ import annotations

import re
import subprocess

import pytest

from sohoa.ocr import textlayer


def _pdftotext_boxes(path):
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    pattern = r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    return [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in re.findall(pattern, html)]


@pytest.mark.parametrize("kind", ["clean", "skew", "rot90", "rot270"])
def test_selection_boxes_overlap_the_ocr_boxes(ocr_kind, kind):
    run = ocr_kind(kind)
    ocr_boxes = run.result.word_boxes[0]
    pdf_boxes = _pdftotext_boxes(run.output)
    assert len(pdf_boxes) >= 0.9 * len(ocr_boxes)
    hits = 0
    for x0, y0, x1, y1, _ in pdf_boxes:
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        if any(b[0] - 3 <= cx <= b[2] + 3 and b[1] - 3 <= cy <= b[3] + 3
               for b in (w["box_pt"] for w in ocr_boxes)):
            hits += 1
    assert hits >= 0.95 * len(pdf_boxes)


def test_encode_text_is_nfc_utf16():
    decomposed = "Vie\u0302\u0323t"  # "Việt" in NFD
    assert textlayer.encode_text(decomposed) == "".join(f"{ord(c):04X}" for c in "Việt")
    assert textlayer.encode_text("a\U0001F600") == "0061"  # outside the BMP: dropped


def test_font_program_is_a_valid_truetype_with_uniform_width():
    from io import BytesIO

    from fontTools.ttLib import TTFont

    font = TTFont(BytesIO(textlayer.font_program()))
    assert font["head"].unitsPerEm == textlayer.UNITS_PER_EM
    assert {w for w, _ in font["hmtx"].metrics.values()} == {textlayer.GLYPH_ADVANCE}
