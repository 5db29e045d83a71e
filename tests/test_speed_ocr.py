"""`sohoa ocr IN… --out-dir DIR` (issue #17): several inputs through one pool of page processes, a one-line
error per bad file, the others published, a non-zero exit code at the end; and a start-up that imports
none of the heavy libraries before it needs them: the command line, then the first page (checked through
the real command, with an engine that lists the modules), the options read without pydantic and the
report without it. Real Tesseract on small 200 dpi pages; timings are benchmarked, never asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.settings import Settings
from sohoa.ocr.pipeline import OcrOptions
from sohoa.ocr.report import FileReport, PageReport, ValidationReport
from sohoa.testkit import scans


def _sohoa(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sohoa", *args], capture_output=True, text=True, timeout=600,
                          env=env)


def test_several_inputs_go_to_the_out_dir_and_a_bad_file_fails_alone(tmp_path):
    jpeg = scans.save_image(scans.make_scan("gray200_jpeg", 7200), tmp_path / "giay-moi.jpg", "jpeg")
    pdf = scans.save_image_pdf([scans.make_scan("gray200_jpeg", 7201), scans.make_scan("gray200_jpeg", 7202)],
                               tmp_path / "cong-van.pdf")
    bad = tmp_path / "hong.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # a PNG signature and nothing readable

    done = _sohoa("ocr", str(jpeg), str(bad), str(pdf), "--out-dir", str(tmp_path / "ra"), "-j", "2")

    assert done.returncode == 6, done.stderr  # the bad file's own code (damaged input)
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("sohoa: error: ") for line in errors), done.stderr
    assert "hong.png" in errors[0] and "1 of 3 files failed" in errors[1]
    assert sorted(p.name for p in (tmp_path / "ra").iterdir()) == ["cong-van.pdf", "giay-moi.pdf"]
    text = subprocess.run(["pdftotext", str(tmp_path / "ra" / "cong-van.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert text.count("\f") == 2 and "CỘNG HÒA" in text  # both pages, in order, with Vietnamese text
    assert "cong-van.pdf: 2 page(s)" in done.stdout and "giay-moi.pdf: 1 page(s)" in done.stdout


def test_two_inputs_with_the_same_name_are_refused_before_any_work(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        scans.save_image(scans.make_scan("blank", 7210), tmp_path / folder / "trang.png", "png")

    done = _sohoa("ocr", str(tmp_path / "a" / "trang.png"), str(tmp_path / "b" / "trang.png"),
                  "--out-dir", str(tmp_path / "ra"))

    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "trang.pdf" in done.stderr and not (tmp_path / "ra").exists()


def test_three_paths_without_out_dir_is_a_usage_error(tmp_path):
    done = _sohoa("ocr", "a.png", "b.png", "c.pdf")
    assert done.returncode == 2 and done.stderr.startswith("sohoa: error: give INPUT OUTPUT"), done.stderr


def test_the_command_line_imports_no_heavy_library_before_it_needs_one():
    probe = ("import sys, sohoa.cli\n"
             "heavy = sorted(m for m in ('cv2', 'numpy', 'celery', 'pikepdf', 'sqlalchemy', 'tesserocr', 'PIL')"
             " if m in sys.modules)\n"
             "print(','.join(heavy))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"imported at start-up: {done.stdout.strip()}"


# ------------------------------------------------------------------ start-up to the first page (issue #17)

# Imported by none of the modules `sohoa ocr` needs before its first page is recognised.
NOT_BEFORE_THE_FIRST_PAGE = ("pydantic", "pikepdf", "lxml", "fontTools", "sqlalchemy", "celery", "kombu", "fastapi",
                             "pdfplumber", "urllib.request", "concurrent.futures.process")

_PROBE_ENGINE = '''
import os, sys
from sohoa.ocr.engines import NullEngine

class Probe(NullEngine):
    def recognize(self, image, dpi):
        heavy = [m for m in os.environ["PROBE_MODULES"].split(",") if m in sys.modules]
        with open(os.environ["PROBE_OUT"], "a", encoding="utf-8") as out:
            out.write(",".join(heavy) + "\\n")
        return [], ""
'''


def test_the_first_page_is_recognised_before_any_heavy_library_is_imported(tmp_path):
    """The real `sohoa ocr`, with an engine that lists what is imported when the first page reaches it."""
    (tmp_path / "probe_engine.py").write_text(_PROBE_ENGINE, encoding="utf-8")
    page = scans.save_image(scans.make_scan("gray200_jpeg", 7220), tmp_path / "to-trinh.png", "png")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "SOHOA_OCR_ENGINE": "probe_engine:Probe",
           "PROBE_MODULES": ",".join(NOT_BEFORE_THE_FIRST_PAGE), "PROBE_OUT": str(tmp_path / "probe.txt"),
           "SOHOA_TIMING": "1"}

    done = _sohoa("ocr", str(page), str(tmp_path / "ra.pdf"), "-j", "1", "-q", env=env)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "probe.txt").read_text(encoding="utf-8") == "\n", "imported before the first page"
    stamps = [line.split() for line in done.stderr.splitlines()]
    assert all(s[0] == "sohoa-timing" and len(s) == 4 for s in stamps), done.stderr
    order = [s[1] for s in stamps]
    assert set(order) == {"page-1", "page-1-ocr", "engine-ready"} and order.index("page-1") < order.index("page-1-ocr")
    when, cpu = {s[1]: float(s[2]) for s in stamps}, {s[1]: float(s[3]) for s in stamps}
    assert when["page-1"] <= when["page-1-ocr"] and 0 < cpu["page-1"] <= cpu["page-1-ocr"]


def test_without_the_timing_variable_nothing_is_stamped(tmp_path):
    page = scans.save_image(scans.make_scan("blank", 7221), tmp_path / "trang.png", "png")
    env = {k: v for k, v in os.environ.items() if k != "SOHOA_TIMING"} | {"SOHOA_OCR_ENGINE": "null"}
    done = _sohoa("ocr", str(page), str(tmp_path / "ra.pdf"), "-q", env=env)
    assert done.returncode == 0 and done.stderr == "", done.stderr


@pytest.mark.parametrize("environ", [
    {},
    {"SOHOA_JOBS": "3", "SOHOA_MAX_PAGES": "5", "SOHOA_OCR_LANG": "eng", "SOHOA_TESSDATA_DIR": "/srv/tessdata",
     "SOHOA_MAX_PIXELS": "1000", "SOHOA_MAX_PAGE_BYTES": "2000", "SOHOA_OCR_ENGINE": "null"},
    {"SOHOA_JOBS": "", "SOHOA_OCR_LANG": "vie+eng"},
], ids=["defaults", "every-variable", "empty-means-default"])
def test_the_options_read_without_pydantic_are_the_settings_options(environ):
    assert OcrOptions.from_env(environ, pdfa="1b") == OcrOptions.from_settings(Settings.from_env(environ), pdfa="1b")


@pytest.mark.parametrize("name, value", [("SOHOA_JOBS", "0"), ("SOHOA_MAX_PAGES", "nhiều"),
                                         ("SOHOA_MAX_PAGE_BYTES", "-5")])
def test_a_bad_setting_is_refused_the_same_way_by_both_readers(name, value):
    errors = []
    for read in (lambda: OcrOptions.from_env({name: value}), lambda: Settings.from_env({name: value})):
        with pytest.raises(SohoaError) as caught:
            read()
        errors.append(caught.value)
    assert [e.exit_code for e in errors] == [ExitCode.USAGE, ExitCode.USAGE]
    assert all(e.message.startswith(f"invalid setting {name}: ") for e in errors), errors


def test_the_report_round_trips_as_json_and_refuses_malformed_data():
    page = PageReport(number=1, mode="color", source_dpi=600.0, width_pt=841.92, height_pt=1190.52,
                      confidence=91.5, seconds={"load": 0.4}, warnings=["trang mờ"])
    report = FileReport(input="to-trinh.jpg", input_type="jpeg", output="ra.pdf", pdfa="PDF/A-2B", language="vie",
                        tesseract="5.5.4", sohoa="0.1.0", page_count=1, pages=[page],
                        validation=[ValidationReport(validator="structural", valid=True)])
    text = report.model_dump_json(indent=2)
    assert FileReport.model_validate(json.loads(text)) == report and "trang mờ" in text
    assert PageReport.model_validate({**page.model_dump(), "extra": 1}) == page  # unknown keys are ignored
    for bad in ({"number": 1}, {**page.model_dump(), "source_dpi": "rộng"}, [1, 2]):
        with pytest.raises((TypeError, ValueError)):
            PageReport.model_validate(bad)



_LOADS: list[int] = []


def flaky_engine(lang: str, tessdata=None):
    """An engine factory (the engine seam) whose first load fails, as a missing model would."""
    from sohoa.ocr.engines import NullEngine

    _LOADS.append(1)
    if len(_LOADS) == 1:
        raise RuntimeError("không tải được mô hình")
    return NullEngine(lang, tessdata)


def test_a_failed_engine_load_is_not_kept_and_the_next_call_loads_again():
    """The kept engine outlives a call (start-up); a load that failed must not outlive it, or one
    transient failure would fail every later page of a long-lived worker."""
    from sohoa.ocr import pipeline

    options = OcrOptions(engine=f"{__name__}:flaky_engine")
    first = pipeline._kept_engine(options)
    with pytest.raises(RuntimeError, match="không tải được"):
        first.ready()
    assert first.failed
    again = pipeline._kept_engine(options)
    assert again is not first and again.ready() is not None and not again.failed
    assert pipeline._kept_engine(options) is again and len(_LOADS) == 2  # a good load is kept
