"""The one-stop dossier registry: `sohoa dossiers import FILE.csv` and `import_rows` (the Python API
the web app calls). Valid rows are upserted (re-import updates, idempotent); each invalid row is
reported with its line number and reason."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Final

from sohoa.core import codes
from sohoa.core.db import Database
from sohoa.core.errors import InvalidCode, SohoaError
from sohoa.ratios.agencies import load_tree
from sohoa.ratios.csvinput import ImportReport, RowError, read_text, rows
from sohoa.ratios.models import Dossier
from sohoa.ratios.periods import parse_date
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

COLUMNS: Final = ("dossier_code", "agency_code", "procedure_code", "received_on", "channel", "owner_id",
                  "result_issued_on", "result_form")
CHANNELS: Final = ("direct", "postal", "online")
RESULT_FORMS: Final = ("paper", "electronic")
PROCEDURE_MAX: Final = 64  # the catalog column
BATCH: Final = 2000  # rows per upsert statement: large enough to amortise, small enough for SQLite's limits


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


def _date(value: str | date | None, column: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if not value.strip():
        return None
    try:
        return parse_date(value, column)
    except SohoaError:
        raise InvalidCode(f"invalid {column} {value!r}: expected YYYY-MM-DD") from None


def _choice(value: str | None, column: str, allowed: tuple[str, ...]) -> str | None:
    value = (value or "").strip().lower()
    if value and value not in allowed:
        raise InvalidCode(f"invalid {column} {value!r}: expected {' | '.join(allowed)}")
    return value or None


def validate(cells: Mapping[str, str | date | None], agencies: Iterable[str] | set[str]) -> RegistryEntry:
    """A registry row checked column by column; raises InvalidCode with the first problem found."""
    code = codes.dossier_code(str(cells.get("dossier_code") or ""))
    agency = codes.agency_code(str(cells.get("agency_code") or ""))
    if code.split("-")[0] != agency:
        raise InvalidCode(f"dossier {code} does not belong to agency {agency} (TT 01/2018: the code starts "
                          "with the receiving agency's code)")
    if agency not in agencies:
        raise InvalidCode(f"unknown agency {agency}: import it first with `sohoa agencies import`")
    procedure = str(cells.get("procedure_code") or "").strip()
    if not procedure or len(procedure) > PROCEDURE_MAX:
        raise InvalidCode(f"procedure_code must be 1..{PROCEDURE_MAX} characters")
    received = _date(cells.get("received_on"), "received_on")
    if received is None:
        raise InvalidCode("received_on is required")
    channel = _choice(cells.get("channel"), "channel", CHANNELS)  # type: ignore[arg-type]
    if channel is None:
        raise InvalidCode(f"channel is required: {' | '.join(CHANNELS)}")
    owner = codes.owner_id(str(cells.get("owner_id") or ""))
    issued = _date(cells.get("result_issued_on"), "result_issued_on")
    form = _choice(cells.get("result_form"), "result_form", RESULT_FORMS)  # type: ignore[arg-type]
    if (issued is None) != (form is None):
        raise InvalidCode("result_issued_on and result_form go together: both empty, or both given")
    if issued is not None and issued < received:
        raise InvalidCode(f"result_issued_on {issued} is before received_on {received}")
    return RegistryEntry(code, agency, procedure, received, channel, owner, issued, form)


def import_dossiers(catalog: Database, path: Path) -> ImportReport:
    return upsert(catalog, rows(read_text(path), COLUMNS, str(path)))


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
                "result_form", "in_registry")}
    return statement.on_conflict_do_update(index_elements=[Dossier.code], set_=updated)
