"""Vietnamese words for what the pages show: job statuses, record kinds, events, metadata fields.

Codes stay in English in the database and the API; people read these labels.
"""

from __future__ import annotations

from typing import Final

from sohoa.core.errors import ExitCode
from sohoa.workers import jobs
from sohoa.ingest.policy import reason_vi  # noqa: F401  (why a file was quarantined: the policy's words)

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
