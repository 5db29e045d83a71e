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


def test_output_equal_to_input_is_refused_and_the_scan_kept(tmp_path, ocr_kind):
    source = tmp_path / "scan.jpg"
    source.write_bytes(ocr_kind("gray200_jpeg").source.read_bytes())
    before = source.read_bytes()
    proc = run_sohoa("ocr", source, source)
    assert proc.returncode == ExitCode.USAGE and "overwrite the input" in proc.stderr
    assert source.read_bytes() == before


def test_unwritable_report_path_fails_before_ocr_and_leaves_nothing(tmp_path, ocr_kind):
    out = tmp_path / "out"
    out.mkdir()
    proc = run_sohoa("ocr", ocr_kind("clean").source, out / "x.pdf", "--json", out)
    assert proc.returncode == ExitCode.OUTPUT_ERROR and "Traceback" not in proc.stderr
    assert list(out.iterdir()) == []


def test_usage_errors_are_one_line(tmp_path):
    proc = run_sohoa("ocr", tmp_path / "only-input.jpg")
    assert proc.returncode == ExitCode.USAGE
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("sohoa: error: Missing argument")


def test_sixteen_bit_min_is_white_tiff_is_not_inverted(tmp_path):
    gray = np.asarray(scans.make_scan("clean", seed=62).image.convert("L")).astype(np.uint16)
    inverted = (65535 - gray * 257).astype(np.uint16)  # WhiteIsZero: 0 means white
    buffer = io.BytesIO()
    Image.fromarray(inverted).save(buffer, "TIFF", dpi=(300, 300))
    data = bytearray(buffer.getvalue())
    # Patch PhotometricInterpretation (tag 262) to 0 = WhiteIsZero.
    offset = int.from_bytes(data[4:8], "little")
    for i in range(int.from_bytes(data[offset:offset + 2], "little")):
        entry = offset + 2 + 12 * i
        if int.from_bytes(data[entry:entry + 2], "little") == 262:
            data[entry + 8:entry + 10] = (0).to_bytes(2, "little")
    source = tmp_path / "white-is-zero.tif"
    source.write_bytes(bytes(data))
    from sohoa.ocr import inputs

    page = inputs.load_page(source, "tiff", 0)
    assert page.pixels.mean() > 200  # paper white, as a viewer shows it


def test_fax_resolution_keeps_the_page_shape(tmp_path):
    scan = scans.make_scan("photocopy_g4", seed=63)
    width, height = scan.image.size
    fax = scan.image.resize((width * 204 // 300, height * 98 // 300))
    source = tmp_path / "fax.tif"
    fax.save(source, compression="group4", dpi=(204, 98))
    from sohoa.ocr import inputs

    page = inputs.load_page(source, "tiff", 0)
    assert page.width_pt == pytest.approx(width * 72 / 300, rel=0.01)
    assert page.height_pt == pytest.approx(height * 72 / 300, rel=0.01)


def test_camera_default_72_dpi_means_unknown(tmp_path):
    source = tmp_path / "phone.jpg"
    scans.make_scan("clean", seed=64).image.save(source, dpi=(72, 72), quality=80)
    from sohoa.ocr import inputs

    document = inputs.inspect(source, 250_000_000)
    assert any("camera default" in w for w in document.warnings)
    assert inputs.load_page(source, "jpeg", 0).width_pt == pytest.approx(595.3, abs=1)


def test_tiff_thumbnail_ifd_is_not_a_page(tmp_path):
    page = scans.make_scan("clean", seed=65).image.convert("L")
    thumb = page.resize((page.width // 8, page.height // 8))
    source = tmp_path / "with-thumb.tif"
    page.save(source, dpi=(300, 300), save_all=True, append_images=[thumb],
              tiffinfo={254: 0}, compression="tiff_lzw")
    # Mark the second IFD as a thumbnail by rewriting it with the tag.
    from sohoa.ocr import inputs

    with Image.open(source) as image:
        assert image.n_frames == 2
    data = source.read_bytes()
    first_ifd = int.from_bytes(data[4:8], "little")
    count = int.from_bytes(data[first_ifd:first_ifd + 2], "little")
    second_ifd = int.from_bytes(data[first_ifd + 2 + 12 * count:first_ifd + 6 + 12 * count], "little")
    patched = bytearray(data)
    count2 = int.from_bytes(data[second_ifd:second_ifd + 2], "little")
    for i in range(count2):
        entry = second_ifd + 2 + 12 * i
        if int.from_bytes(data[entry:entry + 2], "little") == 254:
            patched[entry + 8:entry + 12] = (1).to_bytes(4, "little")
            break
    else:
        pytest.fail("Pillow wrote no NewSubfileType tag to patch")
    source.write_bytes(bytes(patched))
    assert inputs.inspect(source, 250_000_000).page_count == 1


def test_rotated_born_digital_page_is_ocred_in_its_viewer_orientation(tmp_path):
    from sohoa.ocr.pipeline import OcrOptions, run
    from sohoa.testkit.metrics import cer
    from sohoa.testkit.vietnamese import document_text

    doc = document_text(66)
    source = scans.save_born_digital_pdf([doc], tmp_path / "digital.pdf")
    with pikepdf.open(source, allow_overwriting_input=True) as pdf:
        pdf.pages[0].Rotate = 90
        pdf.save(source)
    result = run(source, tmp_path / "out.pdf", OcrOptions(jobs=1))
    page = result.report.pages[0]
    assert page.width_pt > page.height_pt  # landscape, as the viewer shows it
    assert page.ocr and page.rotation == 270  # /Rotate 90 shows it turned: OCR turns it back
    assert cer("\n".join(doc.lines), result.texts[0]) <= 0.03


def test_cropped_page_is_not_stretched(tmp_path):
    from sohoa.ocr import inputs

    source = _image_pdf(tmp_path / "crop.pdf", [_jpeg_bytes()])
    with pikepdf.open(source, allow_overwriting_input=True) as pdf:
        pdf.pages[0].CropBox = [0, 0, 300, 400]
        pdf.save(source)
    page = inputs.load_page(source, "pdf", 0)
    inputs.release()
    assert (page.width_pt, page.height_pt) == (pytest.approx(300, abs=1), pytest.approx(400, abs=1))
    assert page.pixels.shape[1] / page.pixels.shape[0] == pytest.approx(300 / 400, rel=0.01)
