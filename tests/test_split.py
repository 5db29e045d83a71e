"""Splitting a scanned stack: what codes mean, the plan's rules, and generated 200 dpi photocopied stacks."""

from __future__ import annotations

import pytest

from sohoa.ocr.inputs import inspect
from sohoa.split.codes import PageCode, PageMark, dossier_in, page_mark
from sohoa.split.plan import plan_split
from sohoa.split.stack import read_stack
from sohoa.testkit.stacks import DOSSIER, StackPage, dossier_stack, write_stack

OTHER = "000.00.31.H29-250301-0042"
BOX = (0, 0, 10, 10)


def qr(text: str) -> PageCode:
    return PageCode("qr", text, BOX)


def cover(code: str = DOSSIER) -> PageMark:
    return PageMark("cover", dossier=code)


def sep(doc_type: str | None = None) -> PageMark:
    return PageMark("separator", doc_type=doc_type)


def receipt(code: str = DOSSIER) -> PageMark:
    return PageMark("receipt", dossier=code)


PAGE = PageMark()


# ---------------------------------------------------------------- meaning of codes


@pytest.mark.parametrize("text, expected", [
    (DOSSIER, DOSSIER),
    (DOSSIER.lower(), DOSSIER),
    (f"https://dichvucong.example.vn/tra-cuu?ma_ho_so={DOSSIER}", DOSSIER),
    (f"https://motcua.example.vn/hs/{DOSSIER.replace('.', '%2E')}/bien-nhan", DOSSIER),
    ("000.00.12.H36-241315-0001", None),  # 13th month: not a dossier code
    (f"ma ho so {DOSSIER}", None),  # free text is not a receipt code
    (f"https://x.example.vn/?a={DOSSIER}&b={OTHER}", None),  # two codes: no guess
])
def test_a_receipt_code_is_a_valid_dossier_code_alone_or_inside_a_url(text, expected):
    assert dossier_in(text) == expected


def test_page_marks_prefer_sohoa_sheets_and_never_guess():
    assert page_mark([qr(f"SOHOA1:COVER:{DOSSIER}"), PageCode("code128", DOSSIER, BOX)]) == cover()
    assert page_mark([qr("SOHOA1:SEP:gks")]) == sep("GKS")
    assert page_mark([qr(DOSSIER)]) == receipt()
    two = page_mark([qr(DOSSIER), qr(OTHER)])
    assert two.kind is None and "different dossier codes" in two.warnings[0]
    newer = page_mark([qr("SOHOA2:SOMETHING")])
    assert newer.kind is None and newer.warnings == ()  # not our prefix: an ordinary page
    unknown = page_mark([qr("SOHOA1:STAPLE")])
    assert unknown.kind is None and "unknown sohoa sheet" in unknown.warnings[0]
    bad_cover = page_mark([qr("SOHOA1:COVER:nope")])
    assert bad_cover.kind is None and "invalid dossier code" in bad_cover.warnings[0]
    unreadable = page_mark([PageCode("qr", "", BOX, error="ChecksumError")])
    assert unreadable.kind is None and "could not be read" in unreadable.warnings[0]
    assert page_mark([PageCode("code39", "HELLO", BOX)]) == PAGE


# ---------------------------------------------------------------- the plan's rules


def spans(plan) -> list[tuple]:
    return [(s.first, s.last, s.dossier, s.doc_type, s.receipt, s.separator_pages) for s in plan.segments]


def test_cover_sets_the_dossier_separators_split_and_neither_is_kept():
    plan = plan_split([cover(), PAGE, PAGE, sep("GKS"), PAGE, sep(), PAGE])
    assert spans(plan) == [(1, 2, DOSSIER, None, False, [3]), (4, 4, DOSSIER, "GKS", False, [3, 5]),
                           (6, 6, DOSSIER, None, False, [5])]
    assert plan.skipped_pages == [0, 3, 5] and not plan.trivial and not plan.warnings


def test_a_receipt_is_its_own_record_and_the_next_page_starts_a_document():
    plan = plan_split([PAGE, receipt(), PAGE, PAGE], receipt_doc_type="BN")
    assert spans(plan) == [(0, 0, None, None, False, []), (1, 1, DOSSIER, "BN", True, []),
                           (2, 3, DOSSIER, None, False, [])]
    assert plan.skipped_pages == [] and plan.dossiers == {DOSSIER}


def test_every_page_is_either_in_one_record_or_a_skipped_sheet():
    marks = [PAGE, sep(), sep(), receipt(), sep(), PAGE, cover(OTHER), PAGE, PAGE, sep()]
    plan = plan_split(marks)
    kept = [i for s in plan.segments for i in range(s.first, s.last + 1)]
    assert sorted(kept + plan.skipped_pages) == list(range(len(marks)))
    assert len(set(kept)) == len(kept)
    assert spans(plan)[-1] == (7, 8, OTHER, None, False, [9])


def test_a_plain_scan_is_trivial_and_an_unreadable_code_loses_no_page():
    assert plan_split([PAGE, PAGE, PAGE]).trivial
    plan = plan_split([PAGE, PageMark(warnings=("a code was found but could not be read",)), PAGE])
    assert spans(plan) == [(0, 2, None, None, False, [])] and plan.trivial
    assert plan.warnings == ["page 2: a code was found but could not be read"]


def test_blank_pages_split_only_when_asked():
    blanks = [False, True, False]
    assert len(plan_split([PAGE] * 3, blanks).segments) == 1
    plan = plan_split([PAGE] * 3, blanks, split_on_blank=True)
    assert spans(plan) == [(0, 0, None, None, False, [1]), (2, 2, None, None, False, [1])]


def test_a_receipt_disagreeing_with_the_cover_is_a_conflict_and_sheets_alone_are_no_document():
    plan = plan_split([cover(), PAGE, receipt(OTHER), PAGE])
    assert plan.conflicts and OTHER in plan.conflicts[0] and DOSSIER in plan.conflicts[0]
    empty = plan_split([cover(), sep()])
    assert empty.segments == [] and "no document" in empty.warnings[0]


# ---------------------------------------------------------------- generated stacks


@pytest.mark.parametrize("fmt", ["pdf", "tiff"])
def test_a_photocopied_dossier_stack_splits_into_its_documents(tmp_path, fmt):
    path = write_stack(dossier_stack(skew=3.0), tmp_path / f"stack.{fmt}", seed=11, fmt=fmt)
    document = inspect(path, 10**9)
    reading = read_stack(path, document.kind, document.frames or [None] * document.page_count)
    assert [p.mark.kind for p in reading.pages] == [
        "cover", None, None, "separator", None, "separator", "receipt", None]
    receipt_page = reading.pages[6]
    assert receipt_page.codes[0].text.startswith("https://motcua.example.gov.vn/")  # segno's QR, read back
    assert spans(reading.plan) == [(1, 2, DOSSIER, None, False, [3]), (4, 4, DOSSIER, "GKS", False, [3, 5]),
                                   (6, 6, DOSSIER, "GTN", True, [5]), (7, 7, DOSSIER, None, False, [])]
    assert reading.plan.skipped_pages == [0, 3, 5] and not reading.plan.warnings


def test_a_stack_with_an_unreadable_separator_is_one_record_with_a_warning(tmp_path):
    specs = [StackPage("document", seed=21), StackPage("damaged", skew=2.0), StackPage("document", seed=22)]
    path = write_stack(specs, tmp_path / "stack.pdf", seed=12)
    reading = read_stack(path, "pdf", [None] * 3)
    assert spans(reading.plan) == [(0, 2, None, None, False, [])]
    assert reading.plan.warnings == ["page 2: a code was found but could not be read"]


def test_blank_pages_are_found_on_photocopies(tmp_path):
    specs = [StackPage("document", seed=31), StackPage("blank"), StackPage("document", seed=32)]
    path = write_stack(specs, tmp_path / "stack.tiff", seed=13, fmt="tiff")
    reading = read_stack(path, "tiff", [0, 1, 2], split_on_blank=True)
    assert [p.blank for p in reading.pages] == [False, True, False]
    assert spans(reading.plan) == [(0, 0, None, None, False, [1]), (2, 2, None, None, False, [1])]
