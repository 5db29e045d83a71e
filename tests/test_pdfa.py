"""PDF/A conformance (real PDFBox Preflight for 1b, structural checks for 2b) and the archival image."""

from __future__ import annotations

import numpy as np
import pikepdf
import pypdfium2
import pytest

from sohoa.ocr import preprocess, validate
from sohoa.ocr.pipeline import OcrOptions, run

ALL_KINDS = ["clean", "skew", "rot90", "rot180", "rot270", "gray200_jpeg", "photocopy_g4",
             "yellow_seal", "faint", "blank"]


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_pdfa_1b_passes_pdfbox_preflight(ocr_kind, kind):
    outcome = validate.preflight(ocr_kind(kind).output)
    assert outcome.valid, outcome.errors


def test_pdfa_2b_structure(ocr_kind, workdir):
    source = ocr_kind("yellow_seal").source
    output = workdir / "seal-2b.pdf"
    run(source, output, OcrOptions(pdfa="2b", jobs=1))
    with pikepdf.open(output) as pdf:
        assert pdf.pdf_version == "1.7"
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
        intent = pdf.Root.OutputIntents[0]
        assert intent.S == "/GTS_PDFA1" and int(intent.DestOutputProfile.N) == 3
        font = pdf.pages[0].Resources.Font.FText
        assert "/FontFile2" in font.DescendantFonts[0].FontDescriptor
        assert "/ToUnicode" in font
        assert not pdf.is_encrypted and "/ID" in pdf.trailer
        assert pdf.docinfo["/Title"] == meta["dc:title"]
    assert validate.structural(output, "2b").valid


def test_structural_check_catches_a_wrong_level(ocr_kind):
    outcome = validate.structural(ocr_kind("clean").output, "2b")  # a 1b file claimed as 2b
    assert not outcome.valid and any("part 2" in e for e in outcome.errors)


def _page_image(path):
    with pikepdf.open(path) as pdf:
        page = pdf.pages[0]
        (image,) = page.get_images().values()
        return {
            "filter": str(image.Filter), "space": str(image.ColorSpace),
            "width": int(image.Width), "height": int(image.Height),
            "page": [float(v) for v in page.mediabox],
        }


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_resolution_and_page_size_kept(ocr_kind, kind):
    run_ = ocr_kind(kind)
    info = _page_image(run_.output)
    width_pt, height_pt = info["page"][2], info["page"][3]
    src_w, src_h = run_.scan.image.size
    if run_.scan.rotation in (90, 270):
        src_w, src_h = src_h, src_w
    assert width_pt == pytest.approx(src_w * 72 / run_.scan.dpi, abs=0.5)
    assert height_pt == pytest.approx(src_h * 72 / run_.scan.dpi, abs=0.5)
    assert max(info["width"], info["height"]) / (max(width_pt, height_pt) / 72) >= 199.5


def test_colour_kept_and_seal_still_red(ocr_kind):
    run_ = ocr_kind("yellow_seal")
    assert _page_image(run_.output)["space"] == "/DeviceRGB"
    pixels = np.asarray(pypdfium2.PdfDocument(run_.output)[0].render(scale=1).to_pil().convert("RGB")).astype(int)
    red = (pixels[..., 0] > 150) & (pixels[..., 1] < 110) & (pixels[..., 2] < 110)
    assert red.sum() > 500  # the seal is stored as it looks on paper


def test_bilevel_scan_stored_as_g4(ocr_kind):
    info = _page_image(ocr_kind("photocopy_g4").output)
    assert info["filter"] == "/CCITTFaxDecode"


def test_bilevel_g4_renders_black_text_on_white(ocr_kind):
    run_ = ocr_kind("photocopy_g4")
    rendered = np.asarray(pypdfium2.PdfDocument(run_.output)[0].render(scale=1).to_pil().convert("L"))
    assert rendered.mean() > 200  # mostly white paper, not an inverted page


def test_gray_jpeg_passed_through_byte_for_byte(ocr_kind):
    run_ = ocr_kind("gray200_jpeg")
    with pikepdf.open(run_.output) as pdf:
        (image,) = pdf.pages[0].get_images().values()
        assert image.read_raw_bytes() == run_.source.read_bytes()
    assert run_.result.report.pages[0].image == "JPEG gray passthrough"


@pytest.mark.parametrize("kind", ["rot90", "rot180", "rot270"])
def test_stored_page_is_upright(ocr_kind, kind):
    rendered = pypdfium2.PdfDocument(ocr_kind(kind).output)[0].render(scale=150 / 72).to_pil().convert("L")
    prepared = preprocess.prepare(np.asarray(rendered), 150)
    assert prepared.rotation == 0 and prepared.rotation_certain
