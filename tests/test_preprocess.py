"""Orientation, skew and blank detection against the generator's ground truth (no OCR)."""

import numpy as np
import pytest

from sohoa.ocr import preprocess
from sohoa.testkit import scans


def _prepare(scan: scans.Scan) -> preprocess.Prepared:
    return preprocess.prepare(np.asarray(scan.image.convert("L") if scan.image.mode == "1" else scan.image), scan.dpi)


@pytest.mark.parametrize("kind", ["clean", "skew", "rot90", "rot180", "rot270", "gray200_jpeg",
                                  "photocopy_g4", "yellow_seal", "faint"])
@pytest.mark.parametrize("seed", [1, 2])
def test_orientation_and_skew_match_the_truth(kind, seed):
    scan = scans.make_scan(kind, seed=seed)
    prepared = _prepare(scan)
    assert prepared.rotation == scan.rotation
    assert prepared.rotation_certain
    assert abs(prepared.skew - scan.skew) <= 0.3, (prepared.skew, scan.skew)
    assert not prepared.blank


def test_blank_page_is_flagged():
    prepared = _prepare(scans.make_scan("blank", seed=3))
    assert prepared.blank


def test_stamp_colour_fades_in_the_ocr_gray():
    red, black = np.array([[[210, 40, 40]]], np.uint8), np.array([[[30, 30, 30]]], np.uint8)
    assert preprocess.ocr_gray(red)[0, 0] > 200
    assert preprocess.ocr_gray(black)[0, 0] < 50


def test_ocr_image_has_white_paper_and_is_upright_sized():
    scan = scans.make_scan("rot90", seed=4)
    prepared = _prepare(scan)
    assert np.mean(prepared.image == 255) > 0.8  # paper cleaned to pure white
    assert prepared.image.min() < 80  # ink kept dark
    width, height = scan.image.size
    assert prepared.image.shape[0] == width  # turned a quarter: the width becomes the height
