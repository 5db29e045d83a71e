"""`sohoa extract` end to end: a born-digital PDF (fpdf2, text layer read as is), one real scan
(rendered at 200 dpi, real Tesseract), a stored record, and the bad inputs of `sohoa ocr`.

Both documents have the NĐ 30/2020 two-column header: the issuer block top left, the national motto
top right, "Số:" under the issuer and the place and date under the motto on the same row.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from sohoa.testkit.fonts import bold_font_path, font_path
from conftest import run_sohoa

FONT = "DejaVuSerif"
# (left column, right column) or a centred line, top to bottom; sizes in points.
HEADER = [
    (("ỦY BAN NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), True),
    (("PHƯỜNG BẾN NGHÉ", "Độc lập - Tự do - Hạnh phúc"), True),
    (("Số: 215/XN-UBND", "Quận 1, ngày 10 tháng 01 năm 2024"), False),
]
BODY = [
    ("GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", True),
    ("Họ, chữ đệm và tên: NGUYỄN THỊ THU HƯƠNG", False),
    ("Ngày, tháng, năm sinh: 12/04/1990", False),
    ("Số định danh cá nhân: 079190001234", False),
    ("Tình trạng hôn nhân: hiện tại chưa đăng ký kết hôn với ai.", False),
]
EXPECTED = {
    "doc_type_code": "XNHN",
    "doc_type_name": "Giấy xác nhận tình trạng hôn nhân",
    "number_symbol": "215/XN-UBND",
    "issued_on": "2024-01-10",
    "issuing_agency": "Ủy ban nhân dân phường Bến Nghé",
    "title": "Giấy xác nhận tình trạng hôn nhân",
    "owner_name": "Nguyễn Thị Thu Hương",
    "owner_id": "079190001234",
    "date_of_birth": "1990-04-12",
    "valid_until": "2024-07-10",
}
WIDTH_MM, LEFT_MM, SPLIT_MM, RIGHT_MM = 210.0, 20.0, 80.0, 190.0
SIZE_PT, PITCH_MM = 12.0, 9.0


def _positions():
    """(text, x-centre or None for left-aligned, bold, y in mm) of every line."""
    y = 22.0
    for (left, right), bold in HEADER:
        yield left, (LEFT_MM + SPLIT_MM) / 2, bold, y
        yield right, (SPLIT_MM + RIGHT_MM) / 2 + 5, bold, y
        y += PITCH_MM * 0.8
    y += PITCH_MM
    for text, bold in BODY:
        yield text, WIDTH_MM / 2 if bold else None, bold, y
        y += PITCH_MM


def write_pdf(path: Path) -> Path:
    pdf = FPDF(unit="mm", format="A4")
    pdf.add_font("Doc", "", font_path(FONT))
    pdf.add_font("Doc", "B", bold_font_path(FONT))
    pdf.add_page()
    for text, centre, bold, y in _positions():
        pdf.set_font("Doc", "B" if bold else "", SIZE_PT)
        width = pdf.get_string_width(text)
        pdf.text(centre - width / 2 if centre else LEFT_MM + 5, y, text)
    pdf.output(str(path))
    return path


def write_scan(path: Path, dpi: int = 200) -> Path:
    px = dpi / 25.4
    image = Image.new("L", (round(WIDTH_MM * px), round(297 * px)), 255)
    draw = ImageDraw.Draw(image)
    for text, centre, bold, y in _positions():
        font = ImageFont.truetype(bold_font_path(FONT) if bold else font_path(FONT), round(SIZE_PT / 72 * dpi))
        width = draw.textlength(text, font=font)
        x = centre * px - width / 2 if centre else (LEFT_MM + 5) * px
        draw.text((x, y * px), text, font=font, fill=0, anchor="ls")
    image.save(path, dpi=(dpi, dpi))
    return path


def _env(tmp_path: Path, **extra: str) -> dict:
    return dict(os.environ, SOHOA_DATA_DIR=str(tmp_path / "data"), SOHOA_JOBS="1", **extra)


def _fields(proc) -> dict:
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    return {name: p["value"] for name, p in data["fields"].items()}, data


def test_born_digital_pdf(tmp_path: Path):
    pdf = write_pdf(tmp_path / "xac-nhan.pdf")
    values, data = _fields(run_sohoa("extract", pdf, "--json", env=_env(tmp_path, SOHOA_OCR_ENGINE="null")))
    assert {k: values.get(k) for k in EXPECTED} == EXPECTED
    assert data["doc_type"]["value"] == "XNHN" and data["doc_type"]["confidence"] >= 0.9
    assert data["fields"]["owner_id"]["confidence"] >= 0.9
    assert data["fields"]["valid_until"]["source"] == "catalogue:valid-months"
    assert data["owners"] == [{"id": "079190001234", "name": "Nguyễn Thị Thu Hương"}]
    number = data["fields"]["number_symbol"]
    assert number["page"] == 1 and number["box"][0] < 297.6 / 2  # read in the left column
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*.pdf"))  # nothing stored
    table = run_sohoa("extract", pdf, env=_env(tmp_path, SOHOA_OCR_ENGINE="null"))
    assert table.returncode == 0 and "owner_id" in table.stdout and "079190001234" in table.stdout


@pytest.mark.ocr
def test_real_scan_with_tesseract(tmp_path: Path):
    scan = write_scan(tmp_path / "xac-nhan.png")
    values, data = _fields(run_sohoa("extract", scan, "--json", env=_env(tmp_path)))
    assert {k: values.get(k) for k in EXPECTED} == EXPECTED
    assert data["fields"]["owner_id"]["confidence"] >= 0.9


def test_stored_record_by_id(tmp_path: Path):
    env = _env(tmp_path, SOHOA_OCR_ENGINE="null", SOHOA_EXTRACT="false")
    pdf = write_pdf(tmp_path / "xac-nhan.pdf")
    proc = run_sohoa("ingest", pdf, "--agency", "000.00.12.H36", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    record_id = json.loads(proc.stdout.strip().splitlines()[-1])["record_id"]
    values, _ = _fields(run_sohoa("extract", record_id, "--json", env=env))
    assert {k: values.get(k) for k in EXPECTED} == EXPECTED
    stored = next((tmp_path / "data" / "objects").rglob("words.json"))
    stored.chmod(0o600)
    stored.write_bytes(stored.read_bytes().replace(b"079190001234", b"079190001235"))
    proc = run_sohoa("extract", record_id, env=env)
    assert proc.returncode == 16 and proc.stderr.startswith("sohoa: error: ") and proc.stderr.count("\n") == 1
    events = json.loads(run_sohoa("show", record_id, "--json", env=env).stdout)["events"]
    assert any(e["action"] == "fixity-checked" and e["outcome"] == "failure" for e in events)


def test_bad_inputs_fail_in_one_line(tmp_path: Path):
    env = _env(tmp_path, SOHOA_OCR_ENGINE="null")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("không phải ảnh", encoding="utf-8")
    cases = [(tmp_path / "missing.pdf", 3), (empty, 4), (text, 5), ("ho-so-khong-co", 17)]
    for target, code in cases:
        proc = run_sohoa("extract", target, env=env)
        assert proc.returncode == code, (target, proc.stderr)
        assert proc.stderr.startswith("sohoa: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    blank = tmp_path / "trang.png"
    Image.new("L", (400, 560), 255).save(blank, dpi=(50, 50))
    proc = run_sohoa("extract", blank, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["fields"] == {}
    bad_catalogue = tmp_path / "types.yaml"
    bad_catalogue.write_text("types: {", encoding="utf-8")
    proc = run_sohoa("extract", write_pdf(tmp_path / "a.pdf"), env=dict(env, SOHOA_DOCTYPES_FILE=str(bad_catalogue)))
    assert proc.returncode == 2 and "document types" in proc.stderr and proc.stderr.count("\n") == 1
