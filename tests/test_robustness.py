"""Odd and broken inputs found by fuzzing: a clean outcome for each, never exit 15 or a traceback."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw, TiffImagePlugin

from sohoa.core.errors import ExitCode, InputError
from sohoa.testkit import scans

from conftest import run_sohoa


def _jpeg_bytes(size=(1240, 1754), color=(255, 255, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def _image_pdf(path, jpegs: list[bytes], width_pt=595.0, height_pt=842.0, mediabox=True):
    pdf = pikepdf.new()
    for data in jpegs:
        width, height = 1240, 1754
        if len(data) > 20:
            try:
                with Image.open(io.BytesIO(data)) as probe:
                    width, height = probe.size
            except OSError:
                pass
        image = pdf.make_stream(data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                                Width=width, Height=height, ColorSpace=pikepdf.Name.DeviceRGB,
                                BitsPerComponent=8, Filter=pikepdf.Name.DCTDecode)
        content = pdf.make_stream(f"q {width_pt} 0 0 {height_pt} 0 0 cm /Im0 Do Q".encode())
        page = pikepdf.Dictionary(Type=pikepdf.Name.Page, Contents=content,
                                  Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)))
        if mediabox:
            page.MediaBox = [0, 0, width_pt, height_pt]
        pdf.pages.append(pikepdf.Page(page))
    pdf.save(path)
    return path


def _ok_or_clean_error(proc, out_dir, allowed=(0, ExitCode.DAMAGED)):
    assert proc.returncode in [int(a) for a in allowed], proc.stderr
    assert "Traceback" not in proc.stderr
    if proc.returncode:
        assert len(proc.stderr.strip().splitlines()) == 1
        assert list(out_dir.iterdir()) == []


def test_drawing_without_text_is_stored_with_an_empty_text_layer(tmp_path):
    image = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(image)
    for i in range(12):  # a form: ruled lines and boxes, no words
        draw.rectangle((200, 300 + i * 250, 2280, 480 + i * 250), outline=0, width=4)
    source = tmp_path / "form.png"
    image.save(source, dpi=(300, 300))
    proc = run_sohoa("ocr", source, tmp_path / "form.pdf", "-j", "1")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "form.pdf").exists()


def test_tiff_with_nan_resolution_falls_back_to_default_dpi(tmp_path):
    scan = scans.make_scan("clean", seed=61)
    source = tmp_path / "nan.tif"
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[282] = TiffImagePlugin.IFDRational(0, 0)
    info[283] = TiffImagePlugin.IFDRational(0, 0)
    scan.image.convert("L").save(source, tiffinfo=info)  # Pillow's own writer keeps 0/0
    out = tmp_path / "out"
    out.mkdir()
    proc = run_sohoa("ocr", source, out / "nan.pdf", "-j", "1", "--json", tmp_path / "r.json")
    assert proc.returncode == 0, proc.stderr
    assert "assumed 300 dpi" in (tmp_path / "r.json").read_text()


def test_pdf_with_a_truncated_jpeg_page_is_damaged(tmp_path):
    good = _jpeg_bytes()
    source = _image_pdf(tmp_path / "half.pdf", [good, good[: len(good) // 3]])
    out = tmp_path / "out"
    out.mkdir()
    proc = run_sohoa("ocr", source, out / "x.pdf", "-j", "2")
    assert proc.returncode == ExitCode.DAMAGED, proc.stderr
    assert "page 2" in proc.stderr
    _ok_or_clean_error(proc, out)


def test_pdf_without_mediabox(tmp_path):
    source = _image_pdf(tmp_path / "nobox.pdf", [_jpeg_bytes()], mediabox=False)
    out = tmp_path / "out"
    out.mkdir()
    _ok_or_clean_error(run_sohoa("ocr", source, out / "x.pdf", "-j", "1"), out)


def test_thumbnail_stretched_over_a_page_is_rendered_not_divided_by_zero(tmp_path):
    source = _image_pdf(tmp_path / "thumb.pdf", [_jpeg_bytes(size=(8, 8))])
    out = tmp_path / "out"
    out.mkdir()
    proc = run_sohoa("ocr", source, out / "x.pdf", "-j", "1")
    assert proc.returncode == 0, proc.stderr


def test_errors_keep_their_exit_code_across_processes():
    error = pickle.loads(pickle.dumps(InputError("too big", ExitCode.TOO_LARGE)))
    assert error.exit_code == ExitCode.TOO_LARGE and error.message == "too big"


@pytest.mark.parametrize("case", ["garbage_ifd", "zero_dimensions"])
def test_broken_tiff_structures_are_damaged(tmp_path, case):
    buffer = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buffer, "TIFF")
    data = bytearray(buffer.getvalue())
    if case == "garbage_ifd":
        offset = int.from_bytes(data[4:8], "little")
        data[offset + 2 : offset + 40] = b"\xff" * 38
    else:
        data = bytearray(b"II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00")
    source = tmp_path / "broken.tif"
    source.write_bytes(bytes(data))
    out = tmp_path / "out"
    out.mkdir()
    _ok_or_clean_error(run_sohoa("ocr", source, out / "x.pdf"), out, allowed=(ExitCode.DAMAGED,))
