"""The three renderings of a report: an indented table for people, CSV for spreadsheets, JSON for
programs. All three print the same numbers (CSV and JSON round identically, see `rounded`)."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Final

from sohoa.ratios.indicators import INDICATORS
from sohoa.ratios.report import EXEMPTION_FIELDS, Report, ReportRow

NO_DATA: Final = "no data"
RATE_DIGITS: Final = 6  # a rate to a millionth: enough to recompute numerator ÷ denominator
SCORE_DIGITS: Final = 4
SHORT: Final[dict[str, str]] = {
    "dossier_digitisation": "dossier digitisation", "result_digitisation": "result digitisation",
    "reuse": "reuse", "electronic_results": "electronic results",
}
SUBCOLUMNS: Final = ("n/d", "rate", "target", "score")
LEGEND: Final = ("n/d = numerator/denominator over the agency and its subordinate agencies; "
                  "score in points (full points at or above target); 'no data' = empty denominator.")
GAP: Final = "  "  # cells never hold two spaces in a row, so the table splits back on them


def rounded(row: ReportRow) -> dict:
    """The JSON object of a row, with rates and scores rounded once for JSON and CSV alike."""
    document = row.to_json()
    for indicator in INDICATORS:
        item = document[indicator]
        item["rate"] = None if item["rate"] is None else round(item["rate"], RATE_DIGITS)
        item["score"] = None if item["score"] is None else round(item["score"], SCORE_DIGITS)
    if document["score_total"] is not None:
        document["score_total"] = round(document["score_total"], SCORE_DIGITS)
    return document


def to_json(report: Report) -> str:
    return json.dumps([rounded(row) for row in report.rows], ensure_ascii=False, indent=2)


def csv_header() -> list[str]:
    header = ["agency_code", "agency_name", "level", "parent_code", "depth", "period", "period_start", "period_end"]
    for indicator in INDICATORS:
        header += [f"{indicator}_{part}" for part in ("numerator", "denominator", "rate", "target", "score", "points")]
    return header + ["score_total", "score_max", "below_target", *EXEMPTION_FIELDS]


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(csv_header())
    for row in report.rows:
        document = rounded(row)
        cells = [document[key] for key in ("agency_code", "agency_name", "level", "parent_code", "depth",
                                           "period", "period_start", "period_end")]
        for indicator in INDICATORS:
            item = document[indicator]
            cells += [item["numerator"], item["denominator"], _or_no_data(item["rate"]), item["target"],
                      _or_no_data(item["score"]), item["points"]]
        cells += [_or_no_data(document["score_total"]), document["score_max"],
                  "yes" if document["below_target"] else "no", *(document[name] for name in EXEMPTION_FIELDS)]
        writer.writerow("" if cell is None else cell for cell in cells)
    return out.getvalue()


def _or_no_data(value: float | None) -> float | str:
    return NO_DATA if value is None else value


def percent(value: float | None) -> str:
    return NO_DATA if value is None else f"{value * 100:.1f}%"


def points(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def flag(row: ReportRow) -> str:
    if row.below_target:
        return "below target"
    return "ok" if row.has_data else NO_DATA


def table_cells(row: ReportRow, with_period: bool) -> list[str]:
    cells = ["  " * row.depth + row.agency_code] + ([row.period.label] if with_period else [])
    for indicator in INDICATORS:
        value = row.values[indicator]
        cells += [f"{value.numerator}/{value.denominator}", percent(value.rate),
                  f"{value.target * 100:g}%", points(value.score)]
    total = "-" if row.score_total is None else f"{row.score_total:.1f}/{row.score_max:g}"
    return cells + [total, flag(row), row.agency_name]


def to_table(report: Report) -> str:
    with_period = report.by_month
    header = ["agency"] + (["period"] if with_period else []) + list(SUBCOLUMNS) * len(INDICATORS) + \
        ["score", "flag", "name"]
    body = [table_cells(row, with_period) for row in report.rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    numeric = set(range(1 + with_period, len(header) - 2))  # right-align the numbers

    def line(cells: list[str]) -> str:
        return GAP.join(cell.rjust(w) if i in numeric else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(cells, widths))).rstrip()

    group_line, first = "", 1 + with_period  # each indicator's name above its four columns
    for k, indicator in enumerate(INDICATORS):
        start = len(GAP.join("x" * w for w in widths[:first + 4 * k])) + len(GAP)
        group_line = group_line.ljust(start) + SHORT[indicator]
    lines = [f"QĐ 766 ratios, period {report.period.label} ({report.period.start} to {report.period.end})"
             + (", by month" if report.by_month else ""), "", group_line, line(header)]
    lines += [line(cells) for cells in body]
    lines += ["", LEGEND, exemptions_line(report)]
    return "\n".join(lines)


def counted(report: Report) -> dict[str, int]:
    """The TT 03/2025 Điều 5.2 counts over the whole report: its top rows (depth 0) cover the rest."""
    totals = dict.fromkeys(EXEMPTION_FIELDS, 0)
    for row in report.rows:
        if row.depth == 0:
            for name in EXEMPTION_FIELDS:
                totals[name] += getattr(row.counts, name)
    return totals


def exemptions_line(report: Report) -> str:
    totals = counted(report)
    return (f"TT 03/2025/TT-VPCP art. 5.2: {totals['electronic_components']} components received electronically "
            f"(counted as digitised), {totals['exempted_components']} components exempted from scanning; "
            f"{totals['exempt_dossiers']} dossiers with every component exempted left out of dossier digitisation.")


def parse_table_row(text: str) -> list[str]:
    """The cells of one body line (tests check the table against the JSON with this)."""
    return re.split(r" {2,}", text.strip())
