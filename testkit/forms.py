"""Labelled Vietnamese documents for measuring extraction (issue #14): every type, with its truth.

`labelled_set(n_per_type, seed, degradations)` builds, per document type, papers laid out as
NĐ 30/2020 prescribes for administrative documents (issuer block top-left in capitals, the parent
agency above the issuing unit when there is one, motto top-right, "Số: …" under the issuer, the
place-and-date line under the motto, the type title centred in bold capitals, the trích yếu under
it, body, "Nơi nhận" and the signature block; issued by a ward, district or province committee or
a province department) and as the civil-status and business forms are (Giấy khai sinh, Giấy
chứng nhận kết hôn with both spouses' IDs, a CCCD copied front and back on A4, the two-page
land-use certificate, household-business registration with its tax code, construction permit,
applications, some with an old 9-digit CMND). `make_trap` prints an invalid owner ID on purpose.

Each `LabelledDoc` carries the TRUTH of the extraction fields (the record's metadata names):
a field in `truth` must be proposed with exactly that value (NFC); a field in `unscored` is not
judged (the paper prints it in a form no rule can be held to, e.g. a birth register number "125");
any other field must not be proposed. `doc_type_code` is looked up by name in the catalogue at run
time (`resolve_codes`), so the generator never hard-codes the catalogue's codes.

Capitalisation of agencies and places follows NĐ 30/2020 Phụ lục II: "Ủy ban nhân dân phường Bến
Nghé", "Ủy ban nhân dân Quận 1" (a numbered unit keeps its capital), "Thành phố Hồ Chí Minh".
IDs are valid: CCCDs with a real province code, the century/sex digit and the birth year; tax
codes (MST) with the check digit of the tax authority's weighted sum (as python-stdnum validates).
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from .fonts import FONTS
from .form_layout import (
    BORN_DIGITAL,
    KINDS,
    Form,
    Row,
    Seg,
    degrade,
    render_form,
    row,
    save_scan,
    save_text_pdf,
)
from .vietnamese import (
    FAMILY_NAMES,
    GIVEN_FEMALE,
    GIVEN_MALE,
    MIDDLE_FEMALE,
    MIDDLE_MALE,
    MOTTO,
    MOTTO_SUB,
    PROVINCES,
    STREETS,
    _cccd,
    wrap,
)

FIELDS: tuple[str, ...] = (
    "doc_type_code", "doc_type_name", "number_symbol", "issued_on", "issuing_agency", "title",
    "summary", "owner_id", "owner_name", "date_of_birth", "valid_until",
)
MST_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _sentence(text: str) -> str:
    """Capital letters of a title line → sentence case ("GIẤY KHAI SINH" → "Giấy khai sinh")."""
    low = text.lower()
    return low[:1].upper() + low[1:]


# ---------------------------------------------------------------- places


@dataclass(frozen=True)
class Unit:
    """An administrative unit: its unit word ("phường", "quận", "tỉnh") and its name."""

    word: str
    name: str

    @property
    def proper(self) -> str:
        """In running text (NĐ 30 Phụ lục II): the unit word is lower case, except before a number
        and in the special "Thành phố Hồ Chí Minh"."""
        if self.name.isdigit() or self.name == "Hồ Chí Minh":
            return f"{self.word[:1].upper()}{self.word[1:]} {self.name}"
        return f"{self.word} {self.name}"

    @property
    def place(self) -> str:
        """Place in the date line: the unit's name ("Bến Nghé"); "Phường 5" for a numbered one and
        "Thành phố Hồ Chí Minh" keep their unit word."""
        return self.proper if self.name.isdigit() or self.name == "Hồ Chí Minh" else self.name


_CITIES = {"Hà Nội", "Hải Phòng", "Đà Nẵng", "Cần Thơ", "TP. Hồ Chí Minh"}


def _unit(text: str) -> Unit:
    for word in ("thành phố", "thị trấn", "phường", "quận", "huyện", "xã", "tỉnh"):
        if text.startswith(word + " "):
            return Unit(word, text[len(word) + 1:])
    raise ValueError(text)


@dataclass(frozen=True)
class Locality:
    province: Unit
    district: Unit
    ward: Unit
    code: str  # CCCD province code


def _localities() -> list[Locality]:
    out = []
    for province, _place, code, places in PROVINCES:
        if province == "TP. Hồ Chí Minh":
            prov = Unit("thành phố", "Hồ Chí Minh")
        else:
            prov = Unit("thành phố" if province in _CITIES else "tỉnh", province)
        out += [Locality(prov, _unit(d), _unit(w), code) for w, d in places]
    return out


LOCALITIES = _localities()


# ---------------------------------------------------------------- people and IDs


@dataclass(frozen=True)
class Person:
    name: str
    female: bool
    born: date
    cccd: str

    @property
    def dob(self) -> str:
        return f"{self.born.day:02d}/{self.born.month:02d}/{self.born.year}"


def person(rng: random.Random, code: str, years: tuple[int, int], female: bool | None = None) -> Person:
    female = rng.random() < 0.5 if female is None else female
    family = rng.choice(FAMILY_NAMES)
    middle, given = (MIDDLE_FEMALE, GIVEN_FEMALE) if female else (MIDDLE_MALE, GIVEN_MALE)
    born = date(rng.randint(*years), rng.randint(1, 12), rng.randint(1, 28))
    return Person(nfc(f"{family} {rng.choice(middle)} {rng.choice(given)}"), female, born,
                  _cccd(rng, code, born.year, female))


def mst_check_digit(first9: str) -> int | None:
    """Check digit of a tax code (MST); None when the weighted sum leaves no valid digit."""
    total = sum(w * int(d) for w, d in zip(MST_WEIGHTS, first9))
    digit = 10 - total % 11
    return None if digit == 10 else digit


def mst(rng: random.Random) -> str:
    """A valid 10-digit MST (first two digits: a province range 01..96)."""
    while True:
        first9 = f"{rng.randint(1, 96):02d}{rng.randrange(10**7):07d}"
        digit = mst_check_digit(first9)
        if digit is not None:
            return f"{first9}{digit}"


# Leading digits of the old 9-digit identity cards (CMND) of the provinces in PROVINCES.
CMND_PREFIXES = ("01", "02", "03", "16", "17", "19", "20", "22", "28", "33", "35", "36")


def cmnd(rng: random.Random) -> str:
    """A 9-digit CMND number (no check digit exists for it)."""
    return f"{rng.choice(CMND_PREFIXES)}{rng.randrange(10**7):07d}"


# ---------------------------------------------------------------- dates


def date_line(place: str, when: date) -> str:
    """NĐ 30: a day below 10 and the months 1 and 2 take a leading zero."""
    day = f"{when.day:02d}"
    month = f"{when.month:02d}" if when.month <= 2 else str(when.month)
    return f"{place}, ngày {day} tháng {month} năm {when.year}"


def _add_months(when: date, months: int) -> date:
    m = when.month - 1 + months
    return date(when.year + m // 12, m % 12 + 1, when.day)  # days are ≤ 28


def balanced_wrap(text: str, width: int) -> list[str]:
    """Wrap into as few lines as `width` allows, as even as a typist sets a centred trích yếu."""
    lines = wrap(text, width)
    narrow = -(-len(text) // len(lines))
    while len(wrap(text, narrow)) > len(lines):
        narrow += 1
    return wrap(text, narrow)


# ---------------------------------------------------------------- document drafts


@dataclass
class Draft:
    """A document before rendering: its rows, truth and unscored fields."""

    type_name: str
    rows: list[Row]
    truth: dict
    unscored: set[str] = field(default_factory=set)
    seal_text: str | None = None
    signature_row: int | None = None
    name_row: int | None = None
    size_mm: tuple[float, float] = (210.0, 297.0)
    margins_mm: tuple[float, float, float] = (25.0, 20.0, 20.0)
    frames_mm: list = field(default_factory=list)
    page_breaks: list[int] = field(default_factory=list)  # rows that start a new page
    trap: str | None = None  # which invalid ID is printed on purpose (see make_trap)
    trap_id: str | None = None  # the invalid ID itself

    def sign(self, roles: list[str], signer: str, left: str | None = None) -> None:
        """Signature block: the role lines (bold), "Nơi nhận" on the left when given, a gap for the
        hand signature, the signer's name."""
        lefts = ["Nơi nhận:", left, "- Lưu: VT."] if left else []
        start = len(self.rows)
        for i in range(max(len(roles), len(lefts))):
            segs = []
            if i < len(lefts):
                segs.append(Seg(lefts[i], "left", bold=i == 0, scale=0.85 if i == 0 else 0.8))
            if i < len(roles):
                segs.append(Seg(roles[i], "sig", bold=True))
            self.rows.append(row(*segs, space=0.8 if i == 0 else 0.0))
        self.signature_row = start + len(roles) - 1
        self.rows.append(row(space=max(0.6, 2.6 - max(0, len(lefts) - len(roles)))))
        self.name_row = len(self.rows)
        self.rows.append(row(Seg(signer, "sig", bold=True)))

    def body(self, *texts: str, width: int = 64) -> None:
        for text in texts:
            self.rows.extend(row(Seg(ln, "left")) for ln in wrap(nfc(text), width))


def _header(issuer_lines: list[tuple[str, bool]], left_rows: list[str], date_text: str | None) -> list[Row]:
    """Two-column NĐ 30 header: issuer block | motto, then "Số: …" | place and date."""
    rows: list[Row] = []
    right = [Seg(MOTTO, "rcol", bold=True, scale=0.92), Seg(MOTTO_SUB, "rcol", bold=True, underline=True)]
    n = max(len(issuer_lines), 2)
    for i in range(n):
        segs = []
        if i < len(issuer_lines):
            text, bold = issuer_lines[i]
            segs.append(Seg(text, "lcol", bold=bold, scale=0.92, underline=i == len(issuer_lines) - 1))
        if i < 2:
            segs.append(right[i])
        rows.append(row(*segs))
    for i, text in enumerate(left_rows or [""]):
        segs = [Seg(text, "lcol", scale=0.92 if i else 1.0)] if text else []
        if i == 0 and date_text:
            segs.append(Seg(date_text, "rcol"))
        rows.append(row(*segs, space=0.6 if i == 0 else 0.0))
    return rows


def _title(rows: list[Row], title_lines: list[str], summary_lines: list[str]) -> None:
    rows.append(row(Seg(title_lines[0], "center", bold=True, scale=1.1), space=1.2))
    rows.extend(row(Seg(t, "center", bold=True, scale=1.1)) for t in title_lines[1:])
    for i, line in enumerate(summary_lines):
        rows.append(row(Seg(line, "center", bold=True, underline=i == len(summary_lines) - 1)))
    rows.append(row(space=0.4))


@dataclass(frozen=True)
class Issuer:
    lines: list[tuple[str, bool]]  # (capital text, bold)
    proper: str  # the issuing unit in running text
    seal: str
    abbrev: str = "UBND"  # the issuer's part of the number's symbol ("QĐ-UBND")
    roles: tuple[str, ...] = ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH")


def _ubnd(unit: Unit, council: bool = False) -> Issuer:
    head = "HỘI ĐỒNG NHÂN DÂN" if council else "ỦY BAN NHÂN DÂN"
    body = "Hội đồng nhân dân" if council else "Ủy ban nhân dân"
    caps = f"{unit.word} {unit.name}".upper()
    roles = ("TM. HỘI ĐỒNG NHÂN DÂN", "CHỦ TỊCH") if council else ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH")
    return Issuer([(head, True), (caps, True)], f"{body} {unit.proper}", f"{head} {caps}",
                  "HĐND" if council else "UBND", roles)


def _parent_lines(parent: Unit, rng: random.Random) -> list[tuple[str, bool]]:
    """The parent agency above the issuing unit (regular weight): "UBND TỈNH NGHỆ AN" as NĐ 30
    allows, or written out, over two lines when long."""
    place = f"{parent.word} {parent.name}".upper()
    if rng.random() < 0.5:
        return [(f"UBND {place}", False)]
    full = f"ỦY BAN NHÂN DÂN {place}"
    return [(full, False)] if len(full) <= 30 else [("ỦY BAN NHÂN DÂN", False), (place, False)]


def _unit_under(parent: Unit, unit_caps: str, unit_proper: str, rng: random.Random, abbrev: str = "",
                roles: tuple[str, ...] = ("TRƯỞNG PHÒNG",)) -> Issuer:
    """An issuing unit under its parent: the unit (bold) is the issuer."""
    lines = _parent_lines(parent, rng)
    seal = f"{' '.join(t for t, _ in lines)} {unit_caps}"
    return Issuer([*lines, (unit_caps, True)], unit_proper, seal, abbrev, roles)


# Departments of a province's People's Committee, capitalised as NĐ 30 writes agency names.
DEPARTMENTS = (
    ("SỞ TƯ PHÁP", "Sở Tư pháp", "STP"),
    ("SỞ TÀI CHÍNH", "Sở Tài chính", "STC"),
    ("SỞ NỘI VỤ", "Sở Nội vụ", "SNV"),
    ("SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG", "Sở Tài nguyên và Môi trường", "STNMT"),
)


def _admin_issuer(ctx: Ctx, council: bool) -> tuple[Issuer, Unit]:
    """Who issues an administrative document, and the unit named in its date line: a district or
    ward committee mostly, sometimes the province's committee or one of its departments."""
    draw = ctx.rng.random()
    loc = ctx.loc
    if council:
        unit = loc.district if draw < 0.6 else loc.ward
        return _ubnd(unit, council=True), unit
    if draw < 0.45:
        return _ubnd(loc.district), loc.district
    if draw < 0.7:
        return _ubnd(loc.ward), loc.ward
    if draw < 0.85:
        return _ubnd(loc.province), loc.province
    caps, proper, abbrev = ctx.rng.choice(DEPARTMENTS)
    roles = ("GIÁM ĐỐC",) if ctx.rng.random() < 0.5 else ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC")
    return _unit_under(loc.province, caps, proper, ctx.rng, abbrev, roles), loc.province


# Administrative documents (NĐ 30/2020 Phụ lục III): name, title, symbol, subjects, opening.
SUBJECTS = (
    "phê duyệt kế hoạch chuyển đổi số năm {year}",
    "công nhận kết quả số hóa hồ sơ thủ tục hành chính",
    "kiện toàn Bộ phận tiếp nhận và trả kết quả",
    "tăng cường công tác văn thư, lưu trữ trên địa bàn",
    "tổ chức tiếp công dân định kỳ năm {year}",
    "điều chỉnh kế hoạch sử dụng đất năm {year}",
    "triển khai thu phí dịch vụ công trực tuyến",
)
_ADMIN: dict[str, tuple[str, str, str]] = {
    # name: (title caps, symbol of the kind, trích yếu form: "vv" = "Về việc …", "plain" = subject as is)
    "Quyết định": ("QUYẾT ĐỊNH", "QĐ", "vv"),
    "Kế hoạch": ("KẾ HOẠCH", "KH", "plain"),
    "Thông báo": ("THÔNG BÁO", "TB", "vv"),
    "Báo cáo": ("BÁO CÁO", "BC", "plain"),
    "Tờ trình": ("TỜ TRÌNH", "TTr", "vv"),
    "Giấy mời": ("GIẤY MỜI", "GM", "plain"),
    "Biên bản": ("BIÊN BẢN", "BB", "plain"),
    "Nghị quyết": ("NGHỊ QUYẾT", "NQ", "vv"),
    "Chỉ thị": ("CHỈ THỊ", "CT", "vv"),
    "Hướng dẫn": ("HƯỚNG DẪN", "HD", "plain"),
}
_PLAIN_PREFIX = {"Báo cáo": "Kết quả ", "Giấy mời": "Dự hội nghị ", "Biên bản": "Họp ", "Hướng dẫn": "Thực hiện ",
                 "Kế hoạch": "Thực hiện "}


@dataclass
class Ctx:
    """What every builder draws from: the random source, a locality, the issue date, a number."""

    rng: random.Random
    loc: Locality
    when: date
    number: int

    def person(self, years=(1955, 2000), female=None) -> Person:
        return person(self.rng, self.loc.code, years, female)

    def address(self) -> str:
        return (f"Số {self.rng.randint(1, 250)}, đường {self.rng.choice(STREETS)}, {self.loc.ward.proper}, "
                f"{self.loc.district.proper}, {self.loc.province.proper}")

    def official(self) -> str:
        return self.person((1965, 1985)).name

    def the_date(self, unit: Unit) -> str:
        return date_line(unit.place, self.when)

    def typed(self, number: str) -> str:
        """The number as printed: often typed into a blank "Số:      /QĐ-UBND" left before
        signing, so a space may stand before the first slash (the truth has none)."""
        return number.replace("/", " /", 1) if self.rng.random() < 0.25 else number


def _admin(name: str, ctx: Ctx) -> Draft:
    title, kind_symbol, form = _ADMIN[name]
    issuer, unit = _admin_issuer(ctx, council=name == "Nghị quyết")
    symbol = f"{kind_symbol}-{issuer.abbrev}"
    number = f"{ctx.number}/{ctx.when.year}/{symbol}" if name == "Nghị quyết" else f"{ctx.number}/{symbol}"
    subject = ctx.rng.choice(SUBJECTS).format(year=ctx.when.year)
    summary = f"Về việc {subject}" if form == "vv" else _PLAIN_PREFIX.get(name, "") + subject
    summary = summary[:1].upper() + summary[1:]
    summary_lines = balanced_wrap(summary, 52)
    rows = _header(issuer.lines, [f"Số: {ctx.typed(number)}"], ctx.the_date(unit))
    _title(rows, [title], summary_lines)
    d = Draft(name, rows, {
        "doc_type_name": name, "number_symbol": number, "issued_on": ctx.when.isoformat(),
        "issuing_agency": issuer.proper, "title": f"{name} {summary[:1].lower()}{summary[1:]}",
        "summary": summary,
    }, seal_text=issuer.seal)
    d.body("Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; Căn cứ Nghị định số "
           "30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;")
    if name == "Quyết định":
        d.rows.append(row(Seg("QUYẾT ĐỊNH:", "center", bold=True), space=0.3))
        d.body(f"Điều 1. Phê duyệt nội dung {subject}.", "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.",
               "Điều 3. Chánh Văn phòng và các đơn vị có liên quan chịu trách nhiệm thi hành Quyết định này.")
    else:
        d.body(f"{issuer.proper} thống nhất nội dung {subject}, giao các phòng, ban "
               "chuyên môn tổ chức thực hiện theo đúng quy định của pháp luật.",
               "Trong quá trình thực hiện, nếu có vướng mắc, đề nghị phản ánh về Văn phòng để tổng hợp.")
    d.sign(list(issuer.roles), ctx.official(), left="- Như Điều 3;" if name == "Quyết định" else "- Như trên;")
    return d


def _cong_van(ctx: Ctx) -> Draft:
    issuer, unit = _admin_issuer(ctx, council=False)
    number = f"{ctx.number}/{issuer.abbrev}-VP"
    subject = ctx.rng.choice(SUBJECTS).format(year=ctx.when.year)
    summary = f"V/v {subject}"
    lines = balanced_wrap(summary, 34)
    rows = _header(issuer.lines, [f"Số: {ctx.typed(number)}", *lines], ctx.the_date(unit))
    rows.append(row(Seg(f"Kính gửi: Ủy ban nhân dân {ctx.loc.ward.proper}", "center"), space=1.0))
    d = Draft("Công văn", rows, {
        "doc_type_name": "Công văn", "number_symbol": number, "issued_on": ctx.when.isoformat(),
        "issuing_agency": issuer.proper, "summary": summary,
    }, unscored={"title"}, seal_text=issuer.seal)
    d.rows.append(row(space=0.5))
    d.body(f"Thực hiện chỉ đạo của cấp trên, {issuer.proper} đề nghị các đơn vị {subject}, "
           "báo cáo kết quả trước ngày 25 hằng tháng.")
    d.sign(list(issuer.roles), ctx.official(), left="- Như trên;")
    return d


def _civil(ctx: Ctx, type_name: str, owner: Person, number: str | None, left_extra: list[str],
           summary: list[str] | None = None, unscored: set[str] | None = None, **truth) -> Draft:
    """A civil-status paper of the ward's People's Committee: NĐ 30 header, the type title, the truth
    common to all of them (type, number, date, issuer, title, owner); rows follow with `body`."""
    issuer = _ubnd(ctx.loc.ward)
    rows = _header(issuer.lines, [f"Số: {ctx.typed(number) if number else ctx.number}", *left_extra],
                   ctx.the_date(ctx.loc.ward))
    _title(rows, [type_name.upper()], summary or [])
    base = {"doc_type_name": type_name, "issued_on": ctx.when.isoformat(), "issuing_agency": issuer.proper,
            "title": type_name, **_owner_truth(owner)}
    if number:
        base["number_symbol"] = number
    return Draft(type_name, rows, {**base, **truth},
                 unscored=(unscored or set()) | (set() if number else {"number_symbol"}), seal_text=issuer.seal)


def _owner_truth(p: Person) -> dict:
    return {"owner_id": p.cccd, "owner_name": p.name, "date_of_birth": p.born.isoformat()}


def _name_shown(ctx: Ctx, name: str) -> str:
    """Forms print names in capitals or as written; both must come out in name case."""
    return name.upper() if ctx.rng.random() < 0.5 else name


def _person_rows(ctx: Ctx, p: Person) -> tuple[str, str, str]:
    return (f"Họ, chữ đệm, tên: {_name_shown(ctx, p.name)}", f"Ngày, tháng, năm sinh: {p.dob}",
            f"Số định danh cá nhân: {p.cccd}")


def _khai_sinh(ctx: Ctx) -> Draft:
    child = ctx.person((ctx.when.year - 1, ctx.when.year - 1))
    mother = ctx.person((1985, 1998), female=True)
    father = ctx.person((1983, 1996), female=False)
    d = _civil(ctx, "Giấy khai sinh", child, None, [f"Quyển số: 01/{ctx.when.year}"],
               other_ids=[mother.cccd, father.cccd])
    name, born, cccd = _person_rows(ctx, child)
    d.body(name, born, f"Giới tính: {'Nữ' if child.female else 'Nam'}    Dân tộc: Kinh    Quốc tịch: Việt Nam",
           f"Nơi sinh: Bệnh viện Phụ sản {ctx.loc.province.name}", cccd,
           f"Họ, chữ đệm, tên người mẹ: {mother.name}", f"Số định danh cá nhân của mẹ: {mother.cccd}",
           f"Họ, chữ đệm, tên người cha: {father.name}", f"Số định danh cá nhân của cha: {father.cccd}",
           f"Nơi cư trú: {ctx.address()}")
    d.sign(["NGƯỜI KÝ GIẤY KHAI SINH"], ctx.official())
    return d


def _trich_luc_khai_sinh(ctx: Ctx) -> Draft:
    child = ctx.person((ctx.when.year - 12, ctx.when.year - 1))
    mother = ctx.person((1975, 1995), female=True)
    d = _civil(ctx, "Trích lục khai sinh", child, f"{ctx.number}/TLKS-BS", [], summary=["(Bản sao)"],
               unscored={"summary"}, other_ids=[mother.cccd])
    d.body(*_person_rows(ctx, child),
           f"Họ, chữ đệm, tên người mẹ: {mother.name}", f"Số định danh cá nhân của mẹ: {mother.cccd}",
           f"Nơi đăng ký khai sinh: Ủy ban nhân dân {ctx.loc.ward.proper}")
    d.sign(["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"], ctx.official())
    return d


def _trich_luc_khai_tu(ctx: Ctx) -> Draft:
    dead = ctx.person((1930, 1955))
    declarant = ctx.person((1960, 1990))
    d = _civil(ctx, "Trích lục khai tử", dead, f"{ctx.number}/TLKT-BS", [], other_ids=[declarant.cccd])
    d.body(*_person_rows(ctx, dead), "Đã chết vào lúc 07 giờ 30 phút, tại nhà riêng.",
           "Nguyên nhân chết: bệnh già.", f"Họ, chữ đệm, tên người đi khai tử: {declarant.name}",
           f"Số định danh cá nhân người đi khai tử: {declarant.cccd}")
    d.sign(["TM. ỦY BAN NHÂN DÂN"], ctx.official())
    return d


def _ket_hon(ctx: Ctx) -> Draft:
    husband = ctx.person((1975, 1998), female=False)
    wife = ctx.person((1978, 2000), female=True)
    d = _civil(ctx, "Giấy chứng nhận kết hôn", husband, None, [f"Quyển số: 02/{ctx.when.year}"],
               other_ids=[wife.cccd])
    for label, p in (("Thông tin người chồng", husband), ("Thông tin người vợ", wife)):
        d.rows.append(row(Seg(label, "left", bold=True), space=0.3))
        name, born, cccd = _person_rows(ctx, p)
        d.body(name, born, "Dân tộc: Kinh    Quốc tịch: Việt Nam", cccd)
    d.body(f"Nơi đăng ký: Ủy ban nhân dân {ctx.loc.ward.proper}, {ctx.loc.district.proper}")
    d.sign(["CHỦ TỊCH"], ctx.official())
    return d


def _tinh_trang_hon_nhan(ctx: Ctx) -> Draft:
    p = ctx.person((1980, 2002))
    d = _civil(ctx, "Giấy xác nhận tình trạng hôn nhân", p, f"{ctx.number}/UBND-XNTTHN", [],
               valid_until=_add_months(ctx.when, 6).isoformat())
    d.body(f"Xét đề nghị của ông (bà) {p.name} về việc xác nhận tình trạng hôn nhân,",
           f"ỦY BAN NHÂN DÂN {ctx.loc.ward.word.upper()} {ctx.loc.ward.name.upper()} XÁC NHẬN:",
           *_person_rows(ctx, p), f"Nơi cư trú: {ctx.address()}",
           "Tình trạng hôn nhân: chưa đăng ký kết hôn với ai.",
           "Giấy này được cấp để làm thủ tục đăng ký kết hôn.",
           "Giấy này có giá trị sử dụng 06 tháng kể từ ngày cấp.")
    d.sign(["KT. CHỦ TỊCH"], ctx.official())
    return d


def _can_cuoc(ctx: Ctx) -> Draft:
    """An A4 copy of a citizen ID card, front above back, enlarged as one-stop offices copy it."""
    p = ctx.person((1960, 2004))
    expiry = date(p.born.year + (25 if p.born.year >= 1985 else 60), p.born.month, p.born.day)
    x = "x:66"
    sex = "Nữ" if p.female else "Nam"
    rows = [
        row(Seg(MOTTO, x, bold=True, scale=0.9)),
        row(Seg(MOTTO_SUB, x, bold=True, scale=0.9)),
        row(Seg("CĂN CƯỚC CÔNG DÂN", x, bold=True, scale=1.2), space=0.3),
        row(Seg(f"Số / No.: {p.cccd}", x, bold=True, scale=1.1), space=0.2),
        row(Seg("Họ và tên / Full name:", x, scale=0.85)),
        row(Seg(p.name.upper(), x, bold=True)),
        row(Seg(f"Ngày sinh / Date of birth: {p.dob}", x, scale=0.9)),
        row(Seg(f"Giới tính / Sex: {sex}   Quốc tịch / Nationality: Việt Nam", x, scale=0.9)),
        row(Seg("Quê quán / Place of origin:", x, scale=0.85)),
        row(Seg(f"{ctx.loc.ward.proper}, {ctx.loc.district.proper}", x, scale=0.9)),
        row(Seg(f"Có giá trị đến / Date of expiry: {expiry.day:02d}/{expiry.month:02d}/{expiry.year}",
                "x:26", scale=0.8), space=0.6),
        row(Seg("Đặc điểm nhân dạng / Personal identification:", "x:26", scale=0.85), space=5.0),
        row(Seg("Nốt ruồi cách 2 cm dưới sau mép phải", "x:26", scale=0.85)),
        row(Seg(f"Ngày, tháng, năm / Date, month, year: {ctx.when.day:02d}/{ctx.when.month:02d}/{ctx.when.year}",
                "x:26", scale=0.85), space=0.5),
        row(Seg("CỤC TRƯỞNG CỤC CẢNH SÁT", "x:100", bold=True, scale=0.85), space=0.3),
        row(Seg("QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI", "x:90", bold=True, scale=0.85)),
        row(space=2.0),
        row(Seg(ctx.official(), "x:108", bold=True, scale=0.9)),
    ]
    return Draft("Căn cước công dân", rows, {
        "doc_type_name": "Căn cước công dân", "title": "Căn cước công dân", **_owner_truth(p),
        "valid_until": expiry.isoformat(),
    }, unscored={"issued_on", "issuing_agency"}, margins_mm=(26.0, 24.0, 16.0),
        frames_mm=[(20, 18, 186, 116), (26, 40, 60, 86), (20, 122, 186, 205)])


def _quyen_su_dung_dat(ctx: Ctx) -> Draft:
    owner = ctx.person((1950, 1990), female=False)
    spouse = ctx.person((1952, 1992), female=True)
    rows = [row(Seg(MOTTO, "center", bold=True)), row(Seg(MOTTO_SUB, "center", bold=True, underline=True))]
    _title(rows, ["GIẤY CHỨNG NHẬN", "QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở",
                  "VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT"], [])
    unit = ctx.loc.district
    d = Draft("Giấy chứng nhận quyền sử dụng đất", rows, {
        "doc_type_name": "Giấy chứng nhận quyền sử dụng đất", "issued_on": ctx.when.isoformat(),
        "owner_id": owner.cccd, "owner_name": owner.name, "other_ids": [spouse.cccd],
    }, unscored={"number_symbol", "issuing_agency", "title", "date_of_birth"},
        seal_text=f"ỦY BAN NHÂN DÂN {unit.word.upper()} {unit.name.upper()}")
    d.rows.append(row(Seg("I. Người sử dụng đất, chủ sở hữu nhà ở và tài sản khác gắn liền với đất", "left",
                          bold=True)))
    d.body(f"Ông: {owner.name.upper()}, sinh năm {owner.born.year}, CCCD số: {owner.cccd}",
           f"Bà: {spouse.name.upper()}, sinh năm {spouse.born.year}, CCCD số: {spouse.cccd}",
           f"Địa chỉ thường trú: {ctx.address()}")
    d.page_breaks.append(len(d.rows))  # the land, the date and the signature are on the next page
    d.rows.append(row(Seg("II. Thửa đất, nhà ở và tài sản khác gắn liền với đất", "left", bold=True)))
    d.body(f"a) Thửa đất số: {ctx.rng.randint(1, 900)}, tờ bản đồ số: {ctx.rng.randint(1, 60)}",
           f"b) Diện tích: {ctx.rng.randint(40, 400)},{ctx.rng.randint(0, 9)} m2",
           "c) Hình thức sử dụng: sử dụng chung", "d) Mục đích sử dụng: đất ở tại đô thị",
           "đ) Thời hạn sử dụng: lâu dài")
    d.rows.append(row(Seg(ctx.the_date(unit), "sig"), space=0.5))
    d.sign(["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"], ctx.official())
    return d


def _ho_kinh_doanh(ctx: Ctx) -> Draft:
    unit = ctx.loc.district
    issuer = _unit_under(unit, "PHÒNG TÀI CHÍNH - KẾ HOẠCH", "Phòng Tài chính - Kế hoạch", ctx.rng)
    code = mst(ctx.rng)
    head = ctx.person((1960, 1995))
    rows = _header(issuer.lines, [f"Số: {code}"], ctx.the_date(unit))
    _title(rows, ["GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH"], [])
    d = Draft("Giấy chứng nhận đăng ký hộ kinh doanh", rows, {
        "doc_type_name": "Giấy chứng nhận đăng ký hộ kinh doanh", "issued_on": ctx.when.isoformat(),
        "issuing_agency": issuer.proper, "title": "Giấy chứng nhận đăng ký hộ kinh doanh",
        "owner_id": code, "other_ids": [head.cccd],
    }, unscored={"number_symbol", "owner_name", "date_of_birth"}, seal_text=issuer.seal)
    d.body(f"Mã số hộ kinh doanh: {code}", "Đăng ký lần đầu",
           f"1. Tên hộ kinh doanh: CỬA HÀNG {ctx.rng.choice(('PHỞ', 'TẠP HÓA', 'ĐIỆN THOẠI'))} "
           f"{head.name.split()[-1].upper()}",
           f"2. Địa điểm kinh doanh: {ctx.address()}",
           "3. Ngành, nghề kinh doanh: bán lẻ hàng hóa",
           f"4. Vốn kinh doanh: {ctx.rng.randint(50, 900)}.000.000 đồng",
           "5. Thông tin về chủ hộ kinh doanh:",
           f"Họ và tên: {_name_shown(ctx, head.name)}", f"Ngày, tháng, năm sinh: {head.dob}",
           f"Số định danh cá nhân: {head.cccd}")
    d.sign(["TRƯỞNG PHÒNG"], ctx.official())
    return d


TRADES = ("THƯƠNG MẠI", "XÂY DỰNG", "DỊCH VỤ", "CÔNG NGHỆ")


def _doanh_nghiep(ctx: Ctx) -> Draft:
    prov = ctx.loc.province
    parent = f"SỞ KẾ HOẠCH VÀ ĐẦU TƯ {prov.word.upper()} {prov.name.upper()}"
    issuer = Issuer([(parent, False), ("PHÒNG ĐĂNG KÝ KINH DOANH", True)], "Phòng Đăng ký kinh doanh",
                    parent)
    code = mst(ctx.rng)
    rep = ctx.person((1960, 1995))
    rows = _header(issuer.lines, [], ctx.the_date(prov))
    _title(rows, ["GIẤY CHỨNG NHẬN ĐĂNG KÝ DOANH NGHIỆP", "CÔNG TY TRÁCH NHIỆM HỮU HẠN MỘT THÀNH VIÊN"], [])
    d = Draft("Giấy chứng nhận đăng ký doanh nghiệp", rows, {
        "doc_type_name": "Giấy chứng nhận đăng ký doanh nghiệp", "issued_on": ctx.when.isoformat(),
        "issuing_agency": issuer.proper, "owner_id": code, "other_ids": [rep.cccd],
    }, unscored={"number_symbol", "owner_name", "date_of_birth", "title"}, seal_text=issuer.seal)
    d.body(f"Mã số doanh nghiệp: {code}", "Đăng ký lần đầu",
           f"1. Tên công ty viết bằng tiếng Việt: CÔNG TY TNHH {ctx.rng.choice(TRADES)} {rep.name.split()[0].upper()}",
           f"2. Địa chỉ trụ sở chính: {ctx.address()}",
           f"3. Vốn điều lệ: {ctx.rng.randint(1, 50)}.000.000.000 đồng",
           "4. Người đại diện theo pháp luật của công ty:",
           f"Họ và tên: {_name_shown(ctx, rep.name)}", "Chức danh: Giám đốc",
           f"Sinh ngày: {rep.dob}", f"Số định danh cá nhân: {rep.cccd}")
    d.sign(["TRƯỞNG PHÒNG"], ctx.official())
    return d


def _giay_phep_xay_dung(ctx: Ctx) -> Draft:
    unit = ctx.loc.district
    issuer = _ubnd(unit)
    number = f"{ctx.number}/GPXD"
    rows = _header(issuer.lines, [f"Số: {number}"], ctx.the_date(unit))
    _title(rows, ["GIẤY PHÉP XÂY DỰNG"], ["Sử dụng cho nhà ở riêng lẻ"])
    p = ctx.person((1955, 1995))
    d = Draft("Giấy phép xây dựng", rows, {
        "doc_type_name": "Giấy phép xây dựng", "number_symbol": number, "issued_on": ctx.when.isoformat(),
        "issuing_agency": issuer.proper, "title": "Giấy phép xây dựng", "owner_id": p.cccd,
        "owner_name": p.name,
    }, unscored={"summary", "valid_until"}, seal_text=issuer.seal)
    d.body(f"1. Cấp cho: Ông (bà) {_name_shown(ctx, p.name)}", f"Số định danh cá nhân: {p.cccd}",
           f"Địa chỉ: {ctx.address()}",
           f"2. Được phép xây dựng công trình: nhà ở riêng lẻ, {ctx.rng.randint(2, 5)} tầng",
           f"Diện tích xây dựng tầng 1: {ctx.rng.randint(40, 120)} m2",
           "3. Giấy phép này có hiệu lực khởi công xây dựng trong thời hạn 12 tháng kể từ ngày cấp.")
    d.sign(["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"], ctx.official(), left="- Như trên;")
    return d


def _application(ctx: Ctx, type_name: str, title_caps: str, to: str, labels: tuple[str, str, str],
                 role: str, extra: Callable[[Draft], None] | None = None) -> Draft:
    """Đơn / Tờ khai: the motto centred, the title, "Kính gửi", the applicant, date and signature."""
    p = ctx.person((1950, 2000))
    rows = [row(Seg(MOTTO, "center", bold=True)), row(Seg(MOTTO_SUB, "center", bold=True, underline=True))]
    _title(rows, [title_caps], [])
    id_line = f"{labels[2]} {p.cccd}"
    truth = _owner_truth(p)
    if ctx.when.year <= 2020 and ctx.rng.random() < 0.35:  # before CCCDs, the 9-digit CMND
        truth["owner_id"] = cmnd(ctx.rng)
        id_line = f"Số chứng minh nhân dân: {truth['owner_id']}"
    d = Draft(type_name, rows, {
        "doc_type_name": type_name, "issued_on": ctx.when.isoformat(), "title": _sentence(title_caps), **truth,
    })
    d.rows.append(row(Seg(f"Kính gửi: {to}", "center")))
    d.rows.append(row(space=0.3))
    d.body(f"{labels[0]} {_name_shown(ctx, p.name)}", f"{labels[1]} {p.dob}", id_line,
           f"Nơi cư trú: {ctx.address()}")
    if extra:
        extra(d)
    d.rows.append(row(Seg(ctx.the_date(ctx.loc.ward), "right"), space=0.5))
    d.sign([role], p.name)
    return d


def _don(ctx: Ctx) -> Draft:
    def extra(d: Draft) -> None:
        d.body("Tôi đề nghị được cấp hai bản sao trích lục khai sinh để bổ sung hồ sơ.",
               "Tôi xin cam đoan những nội dung khai trên là đúng sự thật.")
    return _application(ctx, "Đơn", "ĐƠN ĐỀ NGHỊ CẤP BẢN SAO TRÍCH LỤC HỘ TỊCH",
                        f"Ủy ban nhân dân {ctx.loc.ward.proper}",
                        ("Họ và tên người yêu cầu:", "Ngày, tháng, năm sinh:", "Số định danh cá nhân:"),
                        "NGƯỜI YÊU CẦU", extra)


def _to_khai(ctx: Ctx) -> Draft:
    head = ctx.person((1950, 1980))

    def extra(d: Draft) -> None:
        d.body("Nội dung đề nghị: đăng ký thường trú vào chỗ ở hợp pháp mới.",
               f"Họ, chữ đệm và tên chủ hộ: {head.name}", f"Số định danh cá nhân của chủ hộ: {head.cccd}")
        d.truth["other_ids"] = [head.cccd]
    return _application(ctx, "Tờ khai", "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ",
                        f"Công an {ctx.loc.ward.proper}",
                        ("1. Họ, chữ đệm và tên:", "2. Ngày, tháng, năm sinh:", "3. Số định danh cá nhân:"),
                        "NGƯỜI KÊ KHAI", extra)


def _giay_uy_quyen(ctx: Ctx) -> Draft:
    giver, taker = ctx.person((1950, 1990)), ctx.person((1960, 2000))
    rows = [row(Seg(MOTTO, "center", bold=True)), row(Seg(MOTTO_SUB, "center", bold=True, underline=True))]
    _title(rows, ["GIẤY ỦY QUYỀN"], [])
    d = Draft("Giấy ủy quyền", rows, {
        "doc_type_name": "Giấy ủy quyền", "issued_on": ctx.when.isoformat(), "title": "Giấy ủy quyền",
        **_owner_truth(giver), "other_ids": [taker.cccd],
    })
    d.rows.append(row(Seg(ctx.the_date(ctx.loc.ward), "right")))
    d.rows.append(row(Seg("Bên ủy quyền:", "left", bold=True), space=0.3))
    d.body(f"Họ và tên: {_name_shown(ctx, giver.name)}", f"Ngày, tháng, năm sinh: {giver.dob}",
           f"Số định danh cá nhân: {giver.cccd}")
    d.rows.append(row(Seg("Bên được ủy quyền:", "left", bold=True), space=0.3))
    d.body(f"Ông (bà): {taker.name}", f"Sinh ngày: {taker.dob}", f"Số định danh cá nhân: {taker.cccd}",
           "Nội dung ủy quyền: thay mặt nộp và nhận kết quả thủ tục đăng ký đất đai.",
           "Thời hạn ủy quyền: mười hai tháng kể từ ngày ký.")
    d.sign(["NGƯỜI ỦY QUYỀN"], giver.name)
    return d


def _tiep_nhan(ctx: Ctx) -> Draft:
    unit = ctx.loc.ward
    issuer = _unit_under(unit, "BỘ PHẬN MỘT CỬA", "Bộ phận Một cửa", ctx.rng)
    p = ctx.person((1950, 2000))
    code = f"000.00.12.H36-{ctx.when:%y%m%d}-{ctx.number:04d}"
    rows = _header(issuer.lines, [f"Mã hồ sơ: {code}"], ctx.the_date(unit))
    _title(rows, ["GIẤY TIẾP NHẬN HỒ SƠ", "VÀ HẸN TRẢ KẾT QUẢ"], [])
    d = Draft("Giấy tiếp nhận hồ sơ và hẹn trả kết quả", rows, {
        "doc_type_name": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "issued_on": ctx.when.isoformat(),
        "title": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "owner_id": p.cccd, "owner_name": p.name,
    }, unscored={"number_symbol", "issuing_agency", "valid_until"}, seal_text=issuer.seal)
    d.body(f"Bộ phận Một cửa Ủy ban nhân dân {unit.proper} tiếp nhận hồ sơ của:",
           f"Ông (bà): {_name_shown(ctx, p.name)}", f"Số định danh cá nhân: {p.cccd}",
           f"Địa chỉ: {ctx.address()}", "Nội dung yêu cầu giải quyết: đăng ký khai sinh",
           "1. Tờ khai đăng ký khai sinh: 01 bản chính", "2. Giấy chứng sinh: 01 bản chính",
           f"Thời gian trả kết quả: 16 giờ 00, ngày {ctx.when.day + 1:02d}/{ctx.when.month:02d}/{ctx.when.year}")
    d.sign(["NGƯỜI TIẾP NHẬN HỒ SƠ"], ctx.official())
    return d


BUILDERS: dict[str, Callable[[Ctx], Draft]] = {
    **{name: (lambda ctx, name=name: _admin(name, ctx)) for name in _ADMIN},
    "Công văn": _cong_van,
    "Giấy ủy quyền": _giay_uy_quyen,
    "Giấy khai sinh": _khai_sinh,
    "Trích lục khai sinh": _trich_luc_khai_sinh,
    "Trích lục khai tử": _trich_luc_khai_tu,
    "Giấy chứng nhận kết hôn": _ket_hon,
    "Giấy xác nhận tình trạng hôn nhân": _tinh_trang_hon_nhan,
    "Căn cước công dân": _can_cuoc,
    "Giấy chứng nhận quyền sử dụng đất": _quyen_su_dung_dat,
    "Giấy chứng nhận đăng ký hộ kinh doanh": _ho_kinh_doanh,
    "Giấy chứng nhận đăng ký doanh nghiệp": _doanh_nghiep,
    "Giấy phép xây dựng": _giay_phep_xay_dung,
    "Đơn": _don,
    "Tờ khai": _to_khai,
    "Giấy tiếp nhận hồ sơ và hẹn trả kết quả": _tiep_nhan,
}
TYPE_NAMES: tuple[str, ...] = tuple(BUILDERS)


# ---------------------------------------------------------------- the labelled set


@dataclass
class LabelledDoc:
    """One generated paper: type, scan kind, font, resolution, its form and truth."""

    type_name: str
    kind: str
    seed: int
    font: str
    dpi: int
    draft: Draft

    @property
    def truth(self) -> dict:
        return self.draft.truth

    @property
    def unscored(self) -> set[str]:
        return self.draft.unscored

    @property
    def name(self) -> str:
        return f"{self.seed:05d}_{_ascii(self.type_name or self.draft.trap or '')}_{self.kind}"

    def forms(self) -> list[Form]:
        """One form per page (the rows cut at the draft's page breaks)."""
        d = self.draft
        starts = [0, *d.page_breaks]
        ends = [*d.page_breaks, len(d.rows)]

        def local(index: int | None, start: int, end: int) -> int | None:
            return index - start if index is not None and start <= index < end else None

        return [Form(d.rows[a:b], d.size_mm, d.margins_mm, seal_text=d.seal_text,
                     signature_row=local(d.signature_row, a, b), name_row=local(d.name_row, a, b),
                     frames_mm=list(d.frames_mm) if a == 0 else [])
                for a, b in zip(starts, ends)]

    def images(self) -> list:
        pages = []
        for number, form in enumerate(self.forms()):
            gray, boxes = render_form(form, self.font, self.dpi)
            rng = np.random.default_rng([self.seed, 14, number])
            pages.append(degrade(form, gray, boxes, self.kind, rng, self.dpi))
        return pages

    def image(self):
        """The first page."""
        return self.images()[0]

    def render(self, dir: str | Path) -> Path:
        """Write the scan into `dir` and return its path: PNG, JPEG or Group 4 TIFF by kind for one
        page; a multi-page TIFF (Group 4) or an image PDF for more; a text PDF when born digital."""
        out = Path(dir)
        out.mkdir(parents=True, exist_ok=True)
        if self.kind == BORN_DIGITAL:
            return save_text_pdf(self.forms(), self.font, out / f"{self.name}.pdf")
        return save_scan(self.images(), self.kind, out / self.name, self.dpi)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in folded if c.isascii() and c.isalnum() or c == " ").strip().replace(" ", "-").lower()


def make_doc(type_name: str, seed: int, kind: str = "clean", font: str | None = None, dpi: int = 200) -> LabelledDoc:
    """One labelled document of `type_name` (a key of BUILDERS), deterministic in `seed`."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    rng = random.Random(seed)
    loc = rng.choice(LOCALITIES)
    when = date(rng.randint(2016, 2025), rng.randint(1, 12), rng.randint(1, 27))
    draft = BUILDERS[type_name](Ctx(rng, loc, when, rng.randint(1, 4999)))
    draft.truth = {k: (nfc(v) if isinstance(v, str) else [nfc(x) for x in v]) for k, v in draft.truth.items()}
    fonts = sorted(FONTS)
    dpi = 200 if kind == "gray200_jpeg" else dpi  # that kind is the 200 dpi scan whatever is asked
    return LabelledDoc(type_name, kind, seed, font or fonts[seed % len(fonts)], dpi, draft)


# Invalid IDs printed where the owner's ID belongs: none may become a confident proposal; and
# an application dated in the year 3024, whose date must not be proposed.
TRAPS: tuple[str, ...] = ("province", "century", "birth-year", "mst-check", "year-3024")
_TRAP_PROVINCES = ("000", "097", "099")


def _corrupt(trap: str, value: str, rng: random.Random) -> str:
    if trap == "province":
        return rng.choice(_TRAP_PROVINCES) + value[3:]
    if trap == "century":  # a 20th-century birth year with a 21st-century digit, or the reverse
        return value[:3] + str((int(value[3]) + 2) % 4) + value[4:]
    if trap == "birth-year":
        return value[:4] + f"{(int(value[4:6]) + rng.randint(3, 40)) % 100:02d}" + value[6:]
    if trap == "mst-check":
        return value[:9] + str((int(value[9]) + rng.randint(1, 9)) % 10)
    raise ValueError(f"unknown trap {trap!r}; expected one of {TRAPS}")


def _replace_text(rows: list[Row], old: str, new: str) -> list[Row]:
    return [Row(tuple(Seg(s.text.replace(old, new), s.pos, s.bold, s.scale, s.underline) for s in r.segs),
                r.space) for r in rows]


def make_trap(trap: str, seed: int, kind: str = "clean", dpi: int = 200) -> LabelledDoc:
    """A paper with an invalid value printed (`trap` in TRAPS): an application (Đơn) with a broken
    CCCD or dated in the year 3024, or a household-business certificate with a broken MST check
    digit. The truth lacks the broken value (the MST case leaves the IDs unscored: the household
    head's CCCD may stand in), and `draft.trap_id` names an invalid ID."""
    doc = make_doc("Giấy chứng nhận đăng ký hộ kinh doanh" if trap == "mst-check" else "Đơn", seed, kind, dpi=dpi)
    d = doc.draft
    if trap == "year-3024":
        year = d.truth.pop("issued_on")[:4]
        d.rows = [Row(tuple(Seg(x.text.replace(f"năm {year}", "năm 3024") if ", ngày " in x.text else x.text,
                                x.pos, x.bold, x.scale, x.underline) for x in r.segs), r.space) for r in d.rows]
        d.trap = trap
        return doc
    good = d.truth.pop("owner_id")
    bad = _corrupt(trap, good, random.Random(seed))
    d.rows = _replace_text(d.rows, good, bad)
    d.trap, d.trap_id = trap, bad
    if trap == "mst-check":
        d.unscored |= {"owner_id", "other_ids"}
        d.truth.pop("other_ids", None)
    return doc


# Pages that are no administrative paper: nothing on them may be proposed with confidence.
DISTRACTORS: tuple[str, ...] = ("english-letter", "table")


def _english_letter(rng: random.Random) -> list[Row]:
    day, year = rng.randint(1, 28), rng.randint(2016, 2025)
    body = ("We are pleased to quote for the supply of office paper and archive boxes as listed in "
            "your enquiry. Prices include delivery to your warehouse and are valid for thirty days. "
            "Payment is due within forty-five days of the invoice date.")
    return [
        row(Seg("GREENFIELD TRADING COMPANY LIMITED", "left", bold=True, scale=1.1)),
        row(Seg("12 Harbour Road, Singapore 018956", "left")),
        row(Seg(f"Ref: GT/{year}/{rng.randint(100, 999)}", "left"), space=1.0),
        row(Seg(f"Date: {day} October {year}", "left")),
        row(Seg("To: The Purchasing Manager", "left"), space=0.6),
        row(Seg("Subject: Quotation for office paper supplies", "left", bold=True), space=0.6),
        *[row(Seg(line, "left")) for line in wrap(body, 64)],
        row(Seg(f"Invoice no. {year}10{day:02d}{rng.randrange(10**4):04d}, account {rng.randrange(10**12):013d}",
                "left"), space=0.5),
        row(Seg("Yours faithfully,", "left"), space=1.0),
        row(Seg(f"{rng.choice(('John Miller', 'Sarah Tan', 'David Lim'))}", "left", bold=True), space=2.5),
        row(Seg("Sales Director", "left")),
    ]


def _table(rng: random.Random) -> list[Row]:
    """A printed table of many people's IDs and amounts: no one on it is the paper's owner."""
    columns = ("x:25", "x:38", "x:75", "x:125", "x:160")
    rows = [row(*(Seg(h, c, bold=True, scale=0.9) for h, c in
                  zip(("STT", "Số CCCD", "Họ và tên", "Ngày nộp", "Số tiền"), columns)))]
    loc = rng.choice(LOCALITIES)
    for i in range(1, 19):
        p = person(rng, loc.code, (1950, 2000))
        cells = (str(i), p.cccd, p.name, f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2024",
                 f"{rng.randint(1, 99)}0 000")
        rows.append(row(*(Seg(text, c, scale=0.9) for text, c in zip(cells, columns))))
    return rows


def make_distractor(name: str, seed: int, kind: str = "clean", dpi: int = 200) -> LabelledDoc:
    """A page that is no administrative paper (`name` in DISTRACTORS): its truth is empty, so any
    proposal counts as wrong (the table's IDs may be listed as other IDs, never as the owner's)."""
    rng = random.Random(seed)
    rows = _english_letter(rng) if name == "english-letter" else _table(rng)
    unscored = {"other_ids"} if name == "table" else set()
    draft = Draft("", rows, {}, unscored=unscored, trap=name)
    return LabelledDoc("", kind, seed, sorted(FONTS)[seed % len(FONTS)], dpi, draft)


def labelled_set(n_per_type: int = 1, seed: int = 0, degradations: tuple[str, ...] = ("clean",),
                 types: tuple[str, ...] | None = None, dpi: int = 200) -> list[LabelledDoc]:
    """`n_per_type` documents of every type for every degradation; fonts cycle across the set."""
    docs = []
    for t, type_name in enumerate(types or TYPE_NAMES):
        for k, kind in enumerate(degradations):
            for i in range(n_per_type):
                doc_seed = seed * 100_000 + t * 1000 + k * 50 + i
                docs.append(make_doc(type_name, doc_seed, kind, dpi=dpi))
    return docs


# ---------------------------------------------------------------- catalogue codes


def _entries(catalogue) -> list:
    for attr in ("types", "entries", "doctypes"):
        if hasattr(catalogue, attr):
            value = getattr(catalogue, attr)
            return list(value.values()) if isinstance(value, dict) else list(value)
    return list(catalogue.values()) if isinstance(catalogue, dict) else list(catalogue)


def _get(entry, key: str):
    return entry.get(key) if isinstance(entry, dict) else getattr(entry, key, None)


def _fold(text: str) -> str:
    return nfc(text).casefold().strip()


def catalogue_names(catalogue) -> dict[str, str]:
    """Folded Vietnamese name → code for every catalogue entry."""
    return {_fold(_get(e, "name")): _get(e, "code") for e in _entries(catalogue) if _get(e, "name")}


def code_for(type_name: str, catalogue) -> str | None:
    """The catalogue code of a generated type: by exact name, else by the longest catalogue name the
    type's name starts with or is started by ("Căn cước công dân" ↔ "Căn cước")."""
    names = catalogue_names(catalogue)
    folded = _fold(type_name)
    if folded in names:
        return names[folded]
    near = [n for n in names if folded.startswith(n) or n.startswith(folded)]
    return names[max(near, key=len)] if near else None


def resolve_codes(docs: list[LabelledDoc], catalogue) -> list[str]:
    """Fill truth["doc_type_code"] (and the catalogue's own name) from the catalogue; returns the
    generated type names the catalogue has no entry for (their type fields are then unscored)."""
    missing = []
    for doc in docs:
        if not doc.type_name:  # a distractor: no type at all
            continue
        code = code_for(doc.type_name, catalogue)
        if code is None:
            doc.draft.unscored |= {"doc_type_code", "doc_type_name"}
            doc.truth.pop("doc_type_name", None)
            missing.append(doc.type_name)
            continue
        doc.truth["doc_type_code"] = code
        for e in _entries(catalogue):
            if _get(e, "code") == code:
                doc.truth["doc_type_name"] = nfc(_get(e, "name"))
    return sorted(set(missing))


def uncovered_types(catalogue) -> list[str]:
    """Catalogue types this generator cannot produce (reported by the bench)."""
    covered = {code_for(t, catalogue) for t in TYPE_NAMES}
    return sorted(_get(e, "name") for e in _entries(catalogue) if _get(e, "code") not in covered)
