"""Reading an import CSV: header check, one dict per data row with its line number.

File-level problems (missing, empty, not UTF-8, wrong header) are one `SohoaError` with a
distinct exit code; row-level problems are collected as `RowError`s by the importers, so
valid rows still go in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from sohoa.core.errors import ExitCode, InvalidCode, SohoaError

# Spreadsheets in a Vietnamese locale often save with ';' (the decimal separator is ',').
DELIMITERS: Final = (",", ";")


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did: rows added, rows updated (re-import is idempotent), rows refused."""

    inserted: int = 0
    updated: int = 0
    rejected: list[RowError] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.inserted + self.updated


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SohoaError(f"{path}: no such file", ExitCode.INPUT_MISSING) from None
    except OSError as exc:
        raise SohoaError(f"{path}: cannot read ({exc.strerror})", ExitCode.INPUT_MISSING) from None
    if not data.strip():
        raise SohoaError(f"{path}: empty file", ExitCode.INPUT_EMPTY)
    try:
        return data.decode("utf-8-sig")  # Excel writes a BOM
    except UnicodeDecodeError as exc:
        raise SohoaError(f"{path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8",
                         ExitCode.UNSUPPORTED) from None


def rows(text: str, columns: tuple[str, ...], source: str,
         optional: tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, str] | RowError]]:
    """(line number, row or the reason it cannot be read) for each non-blank data line; the
    `optional` columns are read when the header has them."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except csv.Error as exc:
        raise SohoaError(f"{source}: not a CSV file ({exc})", ExitCode.UNSUPPORTED) from None
    missing = [name for name in columns if name not in header]
    if missing or len(set(header)) != len(header):
        raise SohoaError(f"{source}: header must be {','.join(columns)} (missing: {', '.join(missing) or '-'}"
                         f"{'; duplicate column names' if len(set(header)) != len(header) else ''})",
                         ExitCode.UNSUPPORTED)
    position = {name: header.index(name) for name in (*columns, *optional) if name in header}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. an unterminated quote: the rest of the file is unreadable
            yield reader.line_num, RowError(reader.line_num, f"unreadable CSV ({exc})")
            return
        if not cells or all(not cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            yield reader.line_num, RowError(reader.line_num, f"expected {len(header)} fields, got {len(cells)}")
            continue
        yield reader.line_num, {name: cells[index].strip() for name, index in position.items()}


def validated_rows(lines: Iterable[tuple[int, dict[str, str] | RowError]], validate: Callable[[dict[str, str]], object],
                   key: Callable[[object], str], what: str, report: ImportReport) -> dict[str, tuple[int, object]]:
    """The rows that pass `validate`, by key, with their line; bad and repeated rows go to
    `report.rejected` with their line and reason (an InvalidCode's message)."""
    accepted: dict[str, tuple[int, object]] = {}
    for line, cells in lines:
        if isinstance(cells, RowError):
            report.rejected.append(cells)
            continue
        try:
            row = validate(cells)
        except InvalidCode as exc:
            report.rejected.append(RowError(line, exc.message))
            continue
        code = key(row)
        if code in accepted:
            report.rejected.append(RowError(line, f"{what} {code} already on line {accepted[code][0]}"))
            continue
        accepted[code] = (line, row)
    return accepted
