"""The one ingest policy: which fields a file may carry, how they are validated, why a file is refused.

Every source of documents (`sohoa ingest`, the hot folder, batches, web uploads)
goes through `validate` exactly once, when the file is handed in; what it
returns is stored with the job item and trusted by the later stages. Quarantine
reasons come from here too, with the Vietnamese text staff read.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Collection, Final, Mapping

from sohoa.core import codes
from sohoa.core.errors import EXIT_CODE_DOCS, ExitCode, SohoaError
from sohoa.core.records import Kind
from sohoa.ingest.base import Quarantined

DATE_FIELDS: Final = frozenset({"issued_on", "valid_until", "date_of_birth"})
MEDIA_TYPES: Final = {"pdf": "application/pdf", "tiff": "image/tiff", "jpeg": "image/jpeg", "png": "image/png"}


@dataclass
class IngestFields:
    """What scanning staff say about a file; every code is validated before any work."""

    agency: str | None = None
    dossier: str | None = None
    procedure: str | None = None
    kind: Kind = Kind.component
    doc_type: str | None = None
    owner_id: str | None = None
    owner_name: str | None = None
    date_of_birth: date | None = None
    title: str | None = None
    number_symbol: str | None = None
    issued_on: date | None = None
    issuing_agency: str | None = None
    summary: str | None = None
    valid_until: date | None = None
    retention: str = "06"
    scanned_by: str | None = None
    # Set by `validated()` (and `trusted()` for fields validated when the file was handed in),
    # so the pipeline's validate stage runs the checks exactly once per file.
    is_validated: bool = field(default=False, compare=False, repr=False)

    def to_dict(self) -> dict[str, str]:
        """JSON-safe: dates as ISO text, only the fields that are set."""
        out = {}
        for name in FIELD_NAMES:
            value = getattr(self, name)
            if value is not None:
                out[name] = value.isoformat() if isinstance(value, date) else str(getattr(value, "value", value))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object], base: "IngestFields | None" = None) -> "IngestFields":
        """Fields from a sidecar, a manifest row or a job item, over `base`; unknown names refused."""
        known = FIELD_NAMES
        values = {name: getattr(base, name) for name in known} if base else {}
        for name, value in data.items():
            if name not in known:
                raise SohoaError(f"unknown field {name!r} (known: {', '.join(known)})", ExitCode.INVALID_CODE)
            if value is None or value == "":
                continue
            if name in DATE_FIELDS:
                try:
                    value = date.fromisoformat(str(value))
                except ValueError:
                    raise SohoaError(f"{name}: {value!r} is not a date YYYY-MM-DD", ExitCode.INVALID_CODE) from None
            elif name == "kind":
                try:
                    value = Kind(str(value))
                except ValueError:
                    raise SohoaError(f"kind: {value!r} is not one of component, result",
                                     ExitCode.INVALID_CODE) from None
            else:
                value = unicodedata.normalize("NFC", str(value)).strip()
            values[name] = value
        return cls(**values)

    @classmethod
    def trusted(cls, data: Mapping[str, object]) -> "IngestFields":
        """Fields that `validated()` produced when the file was handed in (a job item): not checked again."""
        return replace(cls.from_dict(data), is_validated=True)

    def validated(self) -> "IngestFields":
        """Codes checked and normalised; the agency follows from the dossier code when not given."""
        if self.is_validated:
            return self
        agency = codes.agency_code(self.agency) if self.agency else None
        dossier = codes.dossier_code(self.dossier) if self.dossier else None
        if dossier and not agency:
            agency = dossier.split("-")[0]
        if self.kind == Kind.result and not dossier:
            raise SohoaError("a result record needs --dossier (its code is <dossier code>-KQ<n>)",
                             ExitCode.INVALID_CODE)
        return IngestFields(
            agency=agency, dossier=dossier, procedure=self.procedure, kind=Kind(self.kind),
            doc_type=self.doc_type, owner_id=codes.owner_id(self.owner_id) if self.owner_id else None,
            owner_name=self.owner_name, date_of_birth=self.date_of_birth, title=self.title,
            number_symbol=self.number_symbol, issued_on=self.issued_on,
            issuing_agency=self.issuing_agency, summary=self.summary, valid_until=self.valid_until,
            retention=codes.retention_code(self.retention), scanned_by=self.scanned_by, is_validated=True,
        )


FIELD_NAMES: Final = tuple(name for name in IngestFields.__dataclass_fields__ if name != "is_validated")


def validate(given: Mapping[str, object] | IngestFields, path: Path, where: str = "") -> IngestFields | Quarantined:
    """Stage validate: the fields as given → validated fields, or the quarantine saying what is wrong.

    `where` prefixes the reason (a manifest line) so staff find the culprit.
    """
    try:
        fields = given if isinstance(given, IngestFields) else IngestFields.from_dict(given)
        return fields.validated()
    except SohoaError as error:
        return quarantined(path, error, where)


def out_of_scope(fields: IngestFields, allowed: Collection[str], path: Path, source: str) -> Quarantined | None:
    """A file handed in for `source` (the hot folder's agency folder) may only be filed under that
    agency or an agency below it (`allowed`), and only into a dossier of one of them: a sidecar
    cannot move a paper into another agency's dossier, where it would count in that agency's ratios."""
    problems = []
    if fields.agency and fields.agency not in allowed:
        problems.append(f"agency {fields.agency}")
    if fields.dossier and fields.dossier.split("-")[0] not in allowed:
        problems.append(f"dossier {fields.dossier}")
    if not problems:
        return None
    return Quarantined(path, f"{' and '.join(problems)} not within {source} or an agency below it",
                       int(ExitCode.REFUSED))


def quarantined(path: Path, error: SohoaError, where: str = "") -> Quarantined:
    """An expected failure as the typed end of a pipeline."""
    reason = f"{where}: {error.message}" if where else error.message
    return Quarantined(path, reason, int(error.exit_code))


# What staff read about a quarantined file, by exit code; the English detail follows it.
REASONS_VI: Final[dict[int, str]] = {
    ExitCode.INPUT_MISSING: "Không còn tệp để xử lý; hãy gửi lại.",
    ExitCode.INPUT_EMPTY: "Tệp rỗng (0 byte).",
    ExitCode.UNSUPPORTED: "Định dạng không được hỗ trợ (chỉ nhận PDF, TIFF, JPEG, PNG).",
    ExitCode.DAMAGED: "Tệp bị hỏng, không đọc được.",
    ExitCode.ENCRYPTED: "Tệp PDF có mật khẩu; hãy gỡ mật khẩu rồi quét/gửi lại.",
    ExitCode.NO_PAGES: "Tệp không có trang nào.",
    ExitCode.TOO_LARGE: "Ảnh quá lớn, vượt giới hạn số điểm ảnh.",
    ExitCode.TOO_MANY_PAGES: "Tệp có quá nhiều trang; hãy tách thành nhiều tệp nhỏ hơn.",
    ExitCode.BAD_PAGE_SIZE: "Kích thước trang không hợp lệ.",
    ExitCode.OUTPUT_INVALID: "Không tạo được PDF/A hợp lệ từ tệp này.",
    ExitCode.INVALID_CODE: "Mã cơ quan, mã hồ sơ hoặc thông tin kèm theo không hợp lệ.",
    ExitCode.INTERNAL: "Xử lý thất bại nhiều lần; cần kiểm tra thủ công.",
    ExitCode.REFUSED: "Tệp bị từ chối (ví dụ: hồ sơ hoặc cơ quan không thuộc đơn vị của thư mục).",
    ExitCode.CODE_CONFLICT: "Mã hồ sơ đọc được trên trang (mã QR, mã vạch) khác với mã hồ sơ đã nhập; "
                            "hãy kiểm tra tờ bìa, giấy tiếp nhận và thông tin kèm theo.",
}
REASON_VI_DEFAULT: Final = "Không số hóa được tệp này."


def reason_vi(exit_code: int | None) -> str:
    return REASONS_VI.get(exit_code or 0, REASON_VI_DEFAULT)


def reason_en(exit_code: int | None) -> str:
    code = ExitCode(exit_code) if exit_code in iter(ExitCode) else None
    return EXIT_CODE_DOCS.get(code, "cannot be digitised") if code else ""
