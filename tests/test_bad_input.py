"""Bad input: one line on stderr, a distinct documented exit code, no traceback, no output file."""

from __future__ import annotations

import os

import pytest

from sohoa.core.errors import ExitCode
from sohoa.testkit.bad_inputs import write_bad_inputs

from conftest import run_sohoa

CASES = {
    "zero_byte": (ExitCode.INPUT_EMPTY, "empty"),
    "truncated_pdf": (ExitCode.DAMAGED, "truncated"),
    "truncated_jpeg": (ExitCode.DAMAGED, "damaged"),
    "not_a_document": (ExitCode.UNSUPPORTED, "not a PDF, TIFF, JPEG or PNG"),
    "encrypted_pdf": (ExitCode.ENCRYPTED, "encrypted"),
    "no_pages_pdf": (ExitCode.NO_PAGES, "no pages"),
    "bomb_png": (ExitCode.TOO_LARGE, "megapixels"),
    "tiny_page_pdf": (ExitCode.BAD_PAGE_SIZE, "absurd page size"),
    "huge_page_pdf": (ExitCode.BAD_PAGE_SIZE, "absurd page size"),
}


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    return write_bad_inputs(tmp_path_factory.mktemp("bad"))


def _assert_clean_failure(proc, code, words, out_dir):
    assert proc.returncode == int(code), proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sohoa: error:"), proc.stderr
    assert words in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert os.listdir(out_dir) == []  # neither the output nor a partial file


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exit_code_and_message(tmp_path, bad_inputs, case):
    code, words = CASES[case]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = run_sohoa("ocr", bad_inputs[case], out_dir / "out.pdf")
    _assert_clean_failure(proc, code, words, out_dir)


def test_pixel_limit_is_configurable(tmp_path, ocr_kind):
    source = ocr_kind("clean").source  # 8.7 megapixels
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = dict(os.environ, SOHOA_MAX_PIXELS="5000000")
    proc = run_sohoa("ocr", source, out_dir / "out.pdf", env=env)
    _assert_clean_failure(proc, ExitCode.TOO_LARGE, "SOHOA_MAX_PIXELS", out_dir)


def test_missing_input(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = run_sohoa("ocr", tmp_path / "nope.pdf", out_dir / "out.pdf")
    _assert_clean_failure(proc, ExitCode.INPUT_MISSING, "no such file", out_dir)


def test_output_folder_missing(tmp_path, ocr_kind):
    proc = run_sohoa("ocr", ocr_kind("clean").source, tmp_path / "missing" / "out.pdf")
    assert proc.returncode == ExitCode.OUTPUT_ERROR
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_usage_error_has_click_code(tmp_path):
    proc = run_sohoa("ocr", "--pdfa", "3u", "a", "b")
    assert proc.returncode == ExitCode.USAGE and "Traceback" not in proc.stderr


def test_exit_codes_are_documented():
    proc = run_sohoa("exit-codes")
    for code in ExitCode:
        assert f"{int(code):4}  {code.name}" in proc.stdout


def test_cli_success_writes_output_and_json(tmp_path, ocr_kind):
    source = ocr_kind("clean").source
    proc = run_sohoa("ocr", source, tmp_path / "ok.pdf", "--json", tmp_path / "r.json",
                     "--sidecar", tmp_path / "t.txt", "-j", "1")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "ok.pdf").stat().st_size > 0
    import json
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["page_count"] == 1 and report["validation"][0]["valid"] is True
    assert "Cộng hòa".upper()[:4] in (tmp_path / "t.txt").read_text(encoding="utf-8").upper()
