"""Odd and broken inputs found by fuzzing: a clean outcome for each, never exit 15 or a traceback."""

from __future__ import annotations

import io
import json
import pickle
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
import pikepdf
import pypdfium2
import pytest
from PIL import Image, ImageDraw, TiffImagePlugin

from sohoa.core.errors import ExitCode, InputError, OutputInvalid, SohoaError
from sohoa.testkit import scans

from conftest import run_sohoa


def _jpeg_bytes(size=(1240, 1754), color=(255, 255, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def _image_pdf(path, jpegs: list[bytes], width_pt=595.0, height_pt=842.0, mediabox="page"):
    """Pages that each draw one JPEG over the page; `mediabox`: on each "page", on the page "tree"
    only (inherited, as the PDF spec allows), or "none" at all."""
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
        if mediabox == "page":
            page.MediaBox = [0, 0, width_pt, height_pt]
        pdf.pages.append(pikepdf.Page(page))
    if mediabox == "tree":
        pdf.Root.Pages.MediaBox = [0, 0, width_pt, height_pt]
    pdf.save(path)
    return path


def _clean_error(proc, out_dir, code: ExitCode, *words: str) -> None:
    """Exit `code`, one `sohoa: error:` line naming `words`, no traceback, nothing written."""
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sohoa: error: "), proc.stderr
    assert all(word in lines[0] for word in words), proc.stderr
    assert list(out_dir.iterdir()) == []


def _ocr_with_report(source, output, tmp_path, *args):
    """`sohoa ocr` that must succeed: (its one stdout line, the --json report)."""
    report = tmp_path / "report.json"
    proc = run_sohoa("ocr", source, output, "-j", "1", "--json", report, *args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and proc.stdout.startswith(f"{output}: 1 page(s), PDF/A-"), proc
    return proc.stdout, json.loads(report.read_text())


def _only_page(output):
    """(content stream, drawn image as 8-bit gray, text a PDF reader extracts) of a one-page output."""
    with pikepdf.open(output) as pdf:
        assert len(pdf.pages) == 1
        page = pdf.pages[0]
        streams = page.obj.Contents
        content = b"".join(s.read_bytes() for s in (streams if isinstance(streams, pikepdf.Array) else [streams]))
        images = page.get_images(recursive=False)
        assert list(images) == ["/Im0"]
        drawn = np.asarray(pikepdf.PdfImage(images["/Im0"]).as_pil_image().convert("L"))
    document = pypdfium2.PdfDocument(str(output))
    try:
        text = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    return content, drawn, text


def test_drawing_without_text_is_stored_with_an_empty_text_layer(tmp_path):
    image = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(image)
    for i in range(12):  # a form: ruled lines and boxes, no words
        draw.rectangle((200, 300 + i * 250, 2280, 480 + i * 250), outline=0, width=4)
    source = tmp_path / "form.png"
    image.save(source, dpi=(300, 300))
    _, report = _ocr_with_report(source, tmp_path / "form.pdf", tmp_path)
    page = report["pages"][0]
    # Ink on the page: not blank, so Tesseract ran, and found no word.
    assert not page["blank"] and page["ocr"] and page["text_source"] == "ocr"
    assert (page["words"], page["characters"], page["confidence"]) == (0, 0, None)
    content, drawn, text = _only_page(tmp_path / "form.pdf")
    assert b"BT" not in content and text == ""  # the text layer is empty: no text object, nothing to extract
    assert np.array_equal(drawn, np.asarray(image))  # the drawing itself is kept, pixel for pixel


def test_blank_page_is_kept_unread_with_no_text_layer(tmp_path):
    image = Image.new("L", (2480, 3508), 255)
    ImageDraw.Draw(image).point([(1000, 1000), (1500, 2500)], fill=0)  # two specks of dust
    source = tmp_path / "blank.png"
    image.save(source, dpi=(300, 300))
    _, report = _ocr_with_report(source, tmp_path / "blank.pdf", tmp_path)
    page = report["pages"][0]
    assert page["blank"] and not page["ocr"] and page["text_source"] == "none"  # Tesseract never ran
    assert (page["words"], page["characters"]) == (0, 0) and "ocr" not in page["seconds"]
    content, drawn, text = _only_page(tmp_path / "blank.pdf")
    assert b"BT" not in content and text == ""
    assert np.array_equal(drawn, np.asarray(image))  # the page is archived all the same


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
    _clean_error(proc, out, ExitCode.DAMAGED, "half.pdf", "damaged page 2")  # the error came from a worker


def test_pdf_page_without_any_mediabox_is_damaged(tmp_path):
    # MediaBox is required (on the page or inherited from the page tree): without it the page has no
    # size, and a guessed one (qpdf assumes US Letter) would distort an A4 scan.
    source = _image_pdf(tmp_path / "nobox.pdf", [_jpeg_bytes()], mediabox="none")
    out = tmp_path / "out"
    out.mkdir()
    proc = run_sohoa("ocr", source, out / "x.pdf", "-j", "1")
    _clean_error(proc, out, ExitCode.DAMAGED, "nobox.pdf", "damaged page 1")


def test_pdf_page_inheriting_its_mediabox_keeps_the_page_size(tmp_path):
    source = _image_pdf(tmp_path / "inherited.pdf", [_jpeg_bytes()], mediabox="tree")
    _, report = _ocr_with_report(source, tmp_path / "x.pdf", tmp_path)
    page = report["pages"][0]
    assert (page["width_pt"], page["height_pt"]) == (595.0, 842.0)
    assert page["image"] == "JPEG rgb passthrough"  # the scan's own JPEG, not re-encoded
    with pikepdf.open(tmp_path / "x.pdf") as pdf:
        assert [float(v) for v in pdf.pages[0].mediabox] == [0, 0, 595, 842]


def test_thumbnail_stretched_over_a_page_is_rendered_not_divided_by_zero(tmp_path):
    source = _image_pdf(tmp_path / "thumb.pdf", [_jpeg_bytes(size=(8, 8), color=(90, 90, 90))])
    _, report = _ocr_with_report(source, tmp_path / "x.pdf", tmp_path)
    page = report["pages"][0]
    # The page keeps its size (to the rendered pixel: 2480 × 3509 at 300 dpi).
    assert (page["width_pt"], page["height_pt"]) == (pytest.approx(595, abs=0.5), pytest.approx(842, abs=0.5))
    assert page["source_dpi"] == 300
    _, drawn, _ = _only_page(tmp_path / "x.pdf")
    # Rendered at 300 dpi over the whole A4 page (not kept as 8 × 8 pixels), and still the same gray.
    assert drawn.shape == (pytest.approx(842 / 72 * 300, abs=1), pytest.approx(595 / 72 * 300, abs=1))
    assert abs(float(drawn.mean()) - 90) < 8
    with pikepdf.open(tmp_path / "x.pdf") as pdf:
        assert [float(v) for v in pdf.pages[0].mediabox] == pytest.approx([0, 0, 595, 842], abs=0.5)


def _fail_in_a_worker(code: int) -> None:
    raise InputError("trang 2: tệp bị hỏng", ExitCode(code))


def test_errors_keep_their_exit_code_across_processes():
    # The page pool forks workers: an error raised in one reaches the parent pickled.
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("fork")) as pool:
        with pytest.raises(InputError) as caught:
            pool.submit(_fail_in_a_worker, int(ExitCode.TOO_LARGE)).result()
    assert caught.value.exit_code == ExitCode.TOO_LARGE and caught.value.message == "trang 2: tệp bị hỏng"
    # Every kind keeps its class, its code (given or the class default) and its one-line message.
    for error in (InputError("too big", ExitCode.TOO_LARGE), InputError("cut short"), OutputInvalid("bad xmp"),
                  SohoaError("boom")):
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), copy.exit_code, copy.message) == (type(error), error.exit_code, error.message)
    assert pickle.loads(pickle.dumps(InputError("cut short"))).exit_code == ExitCode.DAMAGED


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
    _clean_error(run_sohoa("ocr", source, out / "x.pdf"), out, ExitCode.DAMAGED, "broken.tif", "damaged")


def test_output_equal_to_input_is_refused_and_the_scan_kept(tmp_path):
    source = tmp_path / "scan.jpg"
    scans.save_image(scans.make_scan("gray200_jpeg", seed=67), source, "jpeg")
    before = source.read_bytes()
    proc = run_sohoa("ocr", source, source)
    assert proc.returncode == ExitCode.USAGE and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"sohoa: error: {source}: would overwrite the input"
    assert source.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["scan.jpg"]


def test_unwritable_report_path_fails_before_ocr_and_leaves_nothing(tmp_path):
    source = tmp_path / "scan.png"
    scans.save_image(scans.make_scan("clean", seed=68), source, "png")
    out = tmp_path / "out"
    out.mkdir()
    proc = run_sohoa("ocr", source, out / "x.pdf", "--json", out)  # the report path is a directory
    _clean_error(proc, out, ExitCode.OUTPUT_ERROR, str(out))


def test_usage_errors_are_one_line(tmp_path):
    proc = run_sohoa("ocr", tmp_path / "only-input.jpg")
    assert proc.returncode == ExitCode.USAGE
    # `sohoa ocr` takes INPUT OUTPUT, or several inputs with --out-dir (issue #17): one input alone says so
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("sohoa: error: give INPUT OUTPUT")
    bad = run_sohoa("ocr", tmp_path / "a.jpg", "--no-such-option")
    assert bad.returncode == ExitCode.USAGE and bad.stderr.count("\n") == 1


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
