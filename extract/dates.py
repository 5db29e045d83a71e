"""Dates as Vietnamese documents print them, to ISO: "ngày 15 tháng 10 năm 2018", "15/10/2018", "05-3-2024".

Impossible dates (31/02) and years outside 1900..next year (a validity end: up to 100 years ahead) are no date: a wrong date proposed
with confidence is worse than none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# On folded text (see text.fold): OCR may drop the marks of "ngày", "tháng", "năm".
_WORDS = re.compile(r"ngay\W{0,3}(\d{1,2})\W{0,4}thang\W{0,3}(\d{1,2})\W{0,4}nam\W{0,3}(\d{4})(?!\d)")
_NUMERIC = re.compile(r"(?<![\d/])(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})(?!\d)")


@dataclass(frozen=True)
class FoundDate:
    value: date
    start: int  # character offsets in the folded text
    end: int
    spelled: bool  # "ngày … tháng … năm …" (stronger than digits alone)


def make_date(day: int, month: int, year: int, latest_year: int | None = None) -> date | None:
    latest = latest_year if latest_year is not None else date.today().year + 1
    if not 1900 <= year <= latest:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def find_dates(folded: str, latest_year: int | None = None) -> list[FoundDate]:
    """Every valid date in a folded line, left to right (an expiry date may pass `latest_year`)."""
    folded = folded.replace("ø", "0")  # a slashed zero read as the Danish letter
    found = []
    for pattern, spelled in ((_WORDS, True), (_NUMERIC, False)):
        for m in pattern.finditer(folded):
            value = make_date(int(m[1]), int(m[2]), int(m[3]), latest_year)
            if value is not None:
                found.append(FoundDate(value, m.start(), m.end(), spelled))
    return sorted(found, key=lambda f: f.start)


def add_months(start: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has fewer days)."""
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise ValueError(start)
