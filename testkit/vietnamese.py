"""Synthetic Vietnamese administrative text with ground-truth keywords.

`document_text(seed)` builds the text of one page of a plausible one-stop-shop
document (national motto, issuing agency, number, place and date, title, the
citizen's particulars, body sentences, signature block). Everything is drawn
from fixed word lists with a seeded `random.Random`, so the same seed always
gives the same page on every machine (no dependence on `hash()` or locale).

All strings are returned in Unicode NFC because that is what the OCR pipeline
stores and searches; decomposed input would make CER and keyword checks lie.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO_SUB = "Độc lập - Tự do - Hạnh phúc"

# Lines must fit one A4 line at 12 pt in every font of the kit.
MAX_LINE_CHARS = 60

# Signature roles. The page renderer recognises these lines (and the signer
# name on the following line) and places them in the right-hand signature
# block, leaving room for a hand signature between the two.
SIGNATURE_ROLES: tuple[str, ...] = (
    "TM. ỦY BAN NHÂN DÂN",
    "KT. CHỦ TỊCH",
    "CHỦ TỊCH",
    "NGƯỜI LÀM ĐƠN",
    "NGƯỜI KHAI",
    "CÔNG CHỨNG VIÊN",
    "TRƯỞNG CÔNG AN PHƯỜNG",
    "GIÁM ĐỐC",
    "NGƯỜI ĐI ĐĂNG KÝ",
    "CÁN BỘ TIẾP NHẬN",
)


@dataclass(frozen=True)
class DocText:
    """Text of one page.

    `lines` are the full page lines in reading order (the title is one of
    them); `keywords` are strings a search over the OCR output must find.
    """

    title: str
    lines: list[str]
    keywords: list[str]


# --------------------------------------------------------------------------
# Word lists
# --------------------------------------------------------------------------

FAMILY_NAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ",
    "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trịnh",
    "Lương", "Tạ",
)
MIDDLE_MALE = ("Văn", "Hữu", "Đức", "Minh", "Quốc", "Thành", "Công", "Xuân", "Đình", "Quang")
MIDDLE_FEMALE = ("Thị", "Ngọc", "Thu", "Thanh", "Mỹ", "Kim", "Phương", "Hồng", "Diệu", "Thị Thu")
GIVEN_MALE = (
    "An", "Bảo", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hùng", "Khánh", "Long",
    "Lộc", "Nghĩa", "Phúc", "Quý", "Sơn", "Thắng", "Tuấn", "Việt", "Vĩnh",
    "Hưng", "Trọng", "Kỳ",
)
GIVEN_FEMALE = (
    "Hương", "Lan", "Hằng", "Ánh", "Châu", "Diễm", "Giang", "Hạnh", "Huyền",
    "Lệ", "Linh", "Loan", "Mai", "Nga", "Nhung", "Oanh", "Phượng", "Quỳnh",
    "Thảo", "Thủy", "Trang", "Tuyết", "Yến", "Ngân",
)

# (province, place name used in the date line, CCCD province code, localities)
# A locality is (ward or commune, district or city).
PROVINCES: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("Hà Nội", "Hà Nội", "001", (
        ("phường Hàng Bạc", "quận Hoàn Kiếm"),
        ("phường Láng Thượng", "quận Đống Đa"),
        ("phường Dịch Vọng", "quận Cầu Giấy"),
        ("xã Đông Hội", "huyện Đông Anh"),
    )),
    ("Quảng Ninh", "Hạ Long", "022", (("phường Hồng Gai", "thành phố Hạ Long"),)),
    ("Bắc Ninh", "Bắc Ninh", "027", (("phường Suối Hoa", "thành phố Bắc Ninh"),)),
    ("Hải Phòng", "Hải Phòng", "031", (
        ("phường Máy Tơ", "quận Ngô Quyền"),
        ("phường Hạ Lý", "quận Hồng Bàng"),
    )),
    ("Thanh Hóa", "Thanh Hóa", "038", (("phường Điện Biên", "thành phố Thanh Hóa"),)),
    ("Nghệ An", "Vinh", "040", (("phường Hưng Dũng", "thành phố Vinh"),)),
    ("Thừa Thiên Huế", "Huế", "046", (
        ("phường Phú Hội", "thành phố Huế"),
        ("phường Thuận Thành", "thành phố Huế"),
    )),
    ("Đà Nẵng", "Đà Nẵng", "048", (
        ("phường Thạch Thang", "quận Hải Châu"),
        ("phường Mỹ An", "quận Ngũ Hành Sơn"),
    )),
    ("Khánh Hòa", "Nha Trang", "056", (("phường Lộc Thọ", "thành phố Nha Trang"),)),
    ("Lâm Đồng", "Đà Lạt", "068", (("xã Tà Nung", "thành phố Đà Lạt"),)),
    ("TP. Hồ Chí Minh", "TP. Hồ Chí Minh", "079", (
        ("phường Bến Nghé", "quận 1"),
        ("phường Võ Thị Sáu", "quận 3"),
        ("phường Thảo Điền", "thành phố Thủ Đức"),
    )),
    ("An Giang", "Long Xuyên", "089", (("phường Mỹ Bình", "thành phố Long Xuyên"),)),
    ("Cần Thơ", "Cần Thơ", "092", (
        ("phường Tân An", "quận Ninh Kiều"),
        ("phường Hưng Lợi", "quận Ninh Kiều"),
    )),
)

STREETS = (
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Điện Biên Phủ",
    "Lý Thường Kiệt", "Quang Trung", "Phan Đình Phùng", "Nguyễn Huệ",
    "Võ Văn Kiệt", "Bạch Đằng", "Hùng Vương", "Hoàng Diệu", "Đề Thám",
)

OCCUPATIONS = (
    "Giáo viên", "Kỹ sư xây dựng", "Nông dân", "Bác sĩ", "Kế toán",
    "Công nhân", "Buôn bán nhỏ", "Lái xe", "Điều dưỡng", "Nhân viên văn phòng",
)

ETHNICITIES = ("Kinh", "Kinh", "Kinh", "Tày", "Mường", "Khmer", "Hoa", "Thái")

# Phrase pools for the free-form sentence generator: subject, verb phrase,
# object, complement. Chosen to be dense in every tone mark and in ă â đ ê ô ơ ư.
SUBJECTS = (
    "Ủy ban nhân dân {ward}", "Công chức tư pháp - hộ tịch",
    "Người yêu cầu", "Bộ phận tiếp nhận và trả kết quả",
    "Cơ quan đăng ký", "Chủ tịch Ủy ban nhân dân", "Văn phòng đăng ký đất đai",
    "Trưởng công an {ward}", "Ông (bà) {name}", "Cán bộ địa chính",
)
VERBS = (
    "đã tiếp nhận", "có trách nhiệm kiểm tra", "đề nghị xác minh",
    "xác nhận tính hợp lệ của", "hướng dẫn bổ sung", "lưu trữ đầy đủ",
    "chịu trách nhiệm về", "niêm yết công khai", "đối chiếu bản chính của",
    "cập nhật vào cơ sở dữ liệu", "giải quyết dứt điểm", "thẩm định lại",
)
OBJECTS = (
    "hồ sơ đăng ký hộ tịch", "giấy tờ chứng minh nơi cư trú",
    "bản sao trích lục khai sinh", "đơn đề nghị của công dân",
    "sổ hộ khẩu và giấy tờ tùy thân", "thông tin về quyền sử dụng đất",
    "kết quả thẩm tra hồ sơ", "biên nhận hồ sơ số {number}",
    "phiếu đề xuất ý kiến", "bản đồ địa chính tờ số {sheet}",
)
COMPLEMENTS = (
    "theo đúng quy định của pháp luật", "trong thời hạn năm ngày làm việc",
    "kể từ ngày nhận đủ hồ sơ hợp lệ", "tại trụ sở Ủy ban nhân dân",
    "trước ngày {date}", "để tổng hợp, báo cáo cấp trên",
    "nhằm bảo đảm quyền lợi hợp pháp của người dân",
    "mà không thu thêm bất kỳ khoản phí nào", "qua dịch vụ công trực tuyến",
    "và trả kết quả tại Bộ phận một cửa",
)


@dataclass(frozen=True)
class _Kind:
    """One kind of administrative document."""

    title: str
    code: str  # suffix of the document number, e.g. "QĐ-UBND"
    agency: str  # template of the issuing agency line (upper-cased later)
    role: str  # signature role, one of SIGNATURE_ROLES
    intro: tuple[str, ...]  # sentences placed before the citizen's fields
    body: tuple[str, ...]  # sentences placed after them


KINDS: tuple[_Kind, ...] = (
    _Kind(
        "GIẤY KHAI SINH", "TLKS-UBND", "Ủy ban nhân dân {ward}", "TM. ỦY BAN NHÂN DÂN",
        ("Căn cứ Luật Hộ tịch ngày 20 tháng 11 năm 2014.",),
        (
            "Nơi sinh: Bệnh viện Phụ sản {province}.",
            "Họ, chữ đệm, tên người mẹ: {mother}.",
            "Người đi khai sinh đã xuất trình giấy tờ tùy thân hợp lệ.",
            "Đăng ký khai sinh đúng hạn, ghi vào Sổ đăng ký khai sinh quyển số 01.",
        ),
    ),
    _Kind(
        "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT", "GCN-STNMT", "Sở Tài nguyên và Môi trường",
        "GIÁM ĐỐC",
        ("Quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất.",),
        (
            "Thửa đất số {parcel}, tờ bản đồ số {sheet}, diện tích {area} mét vuông.",
            "Địa chỉ thửa đất: {address}.",
            "Hình thức sử dụng: sử dụng riêng; mục đích: đất ở tại đô thị.",
            "Thời hạn sử dụng: lâu dài; nguồn gốc: được công nhận quyền sử dụng đất.",
            "Ghi chú: không có tài sản gắn liền với đất được chứng nhận.",
        ),
    ),
    _Kind(
        "QUYẾT ĐỊNH", "QĐ-UBND", "Ủy ban nhân dân {district}", "CHỦ TỊCH",
        (
            "Về việc giải quyết đề nghị của công dân.",
            "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
            "Xét đề nghị của Trưởng phòng Tư pháp {district}.",
        ),
        (
            "Điều 1. Chấp thuận đề nghị của ông (bà) có tên nêu trên.",
            "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.",
            "Điều 3. Chánh Văn phòng và các cá nhân có liên quan chịu trách nhiệm thi hành.",
        ),
    ),
    _Kind(
        "ĐƠN ĐỀ NGHỊ CẤP BẢN SAO GIẤY TỜ", "TN-BPMC", "Bộ phận một cửa {ward}",
        "NGƯỜI LÀM ĐƠN",
        ("Kính gửi: Ủy ban nhân dân {ward}, {district}.",),
        (
            "Tôi đề nghị được cấp hai bản sao giấy khai sinh để bổ sung hồ sơ.",
            "Lý do: giấy tờ gốc bị hư hỏng do ẩm ướt, chữ viết bị nhòe.",
            "Tôi xin cam đoan những lời khai trên là đúng sự thật.",
            "Kính mong quý cơ quan xem xét, giải quyết. Trân trọng cảm ơn!",
        ),
    ),
    _Kind(
        "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ", "CT-CAP", "Công an {ward}",
        "NGƯỜI KHAI",
        ("Kính gửi: Công an {ward}, {district}.",),
        (
            "Nội dung đề nghị: đăng ký thường trú vào chỗ ở hợp pháp mới.",
            "Chủ hộ: {other}; quan hệ với chủ hộ: con.",
            "Tôi cam đoan chỗ ở trên thuộc quyền sử dụng hợp pháp của gia đình.",
        ),
    ),
    _Kind(
        "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", "XN-UBND", "Ủy ban nhân dân {ward}",
        "KT. CHỦ TỊCH",
        ("Xét đề nghị của ông (bà) có tên dưới đây,",),
        (
            "Tình trạng hôn nhân: hiện tại chưa đăng ký kết hôn với ai.",
            "Giấy này được cấp để làm thủ tục đăng ký kết hôn.",
            "Giấy có giá trị sử dụng trong thời hạn sáu tháng kể từ ngày cấp.",
        ),
    ),
    _Kind(
        "GIẤY CHỨNG NHẬN KẾT HÔN", "KH-UBND", "Ủy ban nhân dân {ward}", "CHỦ TỊCH",
        ("Căn cứ Luật Hôn nhân và gia đình năm 2014.",),
        (
            "Họ, chữ đệm, tên người chồng (vợ): {other}.",
            "Hai bên tự nguyện kết hôn, đã được đăng ký vào Sổ hộ tịch.",
            "Nơi đăng ký: Ủy ban nhân dân {ward}, {district}.",
        ),
    ),
    _Kind(
        "TRÍCH LỤC KHAI TỬ", "TLKT-UBND", "Ủy ban nhân dân {ward}", "TM. ỦY BAN NHÂN DÂN",
        ("Trích lục từ Sổ đăng ký khai tử, quyển số 02 năm {year}.",),
        (
            "Đã chết vào lúc 07 giờ 30 phút, tại nhà riêng.",
            "Nguyên nhân chết: bệnh già, theo giấy báo tử của trạm y tế.",
            "Người đi khai tử: {other}, quan hệ với người chết: con.",
        ),
    ),
    _Kind(
        "THÔNG BÁO", "TB-UBND", "Ủy ban nhân dân {district}", "TM. ỦY BAN NHÂN DÂN",
        ("Về việc tiếp nhận hồ sơ chuyển quyền sử dụng đất.",),
        (
            "Hồ sơ của ông (bà) có tên nêu trên đã được tiếp nhận đầy đủ.",
            "Đề nghị ông (bà) đến nhận kết quả vào ngày {date}.",
            "Mọi thắc mắc liên hệ Bộ phận một cửa, điện thoại 0243 825 1234.",
        ),
    ),
    _Kind(
        "BIÊN BẢN BÀN GIAO HỒ SƠ", "BB-UBND", "Ủy ban nhân dân {ward}", "CÁN BỘ TIẾP NHẬN",
        ("Hôm nay, vào hồi 14 giờ, tại trụ sở Ủy ban nhân dân {ward},",),
        (
            "Bên giao đã bàn giao đầy đủ hồ sơ gốc gồm mười hai trang.",
            "Bên nhận đã kiểm đếm, không có tài liệu rách nát hay tẩy xóa.",
            "Biên bản lập thành hai bản có giá trị pháp lý như nhau.",
        ),
    ),
    _Kind(
        "GIẤY ỦY QUYỀN", "UQ-VPCC", "Văn phòng công chứng {district}", "CÔNG CHỨNG VIÊN",
        ("Hôm nay, tại Văn phòng công chứng, chúng tôi gồm có:",),
        (
            "Bên được ủy quyền: {other}.",
            "Phạm vi ủy quyền: thay mặt nộp và nhận hồ sơ đăng ký đất đai.",
            "Thời hạn ủy quyền: mười hai tháng kể từ ngày ký.",
        ),
    ),
)


# --------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _person(rng: random.Random, female: bool | None = None) -> tuple[str, bool]:
    """Return (full name, is_female); the sex is random unless given."""
    if female is None:
        female = rng.random() < 0.5
    family = rng.choice(FAMILY_NAMES)
    if female:
        name = f"{family} {rng.choice(MIDDLE_FEMALE)} {rng.choice(GIVEN_FEMALE)}"
    else:
        name = f"{family} {rng.choice(MIDDLE_MALE)} {rng.choice(GIVEN_MALE)}"
    return name, female


def _cccd(rng: random.Random, province_code: str, birth_year: int, female: bool) -> str:
    """12-digit citizen ID: province (3), century/sex (1), year (2), serial (6).

    The century/sex digit follows the real scheme: 0/1 for men/women born in
    the 20th century, 2/3 for the 21st.
    """
    century = 0 if birth_year < 2000 else 2
    return f"{province_code}{century + int(female)}{birth_year % 100:02d}{rng.randrange(10**6):06d}"


def wrap(text: str, width: int = MAX_LINE_CHARS) -> list[str]:
    """Greedy word wrap (words longer than `width` are kept whole)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _free_sentence(rng: random.Random, slots: dict[str, str]) -> str:
    parts = (rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(COMPLEMENTS))
    sentence = " ".join(parts).format(**slots)
    return sentence[0].upper() + sentence[1:] + "."


def document_text(seed: int, n_lines: int = 22) -> DocText:
    """Build one page of a Vietnamese administrative document.

    Exactly `n_lines` lines are returned (at least 10 are needed for the
    header, title, the keyword-bearing fields and the signature block).
    """
    if n_lines < 10:
        raise ValueError("n_lines must be at least 10")
    rng = random.Random(seed)
    kind = rng.choice(KINDS)
    province, place, code, localities = rng.choice(PROVINCES)
    ward, district = rng.choice(localities)

    name, female = _person(rng)
    other, _ = _person(rng)
    mother, _ = _person(rng, female=True)
    officer, _ = _person(rng)
    birth_year = rng.randint(1950, 2006)
    dob = f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{birth_year}"
    cccd = _cccd(rng, code, birth_year, female)
    year = rng.randint(2018, 2025)
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    number = f"{rng.randint(1, 999)}/{kind.code}"
    address = (
        f"Số {rng.randint(1, 250)}, đường {rng.choice(STREETS)}, {ward}, {district}, {province}"
    )
    slots = {
        "ward": ward, "district": district, "province": province, "name": name,
        "other": other, "mother": mother, "year": str(year), "number": str(rng.randint(100, 9999)),
        "sheet": str(rng.randint(1, 60)), "parcel": str(rng.randint(1, 900)),
        "area": f"{rng.randint(40, 400)},{rng.randint(0, 9)}", "address": address,
        "date": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}",
    }

    head = [
        MOTTO,
        MOTTO_SUB,
        kind.agency.format(**slots).upper(),
        f"Số: {number}",
        f"{place}, ngày {day:02d} tháng {month:02d} năm {year}",
        kind.title,
    ]
    key_fields = [f"Họ và tên: {name}", f"Số định danh cá nhân (CCCD): {cccd}"]
    # Applications are signed by the applicant, official papers by an officer.
    signer = name if kind.role in ("NGƯỜI LÀM ĐƠN", "NGƯỜI KHAI") else officer
    signature = [kind.role, signer]

    # Optional material, in page order, used to fill the requested line count.
    intro = [ln for s in kind.intro for ln in wrap(s.format(**slots))]
    extra_fields = [
        f"Ngày, tháng, năm sinh: {dob}",
        f"Giới tính: {'Nữ' if female else 'Nam'}   Dân tộc: {rng.choice(ETHNICITIES)}"
        "   Quốc tịch: Việt Nam",
        f"Nghề nghiệp: {rng.choice(OCCUPATIONS)}",
        *wrap(f"Nơi thường trú: {address}"),
    ]
    body = [ln for s in kind.body for ln in wrap(s.format(**slots))]

    budget = n_lines - len(head) - len(key_fields) - len(signature)
    intro = intro[:budget]
    budget -= len(intro)
    extra_fields = extra_fields[:budget]
    budget -= len(extra_fields)
    # Top up with free sentences until the page has the requested length;
    # a sentence cut at a line boundary is fine, the ground truth is the lines.
    while len(body) < budget:
        body.extend(wrap(_free_sentence(rng, slots)))
    body = body[:budget]

    lines = [_nfc(ln) for ln in head + intro + key_fields + extra_fields + body + signature]
    keywords = [_nfc(k) for k in (kind.title, number, name, cccd)]
    assert len(lines) == n_lines
    assert all(len(ln) <= MAX_LINE_CHARS for ln in lines), lines
    return DocText(title=_nfc(kind.title), lines=lines, keywords=keywords)
