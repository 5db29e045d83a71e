"""Reporting periods: 2024, 2024-Q1, 2024-03, --from/--to, and the months of --by month."""

from __future__ import annotations

from datetime import date

import pytest
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ratios.periods import choose_period, parse_period, period_between


@pytest.mark.parametrize("text, label, start, end", [
    ("2024", "2024", date(2024, 1, 1), date(2024, 12, 31)),
    ("2024-Q1", "2024-Q1", date(2024, 1, 1), date(2024, 3, 31)),
    ("2024-q4", "2024-Q4", date(2024, 10, 1), date(2024, 12, 31)),
    ("2024-02", "2024-02", date(2024, 2, 1), date(2024, 2, 29)),  # leap year
    ("2023-02", "2023-02", date(2023, 2, 1), date(2023, 2, 28)),
    ("2024-12", "2024-12", date(2024, 12, 1), date(2024, 12, 31)),
    (" 2024-Q2 ", "2024-Q2", date(2024, 4, 1), date(2024, 6, 30)),
])
def test_periods(text, label, start, end):
    period = parse_period(text)
    assert (period.label, period.start, period.end) == (label, start, end)


@pytest.mark.parametrize("text", ["2024-Q5", "2024-Q0", "2024-13", "2024-00", "24", "2024-3", "Q1-2024",
                                  "2024-01-01", "", "năm 2024", "0000"])
def test_bad_periods_are_usage_errors(text):
    with pytest.raises(SohoaError) as caught:
        parse_period(text)
    assert caught.value.exit_code == ExitCode.USAGE and "\n" not in caught.value.message


def test_from_to_inclusive_and_checked():
    period = period_between("2024-01-15", "2024-02-10")
    assert (period.label, period.start, period.end) == ("2024-01-15..2024-02-10", date(2024, 1, 15), date(2024, 2, 10))
    for start, end in (("2024-02-10", "2024-01-15"), ("2024-1-15", "2024-02-10"), ("20240115", "2024-02-10"),
                       ("2024-02-30", "2024-03-01")):
        with pytest.raises(SohoaError) as caught:
            period_between(start, end)
        assert caught.value.exit_code == ExitCode.USAGE


def test_choice_of_period():
    assert choose_period(None, None, None, today=date(2025, 6, 1)).label == "2025"
    assert choose_period("2024-03", None, None).label == "2024-03"
    assert choose_period(None, "2024-01-01", "2024-01-31").end == date(2024, 1, 31)
    for args in (("2024", "2024-01-01", None), (None, "2024-01-01", None), (None, None, "2024-01-31")):
        with pytest.raises(SohoaError):
            choose_period(*args)


def test_months_are_clipped_to_the_period():
    assert [(m.label, m.start, m.end) for m in period_between("2023-12-15", "2024-02-10").months()] == [
        ("2023-12", date(2023, 12, 15), date(2023, 12, 31)),
        ("2024-01", date(2024, 1, 1), date(2024, 1, 31)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 10)),
    ]
    assert len(parse_period("2024").months()) == 12
    assert [m.label for m in parse_period("2024-Q3").months()] == ["2024-07", "2024-08", "2024-09"]
