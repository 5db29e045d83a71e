"""Vietnamese words for what the pages show: job statuses, record kinds, events, metadata fields.

Codes stay in English in the database and the API; people read these labels.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from sohoa.core.errors import ExitCode
from sohoa.ingest.policy import reason_vi  # noqa: F401  (why a file was quarantined: the policy's words)
from sohoa.web.roles import LABELS_VI as LABELS_VI_ROLES
from sohoa.workers import jobs

STATUS_VI: Final[dict[str, str]] = {
    jobs.QUEUED: "Đã nhận, chờ xử lý",
    jobs.RUNNING: "Đang nhận dạng (OCR)",
    jobs.FAILED: "Gặp lỗi, đang gửi xử lý lại",
    jobs.STORED: "Đã lưu vào kho",
    jobs.DUPLICATE: "Đã có trong kho (trùng)",
    jobs.QUARANTINED: "Cần xử lý",
}

KIND_VI: Final[dict[str, str]] = {"component": "Thành phần hồ sơ", "result": "Kết quả giải quyết"}

EVENT_VI: Final[dict[str, str]] = {
    "ingested": "Tiếp nhận", "ocr": "Nhận dạng ký tự (OCR)", "validated": "Kiểm tra PDF/A",
    "stored": "Lưu trữ", "indexed": "Lập chỉ mục tìm kiếm", "fixity-checked": "Kiểm tra toàn vẹn",
    "reused": "Sử dụng lại", "reuse-withdrawn": "Rút lại sử dụng lại", "signed": "Ký số", "extracted": "Bóc tách thông tin",
    "described": "Xác nhận thông tin", "corrected": "Sửa thông tin",
}

FIELD_VI: Final[dict[str, str]] = {
    "record_id": "Mã bản ghi", "record_code": "Mã giấy tờ", "kind": "Loại", "agency_code": "Cơ quan",
    "dossier_code": "Mã hồ sơ", "procedure_code": "Mã thủ tục", "doc_type_code": "Mã loại giấy tờ",
    "owner_id": "Số định danh chủ sở hữu", "title": "Tên giấy tờ", "number_symbol": "Số, ký hiệu",
    "issued_on": "Ngày ban hành", "issuing_agency": "Cơ quan ban hành", "summary": "Trích yếu",
    "valid_until": "Hiệu lực đến", "validity_scope": "Phạm vi hiệu lực", "retention_code": "Thời hạn bảo quản",
    "page_count": "Số trang", "language": "Ngôn ngữ", "scanned_by": "Người số hóa",
    "original_name": "Tên tệp gốc", "original_sha256": "SHA-256 bản gốc", "original_size": "Dung lượng gốc (byte)",
    "media_type": "Định dạng gốc", "created_at": "Thời điểm lưu",
    "doc_type_name": "Loại giấy tờ", "owner_name": "Họ và tên chủ sở hữu", "date_of_birth": "Ngày sinh",
    "other_ids": "Số định danh khác trên giấy tờ", "issuing_parent": "Cơ quan chủ quản",
}

LEVEL_VI: Final[dict[str, str]] = {  # the agency levels of the CSV, as offices name them
    "province": "Cấp tỉnh", "department": "Sở, ban, ngành", "district": "Cấp huyện", "commune": "Cấp xã",
}

OUTCOME_VI: Final[dict[str, str]] = {"success": "Thành công", "failure": "Thất bại", "warning": "Có cảnh báo",
                                     "skipped": "Bỏ qua"}

FACET_VI: Final[dict[str, str]] = {"doc_type_code": "Loại giấy tờ", "agency_code": "Cơ quan"}

# Titles of error pages and JSON errors, by the exit code of the SohoaError behind them.
ERROR_TITLE_VI: Final[dict[int, str]] = {
    ExitCode.USAGE: "Dữ liệu nhập không hợp lệ",
    ExitCode.INVALID_CODE: "Mã không hợp lệ",
    ExitCode.NOT_FOUND: "Không tìm thấy",
    ExitCode.REFUSED: "Thao tác bị từ chối",
    ExitCode.OUTPUT_ERROR: "Kho lưu trữ tạm thời không truy cập được",
    ExitCode.FIXITY_FAILED: "Dữ liệu lưu trữ không toàn vẹn",
    ExitCode.INPUT_MISSING: "Thiếu tệp",
    ExitCode.INPUT_EMPTY: "Tệp rỗng",
    ExitCode.UNSUPPORTED: "Định dạng không được hỗ trợ",
}

ROMAN: Final = ("I", "II", "III", "IV")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


def period_vi(label: str) -> str:
    """A period as people write it: "Năm 2024", "Quý I/2024", "Tháng 3/2024", "01/01/2024 – 31/03/2024"."""
    if label.isdigit() and len(label) == 4:
        return f"Năm {label}"
    if match := _QUARTER.match(label):
        return f"Quý {ROMAN[int(match[2]) - 1]}/{match[1]}"
    if match := _MONTH.match(label):
        return f"Tháng {int(match[2])}/{match[1]}"
    if match := _RANGE.match(label):
        first, last = (date.fromisoformat(part) for part in (match[1], match[2]))
        return f"{first:%d/%m/%Y} – {last:%d/%m/%Y}"
    return label


# Messages of SohoaError (English: the CLI and the logs keep them) as the web shows them. Each
# pattern names the parts it reuses; the first that matches wins. Anything not listed is shown
# with a Vietnamese lead-in (see message_vi).
_MESSAGES_VI: Final[list[tuple[re.Pattern, str]]] = [(re.compile(pattern), text) for pattern, text in [
    (r"^invalid owner ID (?P<v>.*?): expected", ("Số định danh {v} không hợp lệ: cần số CCCD 12 chữ số, CMND 9 chữ số "
                                               "hoặc mã số thuế (10 chữ số, hoặc 10 chữ số-3 chữ số).")),
    (r"^invalid personal ID (?P<v>.*?):", "Số định danh cá nhân {v} không hợp lệ: số CCCD gồm đúng 12 chữ số."),
    (r"^invalid tax code (?P<v>.*?):", "Mã số thuế {v} không hợp lệ: cần 10 chữ số, hoặc 10 chữ số-3 chữ số."),
    (r"^invalid agency code (?P<v>.*?):", ("Mã cơ quan {v} không hợp lệ: cần bốn nhóm ngăn bởi dấu chấm, "
                                         "ví dụ 000.00.12.H36 (QCVN 102:2016).")),
    (r"^invalid dossier code (?P<v>.*?): (?P<d>\d{6}) is not a date", ("Mã hồ sơ {v} không hợp lệ: {d} không phải "
                                                                      "ngày dạng NNTTNN (năm, tháng, ngày).")),
    (r"^invalid dossier code (?P<v>.*?):", ("Mã hồ sơ {v} không hợp lệ: cần dạng <mã cơ quan>-NNTTNN-SSSS, "
                                          "ví dụ 000.00.12.H36-240115-0001.")),
    (r"^invalid retention code (?P<v>.*?):", "Mã thời hạn bảo quản {v} không hợp lệ: cần từ 01 đến 07."),
    (r"^invalid period (?P<v>.*?):", ("Kỳ báo cáo {v} không hợp lệ: chọn năm (2024), quý (2024-Q1) hoặc tháng "
                                    "(2024-03), hoặc nhập từ ngày – đến ngày.")),
    (r"^invalid (?P<w>--from|--to) date (?P<v>.*?):", "Ngày {v} không hợp lệ: cần dạng năm-tháng-ngày (YYYY-MM-DD)."),
    (r"^--from (?P<a>\S+) is after --to (?P<b>\S+)", "Từ ngày {a} sau đến ngày {b}."),
    (r"^give either --period or --from/--to", "Chọn kỳ báo cáo hoặc nhập từ ngày – đến ngày, không cả hai."),
    (r"^--from and --to go together", "Nhập cả từ ngày và đến ngày (tính cả hai ngày)."),
    (r"^(?P<f>\w+): (?P<v>.*?) is not a date YYYY-MM-DD", "{f}: {v} không phải ngày dạng YYYY-MM-DD."),
    (r"^no record (?P<v>.*)$", "Không có bản ghi {v}."),
    (r"^no agency (?P<v>\S+)", "Chưa có cơ quan {v} trong danh mục cơ quan."),
    (r"^unknown agency (?P<v>\S+)", "Chưa có cơ quan {v} trong danh mục cơ quan."),
    (r"^no user (?P<v>.*?) \(", "Không có tài khoản {v}."),
    (r"^user (?P<v>.*?) already exists", "Tài khoản {v} đã tồn tại."),
    (r"^invalid user name (?P<v>.*?):", "Tên đăng nhập {v} không hợp lệ: 2–64 ký tự a-z, 0-9, '.', '_' hoặc '-'."),
    (r"^password too short: at least (?P<n>\d+) characters", "Mật khẩu quá ngắn: cần ít nhất {n} ký tự."),
    (r"^password refused: whitespace only", "Mật khẩu không được chỉ gồm khoảng trắng."),
    (r"^password refused: fewer than (?P<n>\d+) different", "Mật khẩu cần ít nhất {n} ký tự khác nhau."),
    (r"^password refused: too common", ("Mật khẩu quá phổ biến (nằm trong danh sách mật khẩu hay bị dò); "
                                       "hãy chọn mật khẩu khác.")),
    (r"^password refused: .*user name", "Mật khẩu không được trùng tên đăng nhập."),
    (r"^a scanner needs --agency", "Cán bộ số hóa cần được gán cơ quan: họ chỉ tải lên cho cơ quan mình."),
    (r"^invalid role (?P<v>.*?):", "Vai trò {v} không hợp lệ."),
    (r"^token lifetime must be at least one day", "Thời hạn token ít nhất một ngày."),
    (r"^no API token #(?P<v>\d+)", "Không có API token số {v}."),
    (r"^(?P<f>.*?): header must be (?P<c>[^ ]+)", "{f}: dòng tiêu đề phải là {c}."),
    (r"^(?P<f>.*?): not UTF-8 text", "{f}: không phải văn bản UTF-8; hãy lưu tệp CSV dạng UTF-8."),
    (r"^(?P<f>.*?): empty file", "{f}: tệp rỗng."),
    (r"^invalid (?P<o>\S+) (?P<v>.*?): expected a percentage", ("Giá trị {v} không hợp lệ: cần một tỷ lệ phần trăm "
                                                               "0..100, ví dụ 80 hoặc 80%.")),
    (r"^points must be > 0", "Điểm phải lớn hơn 0."),
    (r"^nothing to set", "Chưa nhập chỉ tiêu nào."),
    (r"^no owner known for this dossier", "Hồ sơ chưa có số định danh chủ sở hữu: hãy nhập số định danh."),
    (r"^unknown field (?P<v>.*?) \(", "Không có trường thông tin {v}."),
    (r"^kind: (?P<v>.*?) is not one of", "Loại {v} không hợp lệ: chọn thành phần hồ sơ hoặc kết quả giải quyết."),
    (r"^a result record needs --dossier", "Kết quả giải quyết cần mã hồ sơ (mã giấy tờ là <mã hồ sơ>-KQ<số>)."),
    (r"^dossier (?P<v>\S+) is not in the registry", "Hồ sơ {v} chưa có trong sổ theo dõi hồ sơ."),
    (r"^dossier (?P<v>\S+) does not belong to agency (?P<a>\S+)", "Hồ sơ {v} không thuộc cơ quan {a}."),
    (r"^search index unreachable", "Không kết nối được chỉ mục tìm kiếm; vui lòng thử lại sau."),
    (r"keeps changing under this", "Giấy tờ đang được cập nhật đồng thời; vui lòng thử lại."),
    (r"^agency (?P<a>\S+) is outside", "Cơ quan {a} nằm ngoài phạm vi cơ quan của tài khoản."),
    (r"^(?P<w>agency|procedure) (?P<v>\S+) already on line (?P<n>\d+)", "{v} đã có ở dòng {n}."),
    (r"^empty name$", "Thiếu tên."),
    (r"^parent (?P<v>\S+) is not a known agency", "Cơ quan cấp trên {v} chưa có trong danh mục."),
    (r"^parent (?P<v>\S+) was rejected", "Cơ quan cấp trên {v} bị từ chối."),
    (r"^parent (?P<v>\S+) would make a loop", "Cơ quan cấp trên {v} tạo thành vòng lặp trong cây cơ quan."),
    (r"^invalid procedure code (?P<v>.*?):", ("Mã thủ tục {v} không hợp lệ: chỉ gồm chữ, số, '.', '_' hoặc '-' "
                                            "(tối đa 64 ký tự), ví dụ 1.001193.")),
    (r"^invalid level (?P<v>.*?):", "Cấp {v} không hợp lệ: chọn province, department, district hoặc commune."),
    (r"^name longer than", "Tên quá dài."),
    (r"^invalid endpoint prefix (?P<v>.*?):", "Tiền tố {v} không hợp lệ: cần đường dẫn như /api/uploads."),
]]
_VIETNAMESE = re.compile(r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.IGNORECASE)


def message_vi(message: str) -> str:
    """An error message as the web shows it: Vietnamese (already so, or translated; the CLI and the
    server log keep the English). A message nobody translated yet keeps its text after a
    Vietnamese lead-in, so the person still sees what was wrong."""
    if _VIETNAMESE.search(message):
        return message
    for pattern, text in _MESSAGES_VI:
        if match := pattern.search(message):
            return text.format(**match.groupdict())
    return f"Dữ liệu không hợp lệ ({message})."


# pydantic's checks of query parameters and forms, by error type.
VALIDATION_VI: Final[dict[str, str]] = {
    "int_parsing": "phải là số nguyên", "float_parsing": "phải là số", "bool_parsing": "phải là có/không",
    "missing": "bắt buộc", "greater_than_equal": "nhỏ hơn giá trị nhỏ nhất cho phép",
    "less_than_equal": "lớn hơn giá trị lớn nhất cho phép", "string_too_long": "quá dài",
    "string_too_short": "quá ngắn", "literal_error": "không phải một lựa chọn có sẵn",
    "date_from_datetime_parsing": "không phải ngày hợp lệ", "date_parsing": "không phải ngày hợp lệ",
    "json_invalid": "không phải JSON hợp lệ", "model_attributes_type": "sai kiểu dữ liệu",
}
PARAM_VI: Final[dict[str, str]] = {
    "depth": "Số cấp hiển thị", "period": "Kỳ báo cáo", "from": "Từ ngày", "to": "Đến ngày", "page": "Trang",
    "size": "Số kết quả mỗi trang", "q": "Từ khóa", "days": "Hiệu lực (ngày)", "count": "Số tờ phân cách",
    "agency": "Cơ quan", "doc_type": "Loại giấy tờ", "procedure": "Thủ tục", "kind": "Loại", "sort": "Sắp xếp",
    "limit": "Số dòng", "offset": "Vị trí bắt đầu", "dossier": "Mã hồ sơ", "owner_id": "Số định danh",
}


def validation_vi(field: str, error_type: str) -> str:
    """One failed check of a request as a sentence: "Số cấp hiển thị: phải là số nguyên"."""
    name = PARAM_VI.get(field) or FIELD_VI.get(field) or field
    return f"{name}: {VALIDATION_VI.get(error_type, 'không hợp lệ')}" if name else VALIDATION_VI.get(error_type, "")


RETENTION_VI: Final[dict[str, str]] = {  # TT 01/2023 retention codes as a clerk reads them
    "01": "Vĩnh viễn", "02": "70 năm", "03": "50 năm", "04": "30 năm", "05": "20 năm", "06": "10 năm", "07": "Khác",
}
LANGUAGE_VI: Final[dict[str, str]] = {"vie": "tiếng Việt", "vi": "tiếng Việt", "en": "tiếng Anh", "eng": "tiếng Anh", "fra": "tiếng Pháp",
                                      "chi_sim": "tiếng Trung", "osd": "hướng trang"}


def language_vi(codes: str) -> str:
    return " + ".join(LANGUAGE_VI.get(code, code) for code in codes.split("+"))


def _fields_vi(names: str) -> str:
    return ", ".join(FIELD_VI.get(name.strip(), name.strip()) for name in names.split(","))


# Event details are written in English (they are part of the archived PREMIS history); the record
# page shows them in Vietnamese. The first matching pattern wins; the parts are reused as they are.
_DETAILS_VI: Final[list[tuple[re.Pattern, object]]] = [(re.compile(pattern), text) for pattern, text in [
    (r"^(?P<p>\d+) pages, (?P<o>\d+) OCR'd, lang (?P<l>\S+)$",
     lambda m: f"{m['p']} trang, {m['o']} trang nhận dạng ký tự, ngôn ngữ {language_vi(m['l'])}"),
    (r"^(?P<n>.*): (?P<b>\d+) bytes, sha256 (?P<h>[0-9a-f]+)$",
     lambda m: f"{m['n']}: {int(m['b']):,} byte".replace(",", ".") + f", SHA-256 {m['h']}"),
    (r"^every object read back and its SHA-256 verified$", "mọi đối tượng đã được đọc lại và kiểm tra SHA-256"),
    (r"^dossier (?P<d>\S+) \(metadata version (?P<v>\d+)\)$", "hồ sơ {d} (phiên bản thông tin {v})"),
    (r"^dossier (?P<d>\S+)$", "hồ sơ {d}"),
    (r"^metadata version (?P<v>\d+): (?P<r>.*)$", lambda m: f"phiên bản thông tin {m['v']}: {event_detail_vi(m['r'])}"),
    (r"^metadata version (?P<v>\d+)$", "phiên bản thông tin {v}"),
    (r"^PAdES (?P<l>\S+) by (?P<u>.*) \((?P<s>.*)\)$", "PAdES {l}, {u} ({s})"),
    (r"^(?P<n>\d+) proposals(?P<r>.*)$", lambda m: f"{m['n']} đề xuất" + "".join(
        f"; đã điền (chưa xác nhận): {_fields_vi(part.split(': ', 1)[1])}" if part.startswith("filled")
        else f"; giá trị đã nhập khác nội dung giấy tờ: {_fields_vi(part.split(': ', 1)[1])}"
        for part in m["r"].split("; ")[1:])),
    (r"^stored again with other metadata: (?P<f>.*)$", lambda m: f"lưu lại với thông tin khác: {_fields_vi(m['f'])}"),
    (r"^(?P<f>\d[abu])$", "PDF/A-{f}"),
    (r"^(?P<f>PDF/A-\d[abu])$", "{f}"),
    (r"^warning: (?P<r>.*)$", "cảnh báo: {r}"),
    (r"^(?P<n>\d+) objects intact$", "{n} đối tượng toàn vẹn"),
]]


def event_detail_vi(detail: str | None) -> str:
    """An event's detail on the record page; one nobody translated is shown as written."""
    if not detail:
        return ""
    for pattern, text in _DETAILS_VI:
        if match := pattern.match(detail):
            return text(match) if callable(text) else text.format(**match.groupdict())
    return detail


def tool_vi(tool: str | None) -> str:
    """The tool column of the history: the words around names and versions in Vietnamese."""
    text = tool or ""
    for english, vietnamese in (("local directory ", "thư mục "), ("structural ", "kiểm tra cấu trúc "),
                                ("s3 bucket ", "kho S3 "), ("S3 bucket ", "kho S3 ")):
        text = text.replace(english, vietnamese)
    return text


BATCH_VI: Final[dict[str, str]] = {"watch": "Thư mục quét tự động", "upload": "Tải lên qua web"}


def batch_vi(name: str) -> str:
    """A job's name as people read it: the hot folder's and the web's jobs by what they are."""
    return BATCH_VI.get(name, name)


# Audit details are written in English (the log is hash-chained and read by `sohoa audit` too); the
# audit pages show them with these words. Whole phrases first, then the small words around codes.
_AUDIT_PHRASES: Final[list[tuple[str, str]]] = [
    ("(already linked)", "(đã gắn từ trước)"), ("(other agency)", "(cơ quan khác)"), ("other agency", "cơ quan khác"),
    ("(all agencies)", "(mọi cơ quan)"), ("reuse confirmation", "xác nhận sử dụng lại"),
    ("duplicate upload", "tải lên trùng"), ("review page", "trang xác nhận thông tin"), ("user add", "thêm tài khoản"),
    ("password set", "đặt mật khẩu"), ("token for", "token cho"), ("revoked", "đã thu hồi"),
    ("imported", "đã nhập"), ("rejected", "bị từ chối"), ("read-only", "chỉ đọc"), ("withdrawn", "đã rút lại"),
    ("dossiers import", "nhập sổ hồ sơ"), ("agencies import", "nhập danh mục cơ quan"),
    ("procedures import", "nhập danh mục thủ tục"), ("targets", "chỉ tiêu"), ("points", "điểm"),
    ("days", "ngày"), ("dossier", "hồ sơ"), ("owner", "chủ sở hữu"), ("pages", "trang"), ("page", "trang"), ("items", "mục"), ("uploads", "tải lên"), ("thumbnail of", "ảnh thu nhỏ của"),
    ("item", "mục"),
    ("user", "tài khoản"), ("api", "API"), ("web", "web"), ("watch", "thư mục quét tự động"),
    ("upload", "tải lên qua web"),
    ("dismissed quarantined item", "bỏ qua tệp cần xử lý"), ("quarantined item", "tệp cần xử lý"),
    ("records (BagIt + METS zip)", "bản ghi (gói BagIt + METS, .zip)"), ("export of", "xuất"),
    ("api records", "API danh sách bản ghi"), ("waiting", "đang chờ"), ("handled", "đã xử lý"),
]
_AUDIT_PHRASES += [(f"({role})", f"({name})") for role, name in LABELS_VI_ROLES.items()]
_AUDIT_PHRASES.sort(key=lambda pair: -len(pair[0]))  # the longest phrase wins where two overlap
# Whole words only: "pages" is not "page" + "s", and a login or file name such as "upload.bot" is kept.
_AUDIT_WORDS = re.compile(r"(?<![\w.-])(?:" + "|".join(re.escape(english) for english, _ in _AUDIT_PHRASES)
                          + r")(?![\w.-])")
_AUDIT_VI = dict(_AUDIT_PHRASES)


def audit_detail_vi(detail: str | None) -> str:
    """An audit row's detail as the audit page shows it (JSON of a search is left as it is)."""
    if not detail or detail.startswith("{"):
        return detail or ""
    return _AUDIT_WORDS.sub(lambda match: _AUDIT_VI[match.group(0)], detail)
