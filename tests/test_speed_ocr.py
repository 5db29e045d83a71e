"""`sohoa ocr IN… --out-dir DIR` (issue #17): several inputs through one pool of page processes, a one-line
error per bad file, the others published, a non-zero exit code at the end; and a start-up that imports
none of the heavy libraries before it needs them. Real Tesseract on small 200 dpi pages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
