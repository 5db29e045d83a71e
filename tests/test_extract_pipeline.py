"""Issue #14 through the one pipeline: what the pages say fills the fields nobody typed (unconfirmed
until reviewed), typed values always win, proposals are stored with the record, every person the
document names finds it, `sohoa describe` confirms, and the owner's data is handed out for reuse.

Born-digital PDFs (fpdf2) keep these tests fast: their text layer is what OCR would produce.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from fpdf import FPDF

from archive_checks import environ, sohoa
from sohoa.testkit.fonts import bold_font_path, font_path

HUSBAND = ("NGUYỄN VĂN AN", "001090012345", "12/03/1990")
WIFE = ("Lê Thị Mai", "079190001234", "05/07/1991")
AGENCY = "000.00.12.H36"


def marriage_certificate(path: Path, number: str = "125/2024/KH-UBND", note: str = "") -> Path:
    """An A4 marriage certificate laid out as the civil-status form is (issuer and motto side by side)."""
    pdf = FPDF(format="A4", unit="pt")
    pdf.add_page()
    pdf.add_font("V", "", font_path("DejaVuSans"))
    pdf.add_font("V", "B", bold_font_path("DejaVuSans"))

    def at(x: float, y: float, text: str, size: int = 11, bold: bool = False) -> None:
        pdf.set_font("V", "B" if bold else "", size)
        pdf.set_xy(x, y)
        pdf.cell(0, size + 2, text)

    at(50, 40, "ỦY BAN NHÂN DÂN", bold=True)
    at(50, 55, "PHƯỜNG BẾN NGHÉ", bold=True)
    at(300, 40, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True)
    at(330, 55, "Độc lập - Tự do - Hạnh phúc", bold=True)
    at(50, 75, f"Số: {number}")
    at(300, 75, "Quận 1, ngày 15 tháng 10 năm 2024")
    at(170, 110, "GIẤY CHỨNG NHẬN KẾT HÔN", size=15, bold=True)
    y = 150
    for label, person in (("Họ, chữ đệm, tên người chồng", HUSBAND), ("Họ, chữ đệm, tên người vợ", WIFE)):
        at(50, y, f"{label}: {person[0]}")
        at(50, y + 18, f"Ngày, tháng, năm sinh: {person[2]}")
        at(50, y + 36, f"Số định danh cá nhân: {person[1]}")
        y += 62
    at(50, y, "Hai bên tự nguyện kết hôn, đã được đăng ký vào Sổ hộ tịch. " + note)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def ingest(env, path: Path, *args: str) -> dict:
    proc = sohoa(env, "ingest", path, "--agency", AGENCY, *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def show(env, record_id: str) -> dict:
    proc = sohoa(env, "show", record_id, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def catalog_row(env, record_id: str) -> tuple:
    with sqlite3.connect(Path(env["SOHOA_DATA_DIR"]) / "catalog.db") as db:
        return db.execute("select review_confidence, doc_type_code, owner_id from records where id = ?",
                          (record_id,)).fetchone()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return environ(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def untyped(env, tmp_path_factory):
    """A marriage certificate handed in with nothing but its agency (a hot-folder file, no sidecar)."""
    return ingest(env, marriage_certificate(tmp_path_factory.mktemp("in") / "kh.pdf"))


def test_the_pages_fill_what_nobody_typed_unconfirmed(env, untyped):
    document = show(env, untyped["record_id"])
    meta = document["metadata"]
    assert meta["doc_type_code"] == "GCNKH" and meta["doc_type_name"] == "Giấy chứng nhận kết hôn"
    assert meta["title"] == "Giấy chứng nhận kết hôn"  # no longer the bare code
    assert meta["number_symbol"] == "125/2024/KH-UBND" and meta["issued_on"] == "2024-10-15"
    assert meta["issuing_agency"] == "Ủy ban nhân dân phường Bến Nghé"
    assert meta["owner_id"] == HUSBAND[1] and meta["other_ids"] == [WIFE[1]]
    assert {"doc_type_code", "number_symbol", "issued_on", "owner_id", "title"} <= set(meta["unconfirmed"])
    assert meta["disagreements"] == []
    review, doc_type, owner = catalog_row(env, untyped["record_id"])
    assert 0.6 <= review < 1 and (doc_type, owner) == ("GCNKH", HUSBAND[1])


def test_proposals_are_stored_listed_and_logged(env, untyped):
    document = show(env, untyped["record_id"])
    info = document["objects"]["extracted.json"]
    from sohoa.archive.local_store import LocalStore

    store = LocalStore(Path(env["SOHOA_DATA_DIR"]) / "objects")
    stored = json.loads(store.get(info["key"]))
    assert store.sha256_of(info["key"]) == info["sha256"]
    metadata = json.loads(store.get(document["objects"]["metadata.json"]["key"]))
    assert metadata["objects"]["extracted.json"]["sha256"] == info["sha256"]
    number = stored["fields"]["number_symbol"]
    assert number["value"] == "125/2024/KH-UBND" and number["page"] == 1 and 0 < number["confidence"] <= 1
    x0, y0, x1, y1 = number["box"]
    assert 50 <= x0 < x1 <= 300 and 70 <= y0 < y1 <= 95  # where "Số: …" is printed, in points from the top
    [event] = [e for e in document["events"] if e["action"] == "extracted"]
    assert event["outcome"] == "success" and "filled (unconfirmed)" in event["detail"]


def test_every_person_named_finds_the_document(env, untyped):
    for who in (HUSBAND[1], WIFE[1]):
        proc = sohoa(env, "search", who, "--json")
        assert proc.returncode == 0, proc.stderr
        assert [h["record_id"] for h in json.loads(proc.stdout)["hits"]] == [untyped["record_id"]], who
    proc = sohoa(env, "kho", WIFE[1], "--json")
    assert proc.returncode == 0, proc.stderr
    assert [h["record_id"] for h in json.loads(proc.stdout)["groups"]["GCNKH"]] == [untyped["record_id"]]


def test_typed_values_always_win_and_a_disagreement_is_flagged(env, tmp_path):
    typed_owner = "001204012345"
    stored = ingest(env, marriage_certificate(tmp_path / "kh2.pdf", number="7/2024/KH-UBND"),
                    "--owner-id", typed_owner, "--title", "Đăng ký kết hôn", "--doc-type", "GCNKH")
    meta = show(env, stored["record_id"])["metadata"]
    assert meta["owner_id"] == typed_owner and meta["title"] == "Đăng ký kết hôn"  # never overridden
    assert "owner_id" in meta["disagreements"] and "owner_id" not in meta["unconfirmed"]
    assert "title" in meta["disagreements"]
    assert meta["number_symbol"] == "7/2024/KH-UBND" and "number_symbol" in meta["unconfirmed"]
    assert "doc_type_code" not in meta["unconfirmed"] + meta["disagreements"]  # typed and the pages agree
    assert HUSBAND[1] in meta["other_ids"] or meta["other_ids"] == [WIFE[1]]


def test_describe_confirms_sets_and_writes_a_new_version(env, tmp_path):
    stored = ingest(env, marriage_certificate(tmp_path / "kh3.pdf", number="9/2024/KH-UBND"))
    rid = stored["record_id"]
    bad = sohoa(env, "describe", rid, "--set", "issued_on=15/10/2024")
    assert bad.returncode == 14 and bad.stderr.count("\n") == 1 and "YYYY-MM-DD" in bad.stderr
    unknown = sohoa(env, "describe", rid, "--set", "record_code=X")
    assert unknown.returncode == 2 and "FIELD=VALUE" in unknown.stderr
    proc = sohoa(env, "describe", rid, "--set", "owner_name=Nguyễn Văn An", "--confirm")
    assert proc.returncode == 0, proc.stderr
    assert "metadata version 2" in proc.stdout
    document = show(env, rid)
    meta = document["metadata"]
    assert meta["owner_name"] == "Nguyễn Văn An" and meta["unconfirmed"] == [] and meta["disagreements"] == []
    assert "metadata/v0002.json" in document["objects"]
    [event] = [e for e in document["events"] if e["action"] == "described"]
    assert "owner_name" in event["detail"] and "number_symbol" in event["detail"]
    assert catalog_row(env, rid)[0] is None  # out of the review queue
    found = json.loads(sohoa(env, "search", "nguyen van an", "--json").stdout)
    assert rid in [h["record_id"] for h in found["hits"]]
    again = sohoa(env, "describe", rid, "--confirm")
    assert again.returncode == 0 and "nothing to change" in again.stdout


def test_owner_data_hands_out_confirmed_fields_only(env, tmp_path):
    rid = ingest(env, marriage_certificate(tmp_path / "kh4.pdf", number="11/2024/KH-UBND", note="Bản 4."))["record_id"]
    kho = json.loads(sohoa(env, "kho", HUSBAND[1], "--json").stdout)
    newest = kho["data"]["GCNKH"]
    assert newest["record_id"] == rid and "number_symbol" in newest["pending"]
    assert "number_symbol" not in newest["fields"]  # unconfirmed: never handed out as data
    assert sohoa(env, "describe", rid, "--confirm").returncode == 0
    confirmed = json.loads(sohoa(env, "kho", HUSBAND[1], "--json").stdout)["data"]["GCNKH"]
    assert confirmed["fields"]["number_symbol"] == "11/2024/KH-UBND"
    assert confirmed["fields"]["issued_on"] == "2024-10-15" and confirmed["pending"] == []
    assert confirmed["fields"]["other_ids"] == [WIFE[1]]


def test_a_rebuilt_catalog_keeps_the_review_state(env, untyped):
    before = catalog_row(env, untyped["record_id"])
    proc = sohoa(env, "rebuild-catalog")
    assert proc.returncode == 0, proc.stderr
    assert catalog_row(env, untyped["record_id"]) == before


def test_extraction_switched_off_stores_the_fields_as_typed(tmp_path):
    env = environ(tmp_path / "data", SOHOA_EXTRACT="false")
    stored = ingest(env, marriage_certificate(tmp_path / "kh.pdf"))
    document = show(env, stored["record_id"])
    assert "extracted.json" not in document["objects"]
    assert document["metadata"]["owner_id"] is None and document["metadata"]["unconfirmed"] == []
