"""The one-stop dossier registry: `sohoa dossiers import FILE.csv` and `import_rows` (the Python API
the web app calls). Valid rows are upserted (re-import updates, idempotent); each invalid row is
reported with its line number and reason."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date
from pathlib import Path
from typing import Final

from sohoa.core import codes
from sohoa.core.db import Database
from sohoa.core.errors import ExitCode, InvalidCode, SohoaError
from sohoa.ratios.agencies import load_tree
from sohoa.ratios.csvinput import ImportReport, RowError, read_text, rows
from sohoa.ratios.models import Dossier
from sohoa.ratios.periods import parse_date
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

COLUMNS: Final = ("dossier_code", "agency_code", "procedure_code", "received_on", "channel", "owner_id",
                  "result_issued_on", "result_form")
# Optional columns (issue #19): a CSV without them imports as before (no result code, nothing exempted).
EXEMPT_REASONS: Final[dict[str, str]] = {  # column → reason (TT 03/2025/TT-VPCP Điều 5.2), in Vietnamese
    "exempt_desk": "Chỉ xuất trình tại quầy (không thu lại)",
    "exempt_verification": "Văn bản trả lời xác minh giữa các cơ quan",
    "exempt_secret": "Tài liệu mật",
    "exempt_other": "Lý do khác",
}
COUNT_COLUMNS: Final = ("components", "electronic_components", *EXEMPT_REASONS)
OPTIONAL: Final = ("result_code", *COUNT_COLUMNS)
CHANNELS: Final = ("direct", "postal", "online")
RESULT_FORMS: Final = ("paper", "electronic")
PROCEDURE_MAX: Final = 64  # the catalog column
RESULT_CODE_MAX: Final = 96
COUNT_MAX: Final = 10_000  # components of one dossier: more is a typing error
BATCH: Final = 2000  # rows per upsert statement: large enough to amortise, small enough for SQLite's limits
# The Vietnamese name of each field, for the messages the web and the API show.
FIELD_VI: Final[dict[str, str]] = {
    "dossier_code": "mã hồ sơ", "agency_code": "mã cơ quan", "procedure_code": "mã thủ tục",
    "received_on": "ngày tiếp nhận", "channel": "kênh tiếp nhận", "owner_id": "số định danh chủ hồ sơ",
    "result_issued_on": "ngày trả kết quả", "result_form": "hình thức trả kết quả", "result_code": "mã kết quả",
    "components": "số thành phần hồ sơ", "electronic_components": "số thành phần nhận điện tử",
    "exempt_desk": "số thành phần chỉ xuất trình tại quầy",
    "exempt_verification": "số văn bản trả lời xác minh giữa các cơ quan",
    "exempt_secret": "số tài liệu mật", "exempt_other": "số thành phần miễn số hóa vì lý do khác",
}


class FieldError(InvalidCode):
    """One registry field is wrong: `field` names it; `message` is for the CLI (English), `message_vi`
    for the web and the API."""

    def __init__(self, field: str, message: str, message_vi: str) -> None:
        super().__init__(message)
        self.field, self.message_vi = field, f"{FIELD_VI.get(field, field)} ({field}): {message_vi}"


@dataclass(frozen=True)
class RegistryEntry:
    """One validated registry row, as stored in `dossiers`."""

    code: str
    agency_code: str
    procedure_code: str
    received_on: date
    channel: str
    owner_id: str
    result_issued_on: date | None
    result_form: str | None
    result_code: str | None = None
    components: int | None = None  # None: the registry did not say how many
    electronic_components: int = 0
    exempt_desk: int = 0
    exempt_verification: int = 0
    exempt_secret: int = 0
    exempt_other: int = 0

    @property
    def exempted(self) -> int:
        return sum(getattr(self, column) for column in EXEMPT_REASONS)

    def cells(self) -> dict[str, str | date | None]:
        """The entry as registry cells again (what `validate` reads): to change one part and re-check."""
        values = asdict(self)
        values["dossier_code"] = values.pop("code")
        return {k: (str(v) if isinstance(v, int) else v) for k, v in values.items()}


def _date(value: str | date | None, column: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if not str(value).strip():
        return None
    try:
        return parse_date(str(value), column)
    except SohoaError:
        raise FieldError(column, f"invalid {column} {value!r}: expected YYYY-MM-DD",
                         f"{value!r} không phải ngày dạng YYYY-MM-DD") from None


def _choice(value: str | None, column: str, allowed: tuple[str, ...]) -> str | None:
    value = str(value or "").strip().lower()
    if value and value not in allowed:
        raise FieldError(column, f"invalid {column} {value!r}: expected {' | '.join(allowed)}",
                         f"{value!r} không hợp lệ; chọn một trong: {', '.join(allowed)}")
    return value or None


def _count(value: str | int | None, column: str) -> int | None:
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > COUNT_MAX:
        raise FieldError(column, f"invalid {column} {value!r}: expected a whole number 0..{COUNT_MAX}",
                         f"{value!r} không hợp lệ: cần một số nguyên từ 0 đến {COUNT_MAX}")
    return int(text)


def _code(check, value: str, column: str, vi: str) -> str:
    try:
        return check(value)
    except InvalidCode as exc:
        raise FieldError(column, exc.message, f"{value!r} không hợp lệ: {vi}" if value.strip()
                         else "bắt buộc, chưa có giá trị") from None


def validate(cells: Mapping[str, str | date | int | None], agencies: Iterable[str] | set[str]) -> RegistryEntry:
    """A registry row checked column by column; raises FieldError (an InvalidCode) with the first problem."""
    code = _code(codes.dossier_code, str(cells.get("dossier_code") or ""), "dossier_code",
                 "dạng <mã cơ quan>-YYMMDD-NNNN, ví dụ 000.00.12.H36-240115-0001")
    agency = _code(codes.agency_code, str(cells.get("agency_code") or ""), "agency_code",
                   "bốn nhóm cách nhau bởi dấu chấm, ví dụ 000.00.12.H36 (QCVN 102:2016)")
    if code.split("-")[0] != agency:
        raise FieldError("agency_code", f"dossier {code} does not belong to agency {agency} (TT 01/2018: the code "
                         "starts with the receiving agency's code)",
                         f"hồ sơ {code} không thuộc cơ quan {agency} (mã hồ sơ bắt đầu bằng mã cơ quan tiếp nhận)")
    if agency not in agencies:
        raise FieldError("agency_code", f"unknown agency {agency}: import it first with `sohoa agencies import`",
                         f"cơ quan {agency} chưa có trong danh mục cơ quan")
    procedure = str(cells.get("procedure_code") or "").strip()
    if not procedure or len(procedure) > PROCEDURE_MAX:
        raise FieldError("procedure_code", f"procedure_code must be 1..{PROCEDURE_MAX} characters",
                         f"bắt buộc, từ 1 đến {PROCEDURE_MAX} ký tự")
    received = _date(cells.get("received_on"), "received_on")
    if received is None:
        raise FieldError("received_on", "received_on is required", "bắt buộc (YYYY-MM-DD)")
    channel = _choice(cells.get("channel"), "channel", CHANNELS)  # type: ignore[arg-type]
    if channel is None:
        raise FieldError("channel", f"channel is required: {' | '.join(CHANNELS)}",
                         f"bắt buộc: {', '.join(CHANNELS)}")
    owner = _code(codes.owner_id, str(cells.get("owner_id") or ""), "owner_id",
                  "CCCD 12 số, CMND 9 số hoặc mã số thuế (10 hoặc 10-3 số)")
    return RegistryEntry(code, agency, procedure, received, channel, owner,
                         *_result(cells, received), **_counts(cells))


def _result(cells: Mapping, received: date) -> tuple[date | None, str | None, str | None]:
    issued = _date(cells.get("result_issued_on"), "result_issued_on")
    form = _choice(cells.get("result_form"), "result_form", RESULT_FORMS)  # type: ignore[arg-type]
    if (issued is None) != (form is None):
        missing = "result_form" if form is None else "result_issued_on"
        raise FieldError(missing, "result_issued_on and result_form go together: both empty, or both given",
                         "ngày trả kết quả và hình thức trả kết quả phải có cả hai, hoặc cùng để trống")
    if issued is not None and issued < received:
        raise FieldError("result_issued_on", f"result_issued_on {issued} is before received_on {received}",
                         f"ngày trả kết quả {issued} trước ngày tiếp nhận {received}")
    result_code = str(cells.get("result_code") or "").strip() or None
    if result_code is not None and (len(result_code) > RESULT_CODE_MAX or issued is None):
        raise FieldError("result_code", f"result_code needs result_issued_on and at most {RESULT_CODE_MAX} "
                         "characters", f"cần có ngày trả kết quả, và tối đa {RESULT_CODE_MAX} ký tự")
    return issued, form, result_code


def _counts(cells: Mapping) -> dict[str, int | None]:
    """The TT 03/2025 Điều 5.2 counts: electronic and exempted components never exceed the total."""
    counts = {column: _count(cells.get(column), column) for column in COUNT_COLUMNS}
    values = {column: counts[column] or 0 for column in COUNT_COLUMNS if column != "components"}
    total = counts["components"]
    accounted = sum(values.values())
    if total is not None and accounted > total:
        raise FieldError("components", f"components {total} is less than the electronic and exempted ones "
                         f"together ({accounted})",
                         f"{total} ít hơn tổng số thành phần nhận điện tử và được miễn số hóa ({accounted})")
    return {"components": total, **values}


def import_dossiers(catalog: Database, path: Path) -> ImportReport:
    return upsert(catalog, rows(read_text(path), COLUMNS, str(path), optional=OPTIONAL))


def import_rows(catalog: Database, items: Iterable[Mapping[str, str | date | None]]) -> ImportReport:
    """The Python API: mappings with the CSV's column names; "line" in the report is the 1-based item."""
    return upsert(catalog, enumerate(items, start=1))


def upsert(catalog: Database, lines: Iterable[tuple[int, Mapping | RowError]]) -> ImportReport:
    report = ImportReport()
    agencies = set(load_tree(catalog).agencies)
    with catalog.engine.begin() as connection:
        for batch in _batches(_valid(lines, agencies, report)):
            known = set(connection.scalars(select(Dossier.code).where(
                Dossier.code.in_([entry.code for entry in batch]), Dossier.in_registry)))
            connection.execute(_upsert_statement(catalog), [_values(entry) for entry in batch])
            report.updated += len(known)
            report.inserted += len(batch) - len(known)
    report.rejected.sort(key=lambda error: error.line)
    return report


def upsert_one(catalog: Database, cells: Mapping[str, str | date | int | None]) -> tuple[RegistryEntry, bool]:
    """One dossier (the API): validated as an import row (FieldError), upserted; (entry, created)."""
    entry = validate(cells, set(load_tree(catalog).agencies))
    with catalog.engine.begin() as connection:
        known = connection.scalar(select(Dossier.code).where(Dossier.code == entry.code, Dossier.in_registry))
        connection.execute(_upsert_statement(catalog), [_values(entry)])
    return entry, known is None


def entry_of(catalog: Database, dossier_code: str) -> RegistryEntry | None:
    """The registry's row of a dossier, None if the registry has not sent it (bare rows included)."""
    with catalog.session() as session:
        row = session.scalar(select(Dossier).where(Dossier.code == dossier_code, Dossier.in_registry))
        if row is None:
            return None
        return RegistryEntry(**{f.name: getattr(row, f.name) for f in fields(RegistryEntry)})


def set_result(catalog: Database, dossier_code: str, cells: Mapping[str, str | date | None]) -> RegistryEntry:
    """The result of a registered dossier issued (date, form, result code): the stored row with these
    three changed, validated as a whole again, so the rules stay those of the import."""
    entry = entry_of(catalog, dossier_code)
    if entry is None:
        raise SohoaError(f"dossier {dossier_code} is not in the registry", ExitCode.NOT_FOUND)
    changed = {**entry.cells(), **{k: cells.get(k) for k in ("result_issued_on", "result_form", "result_code")}}
    for column in ("result_issued_on", "result_form"):
        if not str(changed.get(column) or "").strip():
            raise FieldError(column, f"{column} is required", "bắt buộc khi báo kết quả")
    return upsert_one(catalog, changed)[0]


def owner_of(catalog: Database, dossier_code: str) -> str | None:
    """The owner the registry gives for a dossier, None if it has not sent the dossier (or no owner)."""
    with catalog.session() as session:
        return session.scalar(select(Dossier.owner_id).where(Dossier.code == dossier_code))


def _valid(lines: Iterable[tuple[int, Mapping | RowError]], agencies: set[str],
           report: ImportReport) -> Iterator[RegistryEntry]:
    seen: dict[str, int] = {}
    for line, cells in lines:
        if isinstance(cells, RowError):
            report.rejected.append(cells)
            continue
        try:
            entry = validate(cells, agencies)
        except InvalidCode as exc:
            report.rejected.append(RowError(line, exc.message))
            continue
        if entry.code in seen:  # the same dossier twice in one file: which one is right is unknowable
            report.rejected.append(RowError(line, f"dossier {entry.code} already on line {seen[entry.code]}"))
            continue
        seen[entry.code] = line
        yield entry


def _batches(entries: Iterator[RegistryEntry]) -> Iterator[list[RegistryEntry]]:
    batch: list[RegistryEntry] = []
    for entry in entries:
        batch.append(entry)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _values(entry: RegistryEntry) -> dict:
    return {**asdict(entry), "in_registry": True}


def _upsert_statement(catalog: Database):
    """INSERT … ON CONFLICT (code) DO UPDATE: a bare row left by an early record is completed too."""
    dialect = catalog.engine.dialect.name
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if insert is None:
        raise SohoaError(f"the dossier registry supports SQLite and PostgreSQL, not {dialect}")
    statement = insert(Dossier)
    updated = {column: statement.excluded[column] for column in
               ("agency_code", "procedure_code", "received_on", "channel", "owner_id", "result_issued_on",
                "result_form", *OPTIONAL, "in_registry")}
    return statement.on_conflict_do_update(index_elements=[Dossier.code], set_=updated)
