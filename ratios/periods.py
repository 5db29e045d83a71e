"""Reporting periods: a year (2024), a quarter (2024-Q1), a month (2024-03) or --from/--to dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from sohoa.core.errors import ExitCode, SohoaError

YEAR_RE: Final = re.compile(r"^(\d{4})$")
QUARTER_RE: Final = re.compile(r"^(\d{4})-[Qq]([1-4])$")
MONTH_RE: Final = re.compile(r"^(\d{4})-(\d{2})$")
ISO_DATE_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # date.fromisoformat alone also takes 20240115
PERIOD_FORMS: Final = "2024, 2024-Q1 or 2024-03"


@dataclass(frozen=True)
class Period:
    """An inclusive date range with the label reports show."""

    label: str
    start: date
    end: date

    def months(self) -> list[Period]:
        """The calendar months the period touches, each clipped to the period (for --by month)."""
        result, year, month = [], self.start.year, self.start.month
        while date(year, month, 1) <= self.end:
            first, last = date(year, month, 1), _month_end(year, month)
            result.append(Period(f"{year:04d}-{month:02d}", max(first, self.start), min(last, self.end)))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return result


def _month_end(year: int, month: int) -> date:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return following - timedelta(days=1)


def parse_period(text: str) -> Period:
    value = text.strip()
    if match := YEAR_RE.match(value):
        year = _year(match[1], text)
        return Period(value, date(year, 1, 1), date(year, 12, 31))
    if match := QUARTER_RE.match(value):
        year, quarter = _year(match[1], text), int(match[2])
        first_month = 3 * (quarter - 1) + 1
        return Period(f"{year:04d}-Q{quarter}", date(year, first_month, 1), _month_end(year, first_month + 2))
    if match := MONTH_RE.match(value):
        year, month = _year(match[1], text), int(match[2])
        if not 1 <= month <= 12:
            raise SohoaError(f"invalid period {text!r}: month {month} is not 01..12", ExitCode.USAGE)
        return Period(value, date(year, month, 1), _month_end(year, month))
    raise SohoaError(f"invalid period {text!r}: expected {PERIOD_FORMS}, or --from/--to dates",
                     ExitCode.USAGE)


def _year(digits: str, text: str) -> int:
    year = int(digits)
    if year < 1:
        raise SohoaError(f"invalid period {text!r}: no year 0", ExitCode.USAGE)
    return year


def parse_date(text: str, what: str) -> date:
    value = text.strip()
    try:
        if not ISO_DATE_RE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise SohoaError(f"invalid {what} date {text!r}: expected YYYY-MM-DD", ExitCode.USAGE) from None


def period_between(start_text: str, end_text: str) -> Period:
    start, end = parse_date(start_text, "--from"), parse_date(end_text, "--to")
    if start > end:
        raise SohoaError(f"--from {start} is after --to {end}", ExitCode.USAGE)
    return Period(f"{start}..{end}", start, end)


def choose_period(period: str | None, start: str | None, end: str | None, today: date | None = None) -> Period:
    """The CLI's choice: --period, or both --from and --to; neither means the current year."""
    if period and (start or end):
        raise SohoaError("give either --period or --from/--to, not both", ExitCode.USAGE)
    if period:
        return parse_period(period)
    if start or end:
        if not (start and end):
            raise SohoaError("--from and --to go together (both dates are inclusive)", ExitCode.USAGE)
        return period_between(start, end)
    return parse_period(str((today or date.today()).year))
