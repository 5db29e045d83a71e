"""Every supported input format, type sniffed from bytes; multi-page order; PDFs born-digital and mixed."""

from __future__ import annotations

import shutil

import pikepdf
import pytest

from sohoa.ocr.pipeline import OcrOptions, run
from sohoa.ocr.sniff import sniff
from sohoa.testkit import scans
from sohoa.testkit.metrics import cer
from sohoa.testkit.vietnamese import document_text

pytestmark = pytest.mark.ocr  # real Tesseract over every input format (make test-fast leaves it out)


@pytest.fixture(scope="module")
def clean_scan():
    return scans.make_scan("clean", seed=11)


@pytest.mark.parametrize(
    "fmt, kind",
    [("jpeg", "jpeg"), ("png", "png"), ("png-palette", "png"), ("png-alpha", "png"),
     ("tiff-g4", "tiff"), ("tiff-lzw", "tiff"), ("tiff-jpeg", "tiff"), ("jpeg-cmyk", "jpeg")],
)
def test_image_formats(tmp_path, clean_scan, fmt, kind):
    source = scans.save_image(clean_scan, tmp_path / f"scan.{fmt}", fmt)
    misnamed = tmp_path / "scan.pdf"  # the name lies; the bytes decide
    shutil.copy(source, misnamed)
    assert sniff(misnamed) == kind
    result = run(misnamed, tmp_path / "out.pdf", OcrOptions(jobs=1))
    assert result.report.page_count == 1 and result.report.input_type == kind
    assert cer(clean_scan.text, result.texts[0]) <= 0.03
    with pikepdf.open(tmp_path / "out.pdf") as pdf:
        box = [float(v) for v in pdf.pages[0].mediabox]
    assert box[2] == pytest.approx(210 / 25.4 * 72, abs=1.5) and box[3] == pytest.approx(297 / 25.4 * 72, abs=1.5)


def test_multipage_tiff_keeps_count_and_order_in_parallel(tmp_path):
    pages = [scans.make_scan(kind, seed=20 + i) for i, kind in enumerate(["clean", "faint", "skew", "clean"])]
    source = scans.save_multipage_tiff(pages, tmp_path / "four.tif", compression="group4")
    result = run(source, tmp_path / "four.pdf", OcrOptions(jobs=2))
    assert result.report.page_count == 4 and len(result.texts) == 4
    for page, text in zip(pages, result.texts):
        assert cer(page.text, text) <= 0.05  # each page's text is its own: order kept
    assert [p.number for p in result.report.pages] == [1, 2, 3, 4]
    assert len({p.worker for p in result.report.pages}) == 2  # both cores used


def test_scanned_pdf_pages_pass_through(tmp_path):
    pages = [scans.make_scan("clean", seed=31), scans.make_scan("rot180", seed=32),
             scans.make_scan("photocopy_g4", seed=33)]
    source = scans.save_image_pdf(pages, tmp_path / "scanned.pdf")
    result = run(source, tmp_path / "out.pdf", OcrOptions(jobs=2))
    assert result.report.page_count == 3
    assert [p.ocr for p in result.report.pages] == [True, True, True]
    assert result.report.pages[1].rotation == 180
    assert all("passthrough" in p.image for p in result.report.pages)
    for page, text, limit in zip(pages, result.texts, (0.03, 0.03, 0.10)):
        assert cer(page.text, text) <= limit  # seed 33 is a harsh, thinned photocopy


def test_born_digital_pdf_keeps_its_text_without_ocr(tmp_path):
    docs = [document_text(41), document_text(42)]
    source = scans.save_born_digital_pdf(docs, tmp_path / "digital.pdf")
    result = run(source, tmp_path / "out.pdf", OcrOptions(jobs=1))
    assert [p.ocr for p in result.report.pages] == [False, False]
    assert [p.text_source for p in result.report.pages] == ["pdf", "pdf"]
    for doc, text in zip(docs, result.texts):
        assert cer("\n".join(doc.lines), text) <= 0.01


def test_mixed_pdf_ocrs_only_the_scanned_pages(tmp_path):
    scan = scans.make_scan("clean", seed=51)
    items = [document_text(52), scan, document_text(53)]
    source = scans.save_mixed_pdf(items, tmp_path / "mixed.pdf")
    result = run(source, tmp_path / "out.pdf", OcrOptions(jobs=2))
    assert [p.ocr for p in result.report.pages] == [False, True, False]
    assert cer(scan.text, result.texts[1]) <= 0.03
