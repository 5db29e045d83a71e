"""Extraction rules (issue #14) on word lists laid out from text lines, as OCR would hand them over.

`page()` places each line's words with boxes in PDF points (A4, top-left origin), one row per line; a
tuple (left, right) is a two-column header row, as NĐ 30/2020 lays out the issuer block and the motto.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from sohoa.core.errors import ExitCode, SohoaError
from sohoa.extract import Extraction, Proposal, extract, load_catalogue
from sohoa.extract.catalogue import GROUPS
from sohoa.extract.text import agency_case, name_case, person_name

A4 = (595.0, 842.0)
SIZE = 12.0  # point size: a word is 0.5 em per character wide


def _words(text: str, x: float, top: float, line: int, confidence: float, size: float = SIZE) -> list[dict]:
    out = []
    for token in text.split():
        width = 0.5 * size * len(token)
        out.append({"text": token, "line": line, "confidence": confidence,
                    "box_pt": [round(x, 2), round(top, 2), round(x + width, 2), round(top + size, 2)]})
        x += width + 0.3 * size
    return out


def _width(text: str) -> float:
    return 0.5 * SIZE * len(text.replace(" ", "")) + 0.3 * SIZE * (len(text.split()) - 1)


def page(*rows, confidence: float = 96.0) -> list[dict]:
    """Rows top to bottom: "text" (left aligned), ("left", "right") two columns, ("", "right"),
    or {"center": "TEXT"} (centred, e.g. the type title)."""
    words, top = [], 60.0
    for n, row in enumerate(rows):
        if isinstance(row, dict):
            text = row["center"]
            words += _words(text, (A4[0] - _width(text)) / 2, top, n, confidence)
        elif isinstance(row, tuple):
            left, right = row
            if left:
                words += _words(left, 60 + (220 - _width(left)) / 2, top, n, confidence)
            if right:
                words += _words(right, 300 + (260 - _width(right)) / 2, top, n, confidence)
        else:
            words += _words(row, 70.0, top, n, confidence)
        top += 1.6 * SIZE
    return words


def run(*rows, confidence: float = 96.0) -> Extraction:
    return extract([page(*rows, confidence=confidence)], [A4])


def value(result: Extraction, name: str):
    proposal = result.fields.get(name)
    return proposal.value if proposal else None


DECISION = (
    ("ỦY BAN NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    ("THÀNH PHỐ HỒ CHÍ MINH", "Độc lập - Tự do - Hạnh phúc"),
    ("Số: 4541/QĐ-UBND", "Thành phố Hồ Chí Minh, ngày 15 tháng 10 năm 2018"),
    {"center": "QUYẾT ĐỊNH"},
    {"center": "Về việc phê duyệt kế hoạch cải cách hành chính"},
    {"center": "năm 2019 trên địa bàn Thành phố"},
    {"center": "CHỦ TỊCH ỦY BAN NHÂN DÂN THÀNH PHỐ HỒ CHÍ MINH"},
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
)


def test_decision_header_in_two_columns():
    result = run(*DECISION)
    assert result.doc_type is not None and result.doc_type.value == "QD"
    assert value(result, "doc_type_name") == "Quyết định"
    assert value(result, "number_symbol") == "4541/QĐ-UBND"
    assert value(result, "issued_on") == "2018-10-15"
    assert value(result, "issuing_agency") == "Ủy ban nhân dân Thành phố Hồ Chí Minh"
    assert value(result, "summary") == "Về việc phê duyệt kế hoạch cải cách hành chính năm 2019 trên địa bàn Thành phố"
    assert value(result, "title") == ("Quyết định về việc phê duyệt kế hoạch cải cách hành chính năm 2019 "
                                      "trên địa bàn Thành phố")
    number = result.fields["number_symbol"]
    assert number.page == 1 and number.confidence >= 0.9 and number.source == "pattern:number-symbol"
    assert number.box[0] < 297 and number.box[1] > 60  # the left column, third row
    assert "owner_id" not in result.fields and result.other_ids == []


def test_two_level_issuer_the_lower_line_is_the_unit():
    result = run(("UBND QUẬN 1", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
                 ("PHÒNG TƯ PHÁP", "Độc lập - Tự do - Hạnh phúc"),
                 ("Số: 125/TB-PTP", "Quận 1, ngày 05/3/2024"),
                 {"center": "THÔNG BÁO"},
                 {"center": "Về việc tiếp nhận hồ sơ chứng thực"})
    assert value(result, "issuing_agency") == "Phòng Tư pháp"
    assert value(result, "issuing_parent") == "Ủy ban nhân dân Quận 1"
    assert value(result, "issued_on") == "2024-03-05"
    assert value(result, "doc_type_code") == "TB"
    assert value(result, "title") == "Thông báo về việc tiếp nhận hồ sơ chứng thực"


def test_official_letter_without_title_line_is_a_cong_van():
    result = run(("SỞ TƯ PHÁP", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
                 ("", "Độc lập - Tự do - Hạnh phúc"),
                 ("Số: 125/STP-VP", "Đà Nẵng, ngày 02 tháng 01 năm 2023"),
                 ("V/v tăng cường số hóa hồ sơ", ""),
                 ("thủ tục hành chính", ""),
                 "Kính gửi: Ủy ban nhân dân các quận, huyện.")
    assert value(result, "doc_type_code") == "CV"
    assert value(result, "number_symbol") == "125/STP-VP"
    assert value(result, "summary") == "V/v tăng cường số hóa hồ sơ thủ tục hành chính"
    assert value(result, "title") == "Công văn về việc tăng cường số hóa hồ sơ thủ tục hành chính"
    assert value(result, "issuing_agency") == "Sở Tư pháp"
    assert result.doc_type.confidence < 0.9  # inferred, not read
    lost_v = run(("SỞ TƯ PHÁP", ""), ("Số: 125/STP-VP", ""), ("V/ điều chỉnh kế hoạch", ""))
    assert value(lost_v, "doc_type_code") == "CV" and value(lost_v, "summary") == "V/v điều chỉnh kế hoạch"


@pytest.mark.parametrize("line, expected", [
    ("S6: 2576 /QĐ-UBND", "2576/QĐ-UBND"),
    ("Số:2576/QĐ- UBND", "2576/QĐ-UBND"),
    ("So: 12/2023/NĐ-CP", "12/2023/NĐ-CP"),
    ("Số: 2576/QD-UBND", "2576/QĐ-UBND"),
    ("SỐ: 7/KH-UBND", "7/KH-UBND"),
    ("Số: 23/QĐÐ-UBND", "23/QĐ-UBND"),  # as Tesseract read a 200 dpi scan
])
def test_number_symbol_tolerates_ocr_noise(line, expected):
    result = run(("ỦY BAN NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), (line, ""), {"center": "QUYẾT ĐỊNH"})
    assert value(result, "number_symbol") == expected


@pytest.mark.parametrize("line, expected", [
    ("Hà Nội, ngày 15 tháng 10 năm 2018", "2018-10-15"),
    ("Hà Nội, ngay 15 thang 10 nam 2018", "2018-10-15"),  # marks lost by OCR
    ("Cần Thơ, ngày 15/10/2018", "2018-10-15"),
    ("Huế, ngày 05/3/2024", "2024-03-05"),
    ("Hà Nội, ngày 15 tháng 10 năm 3024", None),  # absurd year
    ("Hà Nội, ngày 31 tháng 02 năm 2020", None),  # impossible date
    ("Hà Nội, ngày 12 tháng 5 năm 1899", None),
    ("Mỹ An, ngày 17 tháng 11 năm 20158", None),  # a speck read as a fifth digit: no year at all
])
def test_issue_date(line, expected):
    assert value(run(("", line), {"center": "THÔNG BÁO"}), "issued_on") == expected


def test_each_catalogue_group_is_recognised():
    catalogue = load_catalogue()
    titles = {"hanh-chinh": "KẾ HOẠCH", "ho-tich": "GIẤY KHAI SINH", "nhan-than": "CĂN CƯỚC CÔNG DÂN",
              "dat-dai": "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT", "xay-dung": "GIẤY PHÉP XÂY DỰNG",
              "kinh-doanh": "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH",
              "mot-cua": "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"}
    used = {t.group for t in catalogue.types.values()}
    assert used <= set(GROUPS) and used - {"khac"} == set(titles)
    for group, title in titles.items():
        result = run({"center": title})
        assert result.doc_type is not None, title
        assert catalogue.types[result.doc_type.value].group == group
        assert result.doc_type.confidence >= 0.9


@pytest.mark.parametrize("title, code", [
    ("GIẤY CHỨNG NHẬN KẾT HÔN", "GCNKH"), ("TRÍCH LỤC KHAI TỬ", "TLKT"), ("TRÍCH LỤC KHAI SINH", "TLKS"),
    ("GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", "XNHN"), ("ĐƠN ĐỀ NGHỊ CẤP BẢN SAO GIẤY TỜ", "DON"),
    ("TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ", "TK"), ("GIẤY ỦY QUYỀN", "GUQ"), ("BIÊN BẢN BÀN GIAO HỒ SƠ", "BB"),
    ("GIAY CHUNG NHAN KET HON", "GCNKH"),  # marks lost
    ("GIẤY CHỨNG NHẠN QUYÈN SỬ DỤNG ĐÁT", "GCNQSDD"),  # OCR noise in the marks
    ("GIAY CHUNC NHAN DANG KY DOANH NGHIEP", "GCNDN"),  # a wrong letter too
    ("TỜ TRÌNH", "TTR"), ("GIẤY MỜI", "GM"), ("NGHỊ QUYẾT", "NQ"), ("CHỈ THỊ", "CT"), ("HƯỚNG DẪN", "HD"),
    ("BÁO CÁO", "BC"), ("GIẤY PHÉP XÂY DỰNG", "GPXD"),
])
def test_type_titles_including_ocr_noise(title, code):
    result = run({"center": title})
    assert value(result, "doc_type_code") == code


def test_civil_paper_owner_fields():
    result = run(("ỦY BAN NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
                 ("PHƯỜNG BẾN NGHÉ", "Độc lập - Tự do - Hạnh phúc"),
                 ("Số: 88/XN-UBND", ""),
                 {"center": "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN"},
                 "Họ, chữ đệm và tên: NGUYỄN THỊ THU HƯƠNG",
                 "Ngày, tháng, năm sinh: 12/04/1990",
                 "Số định danh cá nhân: 079190001234",
                 "Tình trạng hôn nhân: hiện tại chưa đăng ký kết hôn với ai.",
                 ("", "Quận 1, ngày 10 tháng 01 năm 2024"))
    assert value(result, "doc_type_code") == "XNHN"
    assert value(result, "title") == "Giấy xác nhận tình trạng hôn nhân"
    assert value(result, "owner_name") == "Nguyễn Thị Thu Hương"
    assert value(result, "date_of_birth") == "1990-04-12"
    assert value(result, "owner_id") == "079190001234"
    assert result.fields["owner_id"].confidence >= 0.9
    assert value(result, "issued_on") == "2024-01-10"
    assert value(result, "issuing_agency") == "Ủy ban nhân dân phường Bến Nghé"
    until = result.fields["valid_until"]
    assert until.value == "2024-07-10" and until.source == "catalogue:valid-months" and until.confidence < 0.9
    assert "summary" not in result.fields


def test_marriage_certificate_finds_the_spouse_id():
    result = run({"center": "GIẤY CHỨNG NHẬN KẾT HÔN"},
                 ("Họ, chữ đệm, tên: TRẦN VĂN AN", "Họ, chữ đệm, tên: LÊ THỊ MAI"),
                 ("Ngày sinh: 02/03/1988", "Ngày sinh: 20/11/1992"),
                 ("Số CCCD: 001088012345", "Số CCCD: 048192054321"),
                 ("", "Hà Nội, ngày 01 tháng 6 năm 2020"))
    assert value(result, "owner_name") == "Trần Văn An"
    assert value(result, "owner_id") == "001088012345"
    assert [p.value for p in result.other_ids] == ["048192054321"]
    assert result.owners() == [{"id": "001088012345", "name": "Trần Văn An"},
                               {"id": "048192054321", "name": "Lê Thị Mai"}]
    assert result.other_ids[0].source == "id:cccd"
    qualified = run({"center": "GIẤY CHỨNG NHẬN KẾT HÔN"},
                    "Họ, chữ đệm, tên người chồng: NGUYỄN VĂN AN", "Số định danh cá nhân: 001090012345",
                    "Họ, chữ đệm, tên người vợ: Lê Thị Mai", "Số định danh cá nhân: 079190001234")
    assert qualified.owners() == [{"id": "001090012345", "name": "Nguyễn Văn An"},
                                  {"id": "079190001234", "name": "Lê Thị Mai"}]


def test_id_card_with_expiry_and_spaced_number():
    result = run({"center": "CĂN CƯỚC CÔNG DÂN"},
                 "Số / No.: 079 091 001234",
                 "Họ và tên / Full name: PHẠM VĂN LONG",
                 "Ngày sinh / Date of birth: 01/02/1991",
                 "Có giá trị đến / Date of expiry: 01/02/2031")
    assert value(result, "doc_type_code") == "CCCD"
    assert value(result, "owner_name") == "Phạm Văn Long"
    assert value(result, "owner_id") == "079091001234"
    assert value(result, "valid_until") == "2031-02-01"
    assert result.fields["valid_until"].source == "label:có giá trị đến"


def test_repaired_id_has_lower_confidence():
    result = run("Họ và tên: NGUYỄN VĂN AN", "Số CCCD: O79O91001234")
    assert value(result, "owner_id") == "079091001234"
    assert result.fields["owner_id"].confidence < 0.9
    assert "repaired" in result.fields["owner_id"].source


@pytest.mark.parametrize("number", [
    "099091001234",  # 099 is no province code
    "079591001234",  # century digit 5: born in the 22nd century
    "079212001234",  # born in 2012 by its digits... but the date of birth says 1990: see the test below
    "07909100123",  # 11 digits
])
def test_invalid_cccd_is_never_the_owner(number):
    result = run("Họ và tên: NGUYỄN VĂN AN", "Ngày sinh: 01/01/1990", f"Số CCCD: {number}")
    assert "owner_id" not in result.fields
    assert all(p.value != number or p.confidence < 0.9 for p in result.other_ids)


def test_mst_check_digit():
    good = run({"center": "GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP"}, "Tên doanh nghiệp: CÔNG TY TNHH AN PHÚ",
               "Mã số doanh nghiệp: 0100233488")
    assert value(good, "owner_id") == "0100233488"
    branch = run("Mã số thuế: 0100233488-001")
    assert value(branch, "owner_id") == "0100233488-001"
    bad = run("Mã số thuế: 0100233489")
    assert "owner_id" not in bad.fields and bad.other_ids == []


def test_cmnd_only_after_its_label():
    assert value(run("Họ và tên: LÊ VĂN HÙNG", "CMND số: 023456789"), "owner_id") == "023456789"
    assert "owner_id" not in run("Điện thoại: 023456789").fields


def test_unlabelled_cccd_is_another_id_with_its_name():
    result = run({"center": "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ"},
                 "Họ và tên: ĐỖ MINH KHÁNH",
                 "Số định danh cá nhân: 092095004321",
                 "Họ và tên chủ hộ: VÕ THỊ LAN",
                 "Giấy tờ tùy thân của chủ hộ: 089170009876")
    assert value(result, "owner_id") == "092095004321"
    assert [(p.value, name) for p, name in zip(result.other_ids, result.other_names)] == \
        [("089170009876", "Võ Thị Lan")]


def test_blank_english_table_and_handwriting_give_nothing_wrong():
    assert extract([[]], [A4]).to_json()["fields"] == {}
    assert extract([], None).fields == {}
    english = run("INVOICE", "Date: March 5, 2024", "Total amount due: 1,250.00 USD", "Thank you for your business")
    assert english.doc_type is None and english.fields == {}
    rows = [" ".join(f"{(r * 7919 + c * 104729) % 10**6:06d}" for c in range(5)) for r in range(12)]
    table = run(*rows)
    assert "owner_id" not in table.fields and table.other_ids == []
    handwritten = run({"center": "GIẤY KHAI SINH"}, "Họ và tên: NGUYỄN VĂN AN", "Số CCCD: 079091001234",
                      confidence=25.0)
    assert all(p.confidence < 0.8 for p in handwritten.fields.values())
    garbage = extract([[{"text": 5}, {"box_pt": "x"}, "not a dict", {"text": "Số:", "box_pt": [1, 2, 3]}]], None)
    assert garbage.fields == {}


def test_json_round_trip_and_strict_reading():
    result = run(*DECISION)
    data = json.loads(json.dumps(result.to_json()))
    assert data["version"] == 1 and data["doc_type"]["value"] == "QD"
    again = Extraction.from_json(data)
    assert again.to_json() == result.to_json()
    for broken in ({"version": 2}, {**data, "fields": {"colour": data["fields"]["title"]}},
                   {**data, "doc_type": {**data["doc_type"], "confidence": 1.5}},
                   {**data, "other_ids": [{"value": "x"}]}):
        with pytest.raises(SohoaError) as caught:
            Extraction.from_json(broken)
        assert caught.value.exit_code == ExitCode.DAMAGED
    assert Proposal.from_json(data["fields"]["title"]).value.startswith("Quyết định về việc")


def test_admin_catalogue_extends_and_overrides(tmp_path: Path):
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "types:\n"
        "  - {code: PXK, name: Phiếu xuất kho, group: khac, cues: [PHIẾU XUẤT KHO], retention: \"06\"}\n"
        "  - {code: QD, name: Quyết định hành chính, group: hanh-chinh, cues: [QUYẾT ĐỊNH], symbol: QĐ,\n"
        "     retention: \"02\", fields: [number_symbol, title]}\n", encoding="utf-8")
    catalogue = load_catalogue(extra)
    assert catalogue.types["QD"].retention == "02" and "GKS" in catalogue.types
    result = extract([page({"center": "PHIẾU XUẤT KHO"})], [A4], catalogue)
    assert value(result, "doc_type_name") == "Phiếu xuất kho"
    for text, fragment in (("types: [1, 2", "not valid YAML"), ("types:\n  - {code: qd}\n", "code must be"),
                           ("types:\n  - {code: X, name: X, group: khac, cues: [X], retention: \"99\"}\n",
                            "retention"), ("[]", "expected a mapping")):
        extra.write_text(text, encoding="utf-8")
        with pytest.raises(SohoaError) as caught:
            load_catalogue(extra)
        assert caught.value.exit_code == ExitCode.USAGE and fragment in str(caught.value)
    with pytest.raises(SohoaError):
        load_catalogue(tmp_path / "missing.yaml")


def test_name_and_agency_case():
    assert name_case("NGUYỄN VĂN AN") == "Nguyễn Văn An"
    assert person_name("NGUYEN MINH PHÚC") == ("Nguyễn Minh Phúc", True)
    assert person_name("Đăng Đình Phúc") == ("Đặng Đình Phúc", True)  # Tesseract's usual slip
    assert person_name("Mai Anh Tuấn") == ("Mai Anh Tuấn", False)
    respelled = run("Họ và tên: HO HONG PHƯONG").fields["owner_name"]
    assert respelled.value == "Hồ Hong Phưong" and respelled.confidence < 0.9
    assert agency_case("SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG") == "Sở Tài nguyên và Môi trường"
    assert agency_case("CÔNG AN PHƯỜNG HÀNG BẠC") == "Công an phường Hàng Bạc"
    assert agency_case("UỶ BAN NHÂN DÂN TỈNH LÂM ĐỒNG") == "Ủy ban nhân dân tỉnh Lâm Đồng"


def test_catalogue_covers_the_issue_list():
    names = {t.name for t in load_catalogue().types.values()}
    for name in ("Quyết định", "Công văn", "Kế hoạch", "Thông báo", "Báo cáo", "Tờ trình", "Giấy mời", "Biên bản",
                 "Nghị quyết", "Chỉ thị", "Hướng dẫn", "Giấy ủy quyền", "Giấy khai sinh", "Trích lục khai sinh",
                 "Trích lục khai tử", "Giấy chứng nhận kết hôn", "Giấy xác nhận tình trạng hôn nhân",
                 "Căn cước công dân", "Giấy chứng nhận quyền sử dụng đất", "Giấy chứng nhận đăng ký hộ kinh doanh",
                 "Giấy chứng nhận đăng ký doanh nghiệp", "Giấy phép xây dựng", "Đơn", "Tờ khai",
                 "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"):
        assert name in names
    assert date.today().year >= 2024


def test_title_over_two_lines_spelled_as_the_catalogue():
    result = run(("ỦY BAN NHÂN DÂN XÃ TÀ NUNG", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
                 ("BỘ PHẬN MỘT CỬA", "Độc lập - Tự do - Hạnh phúc"),
                 ("", "Tà Nung, ngày 23 tháng 02 năm 2022"),
                 {"center": "GIẤY TIẾP NHẬN HỒ SƠ"},
                 {"center": "VÀ HẸN TRẢ KẾT QUÁ"},  # Tesseract's "QUÁ" for "QUẢ"
                 "Ông (bà): LÝ MINH DŨNG",
                 "Số định danh cá nhân: 068077717837")
    assert value(result, "doc_type_code") == "GTN"
    assert value(result, "title") == "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"
    assert value(result, "issuing_agency") == "Bộ phận một cửa"
    assert value(result, "issuing_parent") == "Ủy ban nhân dân xã Tà Nung"
    assert value(result, "owner_name") == "Lý Minh Dũng"
    assert value(result, "owner_id") == "068077717837"


def test_id_card_name_below_its_label_and_number_read_with_noise():
    result = run({"center": "CĂN CƯỚC CÔNG DÂN"},
                 "Số I No.: 048086189121",  # "/" read as "I"
                 "Họ và tên / Full name:",
                 "ĐỖ CÔNG LỘC",
                 "Ngày sinh / Date of birth: 07/10/1986")
    assert value(result, "owner_name") == "Đỗ Công Lộc"
    assert value(result, "owner_id") == "048086189121"
    assert value(result, "date_of_birth") == "1986-10-07"


def test_owner_after_cap_cho_and_qualified_labels():
    permit = run({"center": "GIẤY PHÉP XÂY DỰNG"}, "1. Cấp cho: Ông (bà) NGÔ THỊ THU HUYỀN",
                 "Số định danh cá nhân: 001165270539")
    assert value(permit, "owner_name") == "Ngô Thị Thu Huyền" and value(permit, "owner_id") == "001165270539"
    application = run({"center": "ĐƠN ĐỀ NGHỊ CẤP BẢN SAO TRÍCH LỤC HỘ TỊCH"},
                      "Họ và tên người yêu cầu: Bùi Minh Việt", "Số định danh cá nhân: 092067360433")
    assert value(application, "owner_name") == "Bùi Minh Việt"
    birth = run({"center": "GIẤY KHAI SINH"}, "Họ, chữ đệm, tên: Phạm Quang Kỳ",
                "Ngày, tháng, năm sinh: 14/04/2019",
                "Họ, chữ đệm, tên người mẹ: Võ Ngọc Phương",
                "Số định danh cá nhân của mẹ: 089180555010")
    assert value(birth, "owner_name") == "Phạm Quang Kỳ"
    assert "owner_id" not in birth.fields  # the mother's ID is not the child's
    assert [(p.value, n) for p, n in zip(birth.other_ids, birth.other_names)] == [("089180555010", "Võ Ngọc Phương")]


def test_an_id_ocr_was_unsure_of_stays_below_0_9():
    words = page("Họ và tên: HỒ HỒNG PHƯỢNG", "Số định danh cá nhân: 056189658197")
    for word in words:
        if word["text"].isdigit():
            word["confidence"] = 84.0  # one digit misread, the structure still valid
    result = extract([words], [A4])
    assert value(result, "owner_id") == "056189658197"
    assert result.fields["owner_id"].confidence < 0.9


def test_agency_words_read_with_noise_and_specks():
    result = run(("ỦY BẠN NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
                 ("QUẦN NINH KIỀU '", "Độc lập - Tự do - Hạnh phúc"),
                 ("SO: 2957/GM-UBND", "Ninh Kiều, ngay 23.thang 4 năm 2019"),
                 ("|", "GIẤY MỜI"),
                 {"center": "Dự hội nghị triển khai thu phí dịch vụ công trực tuyến"})
    assert value(result, "issuing_agency") == "Ủy ban nhân dân quận Ninh Kiều"
    assert value(result, "number_symbol") == "2957/GM-UBND"
    assert value(result, "issued_on") == "2019-04-23"
    assert value(result, "title") == "Giấy mời dự hội nghị triển khai thu phí dịch vụ công trực tuyến"
    assert agency_case("PHÒNG TÀI CHÍNH - KẾ HOẠCH") == "Phòng Tài chính - Kế hoạch"
    assert agency_case("PHÒNG ĐĂNG KÝ KINH DOANH") == "Phòng Đăng ký kinh doanh"
    assert agency_case("Hội-đong nhân dân quận Ngô Quyền") == "Hội đồng nhân dân quận Ngô Quyền"
    assert value(run(("", "Mỹ Bình. ngày 14 tháng 4 năm 2023"), {"center": "GIẤY KHAI SINH"}), "issued_on") == \
        "2023-04-14"


def test_labels_read_with_ocr_punctuation_and_an_id_beside_its_wrapped_label():
    result = run({"center": "TRÍCH LỤC KHAI TỬ"},
                 "Họ. chứ đem. ten; Phạm Quang Kỳ",
                 "Ngày, tháng, năm sinh: 25/04/1939",
                 "Số định danh cá nhân: 038039645637",
                 "Họ, chữ đệm, tên người đi khai tử: Trần Mỹ Quỳnh")
    assert value(result, "owner_name") == "Phạm Quang Kỳ" and value(result, "owner_id") == "038039645637"
    # "Số định danh cá nhân người đi khai tử:" with the number to its right, a little higher
    rows = page("Họ, chữ đệm, tên người đi khai tử: Trần Mỹ Quỳnh", "Số định danh cá nhân người đi khai tử:")
    label_top = max(w["box_pt"][1] for w in rows)
    number = {"text": "038175982529.", "line": 9, "confidence": 93.0,
              "box_pt": [330.0, label_top - 4.0, 420.0, label_top + 8.0]}
    declarant = extract([rows + [number]], [A4])
    assert [(p.value, n) for p, n in zip(declarant.other_ids, declarant.other_names)] == \
        [("038175982529", "Trần Mỹ Quỳnh")]
    assert declarant.other_ids[0].confidence >= 0.9 and "owner_id" not in declarant.fields


def test_random_words_never_crash():
    import random

    vocab = ["Số:", "12/QĐ-UBND", "ngày", "15", "tháng", "năm", "2018", "QUYẾT", "ĐỊNH", "Họ", "và", "tên:", "NGUYỄN",
             "079091001234", "0100233488", "V/v", "ỦY", "BAN", "Ông", "(bà):", "|", "-", "", "Ð", "31/02/2020"]
    rng = random.Random(14)
    for _ in range(300):
        words = []
        for _ in range(rng.randint(0, 40)):
            x0, top = rng.uniform(-50, 700), rng.uniform(-50, 900)
            words.append({"text": rng.choice(vocab), "line": rng.randint(0, 9), "confidence": rng.uniform(-10, 110),
                          "box_pt": [x0, top, x0 + rng.uniform(-5, 80), top + rng.uniform(-2, 20)]})
        result = extract([words, [{"text": None}, "x"]], rng.choice([None, [A4], [(0, 0)]]))
        assert all(0 <= p.confidence <= 1 for p in [*result.fields.values(), *result.other_ids])
        assert Extraction.from_json(json.loads(json.dumps(result.to_json()))).to_json() == result.to_json()


def test_specks_at_the_ends_of_a_line_are_not_words():
    result = run(("ỦY BAN NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
                 ("QUẬN 1 '", "Độc lập - Tự do - Hạnh phúc"),
                 ("_ Số: 12/QĐ-UBND", "Quận 1, ngày 02 tháng 3 năm 2021 ."),
                 {"center": ". QUYẾT ĐỊNH"},
                 {"center": "Về việc cấp giấy phép ‘"})
    assert value(result, "number_symbol") == "12/QĐ-UBND"
    assert value(result, "doc_type_code") == "QD"
    assert value(result, "issuing_agency") == "Ủy ban nhân dân Quận 1"
    assert value(result, "summary") == "Về việc cấp giấy phép"


def test_a_raised_word_and_glued_specks_keep_their_line():
    words = page({"center": "GIẤY KHAI SINH"}, ("", "Huế, ngày 01 tháng 12 năm 2016"), ".Số: 45/TLKS-UBND'")
    nam = next(w for w in words if w["text"] == "năm")
    nam["box_pt"][1] -= 4.0  # a speck merged into the word's box
    x0, top = nam["box_pt"][0], nam["box_pt"][1] + 4.0
    words.append({"text": "'", "line": 1, "confidence": 20.0, "box_pt": [x0 - 20.0, top - 0.5, x0 - 19.0, top + 0.2]})
    result = extract([words], [A4])
    assert value(result, "issued_on") == "2016-12-01"
    assert value(result, "number_symbol") == "45/TLKS-UBND"


def test_text_layer_header_columns_a_short_gap_apart():
    def line(text: str, x: float, top: float) -> list[dict]:
        return _words(text, x, top, 0, 100.0, size=11.0)

    def beside(left: list[dict], text: str, gap: float) -> list[dict]:
        return left + line(text, left[-1]["box_pt"][2] + gap, left[-1]["box_pt"][1])

    # As a text PDF puts them: one line number for both columns, ~20 pt apart (under two letter
    # heights) and away from the page centre, so only the row's usual spacing tells the columns apart.
    issuer = line("ỦY BAN NHÂN DÂN XÃ TÀ NUNG", 76.0, 62.0)
    code = line("Mã hồ sơ: 000.00.12.H36-220223-0066", 76.0, 112.0)
    assert issuer[-1]["box_pt"][2] + 20 < A4[0] / 2 - 11 and code[-1]["box_pt"][2] + 21 < A4[0] / 2 - 11
    words = (beside(issuer, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 20.0)
             + beside(code, "Tà Nung, ngày 23 tháng 02 năm 2022", 21.0)
             + line("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", 180.0, 150.0))
    result = extract([words], [A4])
    assert value(result, "issued_on") == "2022-02-23"
    assert value(result, "issuing_agency") == "Ủy ban nhân dân xã Tà Nung"
