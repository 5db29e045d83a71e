"""The counting, in SQL: GROUP BY agency over the registry, so a million dossiers never travel to
Python; the roll-up over the hierarchy happens afterwards (report.py).

"Digitised component" = a component record filed in the dossier, a record reused into it (a reuse
link), a component the registry says was received electronically, or any component of a dossier
submitted online (TT 03/2025/TT-VPCP Điều 5.2: nothing to scan); "digitised result" = a result
record filed in the dossier. A dossier without a digitised component whose every component is
exempted from scanning (the registry's per-reason counts reach its component count) is left out of
the dossier-digitisation denominator (`exempt_dossiers`); the electronic and exempted component
counts are summed over the received dossiers so the report can say what it counted. Records, links and
results count as they stand when the report runs, so monthly rows add up to the period.

Two ways to get each dossier's three flags (has a component, has a result record, was reused),
chosen per database because each is the fast one there (measured on 1M dossiers, see the README):
- "probe" (SQLite): correlated EXISTS probes on covering indexes, one query by received date and
  one by result date, each on its own date index. SQLite's index probes are cheap; its hash join
  of a grouped subquery is not.
- "join" (PostgreSQL): the flags of every dossier grouped once from `records` and `reuse_links`,
  hash-joined to the dossiers, all six counts in one pass. PostgreSQL runs EXISTS in a CASE as a
  sub-plan per row, four times slower than this.
The record side of both comes from the archive's query parts (`catalog.filed_in`, `reused_into`,
`filed_flags`, `reused_dossiers`): this module names the registry's columns, never the archive's.
Both give the same counts; the tests run both on both databases. On PostgreSQL a small scope (one
district, one month) still probes: grouping every record costs seconds, a few thousand probes do not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Final

from sohoa.archive import catalog
from sohoa.core.db import Database
from sohoa.core.records import Kind
from sohoa.ratios.indicators import Counts
from sohoa.ratios.models import Dossier
from sohoa.ratios.periods import Period
from sqlalchemy import and_, case, extract, func, literal, not_, or_, select
from sqlalchemy.sql import ColumnElement

ELECTRONIC: Final = "electronic"
STRATEGIES: Final = ("probe", "join")
BY_DIALECT: Final = {"sqlite": "probe", "postgresql": "join"}
# On PostgreSQL, probing costs ~0.4 s (JIT) + 13 µs per dossier in scope, and the join ~1 s per
# million records + 2.5 µs per dossier in scope (bench/ratios_bench.py, 1M of each): they break
# even near 6% of the registry.
PROBE_SHARE: Final = 0.05
RECEIVED_FIELDS: Final = ("received", "dossier_digitised", "reused", "exempt_dossiers", "electronic_components",
                          "exempted_components")
ONLINE: Final = "online"
ISSUED_FIELDS: Final = ("issued", "result_digitised", "electronic")

Key = tuple[str, str | None]  # (agency code, month "YYYY-MM" or None for the whole period)


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _sum(column) -> ColumnElement[int]:
    return func.coalesce(func.sum(column), 0)


def _exempted() -> ColumnElement[int]:
    return Dossier.exempt_desk + Dossier.exempt_verification + Dossier.exempt_secret + Dossier.exempt_other


def _needs_no_scan() -> ColumnElement[bool]:
    """Received electronically, at least one component, or submitted online (TT 03/2025 Điều 5.2)."""
    return or_(Dossier.electronic_components > 0, Dossier.channel == ONLINE)


def _all_exempt() -> ColumnElement[bool]:
    return and_(Dossier.components > 0, _exempted() >= Dossier.components)


def _received_extras(has_component: ColumnElement[bool], when=None) -> list:
    """exempt dossiers, electronic components, exempted components (optionally only `when`)."""
    exempt = and_(not_(has_component), _all_exempt())
    if when is None:
        return [_count(exempt), _sum(Dossier.electronic_components), _sum(_exempted())]
    return [_count(and_(when, exempt)), _sum(case((when, Dossier.electronic_components), else_=0)),
            _sum(case((when, _exempted()), else_=0))]


def _month(date_column) -> list:
    return [extract("year", date_column), extract("month", date_column)]


def _label(year, month) -> str | None:
    # PostgreSQL's EXTRACT gives numeric, SQLite's an integer; NULL when there is no result.
    return None if year is None else f"{int(year):04d}-{int(month):02d}"


def count(database: Database, period: Period, by_month: bool = False, agencies: Iterable[str] | None = None,
          strategy: str | None = None) -> dict[Key, Counts]:
    """Counts per agency (and month) of each agency's own dossiers, before any roll-up.

    `agencies` limits the scan to those agencies (a subtree); None means all.
    """
    scope = [Dossier.in_registry.is_(True)]  # first: choose() counts the whole registry with it
    if agencies is not None:
        scope.append(Dossier.agency_code.in_(sorted(agencies)))
    counts: dict[Key, Counts] = defaultdict(Counts)
    with database.engine.connect() as connection:
        strategy = strategy or choose(connection, period, scope)
        if strategy == "join":
            _join(connection, period, by_month, scope, counts)
        elif strategy == "probe":
            _probe(connection, period, by_month, scope, counts)
        else:
            raise ValueError(f"unknown strategy {strategy!r}: {STRATEGIES}")
    return dict(counts)


def choose(connection, period: Period, scope: list) -> str:
    """The faster strategy for this database and this scope (see the module docstring)."""
    strategy = BY_DIALECT.get(connection.dialect.name, "probe")
    if strategy == "join":
        in_period = or_(Dossier.received_on.between(period.start, period.end),
                        Dossier.result_issued_on.between(period.start, period.end))
        total, in_scope = connection.execute(
            select(func.count(), _count(and_(*scope[1:], in_period))).where(scope[0])).one()
        if (in_scope or 0) < PROBE_SHARE * total:
            strategy = "probe"
    return strategy


def _set(counts: dict[Key, Counts], key: Key, names: tuple[str, ...], values) -> None:
    item = counts[key]
    for name, value in zip(names, values):
        setattr(item, name, getattr(item, name) + int(value or 0))


def _probe(connection, period: Period, by_month: bool, scope: list, counts: dict[Key, Counts]) -> None:
    component_record = catalog.filed_in(Dossier.code, Kind.component)
    reused = catalog.reused_into(Dossier.code)
    result_record = catalog.filed_in(Dossier.code, Kind.result)
    has_component = or_(component_record, reused, _needs_no_scan())
    for date_column, sums, names in (
        (Dossier.received_on,
         [_count(and_(has_component, or_(Dossier.result_issued_on.is_(None), result_record))), _count(reused),
          *_received_extras(has_component)],
         RECEIVED_FIELDS),
        (Dossier.result_issued_on,
         [_count(result_record), _count(or_(Dossier.result_form == ELECTRONIC, result_record))],
         ISSUED_FIELDS),
    ):
        keys = [Dossier.agency_code] + (_month(date_column) if by_month else [])
        statement = (select(*keys, func.count(), *sums)
                     .where(*scope, date_column.between(period.start, period.end)).group_by(*keys))
        for row in connection.execute(statement):
            month = _label(row[1], row[2]) if by_month else None
            _set(counts, (row[0], month), names, row[len(keys):])


def _join(connection, period: Period, by_month: bool, scope: list, counts: dict[Key, Counts]) -> None:
    records = catalog.filed_flags()
    links = catalog.reused_dossiers()
    has_result = records.c.result == literal(1)
    reused = links.c.code.is_not(None)
    # COALESCE: a dossier without records has NULL flags, and NOT (NULL) would not count it as exempt.
    has_component = or_(func.coalesce(records.c.component, 0) == literal(1), reused, _needs_no_scan())
    received = Dossier.received_on.between(period.start, period.end)
    issued = Dossier.result_issued_on.between(period.start, period.end)
    keys = [Dossier.agency_code] + (_month(Dossier.received_on) + _month(Dossier.result_issued_on) if by_month else [])
    statement = (
        select(*keys,
               _count(received), _count(and_(received, has_component,
                                             or_(Dossier.result_issued_on.is_(None), has_result))),
               _count(and_(received, reused)), *_received_extras(has_component, received),
               _count(issued), _count(and_(issued, has_result)),
               _count(and_(issued, or_(Dossier.result_form == ELECTRONIC, has_result))))
        .select_from(Dossier.__table__.outerjoin(records, records.c.code == Dossier.code)
                     .outerjoin(links, links.c.code == Dossier.code))
        .where(*scope, or_(received, issued))
        .group_by(*keys)
    )
    width = len(keys)
    for row in connection.execute(statement):
        agency, values = row[0], row[width:]
        received_month = _label(row[1], row[2]) if by_month else None
        issued_month = _label(row[3], row[4]) if by_month else None
        split = len(RECEIVED_FIELDS)
        if any(values[:split]):  # a dossier counted by its result date only has received-month zeros
            _set(counts, (agency, received_month), RECEIVED_FIELDS, values[:split])
        if any(values[split:]):
            _set(counts, (agency, issued_month), ISSUED_FIELDS, values[split:])
