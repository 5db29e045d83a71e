"""The four QĐ 766 indicators: their keys, labels, counts, rates and scores (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final, Self

DOSSIER_DIGITISATION: Final = "dossier_digitisation"
RESULT_DIGITISATION: Final = "result_digitisation"
REUSE: Final = "reuse"
ELECTRONIC_RESULTS: Final = "electronic_results"
INDICATORS: Final[tuple[str, ...]] = (DOSSIER_DIGITISATION, RESULT_DIGITISATION, REUSE, ELECTRONIC_RESULTS)

# The 2024 provincial plan (DESIGN.md): ≥ 80% dossiers and results digitised, ≥ 65% reuse,
# 100% electronic results. Fractions, as stored and as reported in JSON.
DEFAULT_TARGETS: Final[dict[str, float]] = {
    DOSSIER_DIGITISATION: 0.80, RESULT_DIGITISATION: 0.80, REUSE: 0.65, ELECTRONIC_RESULTS: 1.00,
}
DEFAULT_POINTS: Final[float] = 100.0

# Chart and table labels, in the words of the QĐ 766 indicator group.
LABELS_VI: Final[dict[str, str]] = {
    DOSSIER_DIGITISATION: "Tỷ lệ số hóa hồ sơ",
    RESULT_DIGITISATION: "Tỷ lệ số hóa kết quả giải quyết",
    REUSE: "Tỷ lệ tái sử dụng dữ liệu số hóa",
    ELECTRONIC_RESULTS: "Tỷ lệ trả kết quả điện tử",
}


@dataclass
class Counts:
    """Numerators and denominators of one agency (or subtree) in one period; they add up."""

    received: int = 0  # dossiers received in the period
    dossier_digitised: int = 0  # … with ≥ 1 digitised component and, if a result was issued, a digitised result
    # (a digitised component: a record filed or reused, one received electronically, or an online dossier)
    reused: int = 0  # … with ≥ 1 component reused from already-digitised data
    exempt_dossiers: int = 0  # … with nothing to scan (every component exempted, TT 03/2025 Điều 5.2)
    electronic_components: int = 0  # components of the received dossiers that arrived electronically
    exempted_components: int = 0  # … and those exempted from scanning (any reason)
    issued: int = 0  # dossiers with a result issued in the period
    result_digitised: int = 0  # … that have a digitised result record
    electronic: int = 0  # … whose result form is electronic or whose result is digitised

    def __iadd__(self, other: Counts) -> Self:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))
        return self

    def fraction(self, indicator: str) -> tuple[int, int]:
        """(numerator, denominator) of an indicator."""
        return {
            DOSSIER_DIGITISATION: (self.dossier_digitised, self.received - self.exempt_dossiers),
            RESULT_DIGITISATION: (self.result_digitised, self.issued),
            REUSE: (self.reused, self.received),
            ELECTRONIC_RESULTS: (self.electronic, self.issued),
        }[indicator]


@dataclass(frozen=True)
class Target:
    target: float  # fraction 0..1
    points: float


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator of one agency: rate and score are None when the denominator is empty ("no data")."""

    numerator: int
    denominator: int
    rate: float | None
    target: float
    points: float
    score: float | None

    @property
    def below_target(self) -> bool:
        return self.rate is not None and self.rate < self.target


def rate(numerator: int, denominator: int) -> float | None:
    """An empty denominator is "no data", never 0% or 100%."""
    return None if denominator == 0 else numerator / denominator


def score(value: float | None, target: Target) -> float | None:
    """Full points if the rate reaches the target, else rate × points ÷ target."""
    if value is None:
        return None
    if value >= target.target:  # also covers a target of 0: nothing to divide by
        return target.points
    return value * target.points / target.target


def evaluate(counts: Counts, indicator: str, target: Target) -> IndicatorValue:
    numerator, denominator = counts.fraction(indicator)
    value = rate(numerator, denominator)
    return IndicatorValue(numerator, denominator, value, target.target, target.points, score(value, target))
