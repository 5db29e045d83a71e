"""A ratio report: SQL counts per agency, rolled up the hierarchy in Python (an agency's row covers
the agency and all its subordinates), then rates, targets and scores per indicator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sohoa.core.db import Database
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ratios import aggregate, targets
from sohoa.ratios.agencies import AgencyTree, load_tree, require_agency
from sohoa.ratios.indicators import INDICATORS, Counts, IndicatorValue, evaluate
from sohoa.ratios.periods import Period

# What the report counted under TT 03/2025/TT-VPCP Điều 5.2 (over the received dossiers), in JSON and CSV.
EXEMPTION_FIELDS = ("electronic_components", "exempted_components", "exempt_dossiers")


@dataclass(frozen=True)
class ReportRow:
    agency_code: str
    agency_name: str
    level: str
    parent_code: str | None
    depth: int  # below the first agency shown, for the indentation
    period: Period
    counts: Counts
    values: dict[str, IndicatorValue]

    @property
    def below_target(self) -> bool:
        return any(value.below_target for value in self.values.values())

    @property
    def has_data(self) -> bool:
        return any(value.rate is not None for value in self.values.values())

    @property
    def score_total(self) -> float | None:
        scores = [value.score for value in self.values.values() if value.score is not None]
        return sum(scores) if scores else None

    @property
    def score_max(self) -> float:
        return sum(value.points for value in self.values.values() if value.score is not None)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "agency_code": self.agency_code, "agency_name": self.agency_name, "period": self.period.label,
            "period_start": self.period.start.isoformat(), "period_end": self.period.end.isoformat(),
            "level": self.level, "parent_code": self.parent_code, "depth": self.depth,
        }
        for indicator in INDICATORS:
            value = self.values[indicator]
            document[indicator] = {"numerator": value.numerator, "denominator": value.denominator,
                                   "rate": value.rate, "target": value.target, "score": value.score,
                                   "points": value.points}
        document.update(score_total=self.score_total, score_max=self.score_max, below_target=self.below_target)
        document.update({name: getattr(self.counts, name) for name in EXEMPTION_FIELDS})
        return document


@dataclass(frozen=True)
class Report:
    period: Period
    by_month: bool
    rows: list[ReportRow]


def build(catalog: Database, period: Period, agency: str | None = None, depth: int | None = None,
          by_month: bool = False, strategy: str | None = None) -> Report:
    """The rows of a report: from `agency` (default: every top agency) down `depth` levels."""
    tree = load_tree(catalog)
    if not tree.agencies:
        raise SohoaError("no agencies yet: run `sohoa agencies import FILE.csv` first", ExitCode.NOT_FOUND)
    start = [require_agency(tree, agency)] if agency else tree.roots
    shown = list(tree.walk(start, depth))
    effective = targets.effective(catalog, tree)
    # One agency's report needs only its subtree's dossiers (all levels: they roll up into it).
    subtree = [code for code, _ in tree.walk(start)] if agency else None
    own = aggregate.count(catalog, period, by_month, agencies=subtree, strategy=strategy)
    buckets = period.months() if by_month else [period]
    rows = []
    for bucket in buckets:
        month = bucket.label if by_month else None
        totals = roll_up(tree, {code: counts for (code, key), counts in own.items() if key == month})
        for code, depth_shown in shown:
            info = tree.agencies[code]
            values = {indicator: evaluate(totals[code], indicator, effective[code][indicator])
                      for indicator in INDICATORS}
            rows.append(ReportRow(code, info.name, info.level, info.parent_code, depth_shown, bucket, totals[code],
                                  values))
    return Report(period, by_month, rows)


def roll_up(tree: AgencyTree, own: dict[str, Counts]) -> dict[str, Counts]:
    """Each agency's counts plus those of every agency below it (children are added before parents)."""
    totals: dict[str, Counts] = {}
    for code in tree.post_order():
        total = Counts()
        total += own.get(code, Counts())
        for child in tree.children.get(code, []):
            total += totals[child]
        totals[code] = total
    return totals
