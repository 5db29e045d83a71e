"""Real Tesseract on generated degraded scans: CER per kind, the text layer, the report."""

from __future__ import annotations

import subprocess
import unicodedata

import pytest

from sohoa.testkit.metrics import cer, fold, keyword_recall

# Upper bounds of the character error rate per kind of degradation (measured
# values are well below; a regression in preprocessing pushes them over).
CER_LIMIT = {
    "clean": 0.02,
    "skew": 0.03,
    "rot90": 0.03,
    "rot180": 0.03,
    "rot270": 0.03,
    "gray200_jpeg": 0.04,
    "photocopy_g4": 0.05,
    "yellow_seal": 0.05,
    "faint": 0.04,
}


def pdftotext(path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.parametrize("kind", list(CER_LIMIT))
def test_cer_within_limit(ocr_kind, kind):
    run = ocr_kind(kind)
    text = "\n".join(run.result.texts)
    assert cer(run.scan.text, text) <= CER_LIMIT[kind]


@pytest.mark.parametrize("kind", list(CER_LIMIT))
def test_text_layer_gives_the_same_text_in_nfc(ocr_kind, kind):
    """What a viewer copies (pdftotext) is the recognised text, in NFC Vietnamese."""
    run = ocr_kind(kind)
    extracted = pdftotext(run.output)
    assert unicodedata.is_normalized("NFC", extracted)
    assert cer("\n".join(run.result.texts), extracted) <= 0.02
    assert cer(run.scan.text, extracted) <= CER_LIMIT[kind] + 0.01


@pytest.mark.parametrize("kind", ["clean", "yellow_seal", "photocopy_g4", "rot180"])
def test_keywords_found_with_and_without_diacritics(ocr_kind, kind):
    run = ocr_kind(kind)
    text = "\n".join(run.result.texts)
    assert keyword_recall(run.scan.keywords, text, folded=False) >= 0.75
    assert keyword_recall(run.scan.keywords, text, folded=True) >= 0.9
    assert fold("Giấy chứng nhận quyền sử dụng đất") == "giay chung nhan quyen su dung dat"


@pytest.mark.parametrize("kind", ["rot90", "rot180", "rot270", "skew", "clean"])
def test_report_orientation_and_skew(ocr_kind, kind):
    run = ocr_kind(kind)
    page = run.result.report.pages[0]
    assert page.rotation == run.scan.rotation
    assert abs(page.skew_deg - run.scan.skew) <= 0.3
    assert page.ocr and page.text_source == "ocr"
    assert page.confidence is not None and page.confidence > 70
    assert page.characters > 300


def test_blank_page_kept_but_not_ocred(ocr_kind):
    run = ocr_kind("blank")
    report = run.result.report
    assert report.page_count == 1 and report.pages[0].blank
    assert not report.pages[0].ocr and report.pages[0].text_source == "none"
    assert "ocr" not in report.pages[0].seconds
    assert pdftotext(run.output).strip() == ""


def test_report_has_stage_timings_and_validation(ocr_kind):
    report = ocr_kind("clean").result.report
    page = report.pages[0]
    assert {"load", "preprocess", "ocr", "encode"} <= set(page.seconds)
    assert all(v >= 0 for v in page.seconds.values())
    assert report.output_bytes > 0 and report.bytes_per_page == report.output_bytes
    assert report.validation and all(v.valid for v in report.validation)
