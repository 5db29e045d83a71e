"""Per-agency targets and points: set by `sohoa targets set`, inherited from the parent agency,
then from the default row (agency "*"), then from the 2024 plan (80 / 80 / 65 / 100 %, 100 points)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from sohoa.core.db import Database
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ratios.agencies import AgencyTree
from sohoa.ratios.indicators import DEFAULT_POINTS, DEFAULT_TARGETS, INDICATORS, Target
from sohoa.ratios.models import RatioTarget
from sqlalchemy import select

ALL_AGENCIES: Final = "*"  # the row every root agency inherits from
PERCENT_RE: Final = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*%?\s*$")


def parse_percent(text: str, option: str) -> float:
    """'80', '80%' or '80,5' → 0.8 / 0.805 (a fraction, as stored)."""
    match = PERCENT_RE.match(text)
    value = float(match[1].replace(",", ".")) if match else -1.0
    if not 0 <= value <= 100:
        raise SohoaError(f"invalid {option} {text!r}: expected a percentage 0..100, e.g. 80 or 80%", ExitCode.USAGE)
    return value / 100


def set_targets(catalog: Database, agency: str | None, targets: Mapping[str, float | None],
                points: Mapping[str, float | None]) -> None:
    """Store the given values for the agency (None = every agency's default); None values inherit."""
    key = agency or ALL_AGENCIES
    with catalog.session() as session, session.begin():
        for indicator in INDICATORS:
            if indicator not in targets and indicator not in points:
                continue
            row = session.get(RatioTarget, (key, indicator))
            target = targets.get(indicator, row.target if row else None)
            points_ = points.get(indicator, row.points if row else None)
            if target is None and points_ is None:  # nothing of its own left: inherit everything
                if row is not None:
                    session.delete(row)
            elif row is None:
                session.add(RatioTarget(agency_code=key, indicator=indicator, target=target, points=points_))
            else:
                row.target, row.points = target, points_


def stored(catalog: Database) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    with catalog.session() as session:
        return {(row.agency_code, row.indicator): (row.target, row.points)
                for row in session.scalars(select(RatioTarget))}


def effective(catalog: Database, tree: AgencyTree) -> dict[str, dict[str, Target]]:
    """agency → indicator → the target and points that apply, after inheritance."""
    own = stored(catalog)
    base = {indicator: _override(Target(DEFAULT_TARGETS[indicator], DEFAULT_POINTS),
                                 own.get((ALL_AGENCIES, indicator)))
            for indicator in INDICATORS}
    result: dict[str, dict[str, Target]] = {ALL_AGENCIES: base}
    for code, _ in tree.walk(tree.roots):  # pre-order: a parent is resolved before its children
        parent = tree.agencies[code].parent_code
        inherited = result.get(parent, base)
        result[code] = {indicator: _override(inherited[indicator], own.get((code, indicator)))
                        for indicator in INDICATORS}
    return result


def _override(inherited: Target, own: tuple[float | None, float | None] | None) -> Target:
    if own is None:
        return inherited
    target, points = own
    return Target(inherited.target if target is None else target, inherited.points if points is None else points)


def change(catalog: Database, agency: str | None, percents: Mapping[str, str | None], points: float | None,
           inherit: bool, option_names: Mapping[str, str]) -> str:
    """`sohoa targets set`: the given percentages (text, per indicator) and points, or `inherit` to
    drop the agency's own values. Returns the agency row changed (ALL_AGENCIES for the default)."""
    from sohoa.ratios.agencies import load_tree, require_agency

    named = [indicator for indicator in INDICATORS if percents.get(indicator) is not None]
    if inherit and (named or points is not None):
        raise SohoaError("--inherit drops every value of its own: give it without targets or --points",
                         ExitCode.USAGE)
    if not inherit and not named and points is None:
        raise SohoaError("nothing to set: give a target such as --reuse 70, --points N, or --inherit",
                         ExitCode.USAGE)
    code = require_agency(load_tree(catalog), agency) if agency else None
    if inherit:
        new_targets = new_points = {indicator: None for indicator in INDICATORS}
    else:
        new_targets = {indicator: parse_percent(str(percents[indicator]), option_names[indicator])
                       for indicator in named}
        new_points = {indicator: points for indicator in (named or INDICATORS)} if points is not None else {}
    set_targets(catalog, code, new_targets, new_points)
    return code or ALL_AGENCIES


def table(catalog: Database, tree: AgencyTree, codes: list[str]) -> list[tuple[str, list[str]]]:
    """(agency label, one "target / points" cell per indicator); `*` marks a value set on the agency
    itself rather than inherited."""
    in_force = effective(catalog, tree)
    own = stored(catalog)
    rows = []
    for code in codes:
        cells = []
        for indicator in INDICATORS:
            target = in_force[code][indicator]
            mark = "*" if (code, indicator) in own else " "
            cells.append(f"{target.target * 100:g}% / {target.points:g} pts{mark}")
        rows.append(("(all agencies)" if code == ALL_AGENCIES else code, cells))
    return rows
