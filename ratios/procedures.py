"""The procedure catalogue (issue #18): administrative procedures by code, name and field, imported
from CSV (`sohoa procedures import FILE.csv`, or the admin page), so forms offer procedures by name
and pages show names where dossiers name a procedure code. Codes are the registry's (e.g. 1.001193)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sohoa.core.db import Database
from sohoa.core.errors import InvalidCode
from sohoa.ratios.csvinput import ImportReport, RowError, read_text, rows, validated_rows
from sohoa.ratios.models import Procedure
from sqlalchemy import select

COLUMNS: Final = ("code", "name", "field")
CODE_RE: Final = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")  # 1.001193, 2.000123.000.00.00.H36
NAME_MAX: Final = 500
FIELD_MAX: Final = 300


@dataclass(frozen=True)
class ProcedureRow:
    code: str
    name: str
    field: str


def _validate(cells: dict[str, str]) -> ProcedureRow:
    code = cells["code"].strip()
    if not CODE_RE.match(code):
        raise InvalidCode(f"invalid procedure code {cells['code']!r}: expected letters, digits, '.', '_' or '-' "
                          "(at most 64), like 1.001193")
    name, field = " ".join(cells["name"].split()), " ".join(cells["field"].split())
    if not name:
        raise InvalidCode("empty name")
    if len(name) > NAME_MAX or len(field) > FIELD_MAX:
        raise InvalidCode(f"name longer than {NAME_MAX} or field longer than {FIELD_MAX} characters")
    return ProcedureRow(code, name, field)


def import_procedures(catalog: Database, path: Path) -> ImportReport:
    return upsert_procedures(catalog, rows(read_text(path), COLUMNS, str(path)))


def upsert_procedures(catalog: Database, lines: Iterable[tuple[int, dict[str, str] | RowError]]) -> ImportReport:
    """Insert or update procedures; a bad row is refused with its line and reason, the others go in."""
    report = ImportReport()
    accepted = {code: row for code, (_, row) in
                validated_rows(lines, _validate, lambda row: row.code, "procedure", report).items()}
    with catalog.session() as session, session.begin():
        for code, row in accepted.items():
            stored = session.get(Procedure, code)
            if stored is None:
                session.add(Procedure(code=code, name=row.name, field=row.field))
                report.inserted += 1
            else:
                stored.name, stored.field = row.name, row.field
                report.updated += 1
    return report


def load_procedures(catalog: Database) -> dict[str, ProcedureRow]:
    """Every procedure by code, sorted by field then name (how a drop-down lists them)."""
    with catalog.session() as session:
        found = session.execute(select(Procedure.code, Procedure.name, Procedure.field)
                                .order_by(Procedure.field, Procedure.name)).all()
    return {code: ProcedureRow(code, name, field) for code, name, field in found}
