"""`sohoa sheets`: printed cover and separator sheets survive a 200 dpi photocopy, skew and a turn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pikepdf
import pypdfium2
import pytest
from PIL import Image

from sohoa.core.errors import ExitCode
from sohoa.split.codes import page_mark, read_codes
from sohoa.testkit import effects

DOSSIER = "000.00.12.H36-240115-0001"


def sohoa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sohoa", *args], capture_output=True, text=True, timeout=120)


def _photocopies(pdf: Path, seed: int) -> list[Image.Image]:
    """Each page printed, rasterised at 200 dpi, photocopied, skewed 3° and turned upside down."""
    rng = np.random.default_rng(seed)
    document = pypdfium2.PdfDocument(pdf)
    pages = []
    for index in range(len(document)):
        gray = document[index].render(scale=200 / 72).to_pil().convert("L")
        copy = effects.photocopy(rng, gray, 200).convert("L")
        pages.append(copy.rotate(3, resample=Image.BICUBIC, fillcolor=255).rotate(180))
    document.close()
    return pages


def test_sheets_print_a4_and_read_back_after_photocopy_skew_and_turn(tmp_path):
    out = tmp_path / "to-bia.pdf"
    done = sohoa("sheets", "--dossier", DOSSIER.lower(), "--doc-type", "GKS=Giấy khai sinh", "--count", "2",
                 "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "1 cover, 2 separator(s), 3 A4 page(s)" in done.stdout
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 3
        width, height = (float(v) for v in pdf.pages[0].mediabox[2:])
        assert abs(width - 595.3) < 1 and abs(height - 841.9) < 1  # A4 in points
        image = next(iter(pdf.pages[0].get_images().values()))
        assert image.Filter == pikepdf.Name.CCITTFaxDecode and int(image.Width) == 2480  # 300 dpi bilevel
    marks = [page_mark(read_codes(page)) for page in _photocopies(out, seed=7)]
    assert [(m.kind, m.dossier, m.doc_type) for m in marks] == [
        ("cover", DOSSIER, None), ("separator", None, "GKS"), ("separator", None, None)]
    cover_codes = read_codes(_photocopies(out, seed=8)[0])
    assert {c.format for c in cover_codes} == {"qr", "code128"}  # the code 128 too, for hand scanners
    assert DOSSIER in {c.text for c in cover_codes}


def test_sheet_text_is_vietnamese_and_the_payload_versioned(tmp_path):
    from sohoa.split.sheets import Separator, cover_page, separator_page

    cover, separator = cover_page(DOSSIER), separator_page(Separator("GKS", "Giấy khai sinh"))
    assert cover.size == separator.size == (2480, 3508)
    assert [c.text for c in read_codes(cover) if c.format == "qr"] == [f"SOHOA1:COVER:{DOSSIER}"]
    assert [c.text for c in read_codes(separator)] == ["SOHOA1:SEP:GKS"]
    # Ink covers a sane share of the page: text and symbols are printed, not an empty sheet.
    ink = 1 - np.asarray(cover.convert("L")).mean() / 255
    assert 0.02 < ink < 0.3


@pytest.mark.parametrize("args, code, message", [
    (["--dossier", "000.00.12.H36-241315-0001"], ExitCode.INVALID_CODE, "not a date"),
    (["--doc-type", "giấy tờ"], ExitCode.INVALID_CODE, "invalid document type code"),
    (["--count", "0"], ExitCode.USAGE, "nothing to print"),
])
def test_sheets_bad_input_is_one_line_and_a_distinct_exit_code(tmp_path, args, code, message):
    out = tmp_path / "x.pdf"
    done = sohoa("sheets", *args, "--out", str(out))
    assert done.returncode == code
    assert done.stderr.startswith("sohoa: error: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not out.exists()


def test_sheets_unwritable_output_is_an_output_error(tmp_path):
    done = sohoa("sheets", "--count", "1", "--out", str(tmp_path / "missing" / "x.pdf"))
    assert done.returncode == ExitCode.OUTPUT_ERROR and "cannot write" in done.stderr
