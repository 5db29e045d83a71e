"""The agency hierarchy: `sohoa agencies import` (CSV `code,name,parent_code,level`) and the tree
the ratios roll up over."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from sohoa.core import codes
from sohoa.core.db import Database
from sohoa.core.errors import ExitCode, InvalidCode, SohoaError
from sohoa.core.hierarchy import subtree
from sohoa.ratios.csvinput import ImportReport, RowError, read_text, rows, validated_rows
from sohoa.ratios.models import Agency
from sqlalchemy import select

COLUMNS: Final = ("code", "name", "parent_code", "level")
LEVELS: Final = ("province", "department", "district", "commune")
NAME_MAX: Final = 300  # the catalog column


@dataclass(frozen=True)
class AgencyRow:
    code: str
    name: str
    parent_code: str | None
    level: str


@dataclass
class AgencyTree:
    """Agencies by code with their children, sorted by code so reports are stable."""

    agencies: dict[str, AgencyRow]
    children: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for agency in sorted(self.agencies.values(), key=lambda a: a.code):
            if agency.parent_code in self.agencies:
                self.children.setdefault(agency.parent_code, []).append(agency.code)

    @property
    def roots(self) -> list[str]:
        return sorted(code for code, agency in self.agencies.items() if agency.parent_code not in self.agencies)

    def walk(self, start: Iterable[str], max_depth: int | None = None) -> Iterator[tuple[str, int]]:
        """(code, depth) in pre-order below each start agency, down to max_depth (0 = the start only)."""
        stack = [(code, 0) for code in reversed(list(start))]
        while stack:
            code, depth = stack.pop()
            yield code, depth
            if max_depth is None or depth < max_depth:
                stack.extend((child, depth + 1) for child in reversed(self.children.get(code, [])))

    def post_order(self) -> list[str]:
        """Every agency after all of its descendants: the order a roll-up adds counts in."""
        return [code for code, _ in self.walk(self.roots)][::-1]


def load_tree(catalog: Database) -> AgencyTree:
    with catalog.session() as session:
        found = session.execute(select(Agency.code, Agency.name, Agency.parent_code, Agency.level)).all()
    return AgencyTree({code: AgencyRow(code, name, parent, level) for code, name, parent, level in found})


def subordinates(catalog: Database, code: str) -> list[str]:
    """The agency and every agency below it: what a search filter or an upload scope covers."""
    with catalog.session() as session:
        pairs = session.execute(select(Agency.code, Agency.parent_code)).all()
    return subtree(pairs, code)


def _validate(cells: dict[str, str]) -> AgencyRow:
    code = codes.agency_code(cells["code"])
    parent = codes.agency_code(cells["parent_code"]) if cells["parent_code"] else None
    if parent == code:
        raise InvalidCode(f"agency {code} cannot be its own parent")
    if not cells["name"]:
        raise InvalidCode("empty name")
    if len(cells["name"]) > NAME_MAX:
        raise InvalidCode(f"name longer than {NAME_MAX} characters")
    level = cells["level"].lower()
    if level not in LEVELS:
        raise InvalidCode(f"invalid level {cells['level']!r}: expected {' | '.join(LEVELS)}")
    return AgencyRow(code, " ".join(cells["name"].split()), parent, level)


def import_agencies(catalog: Database, path: Path) -> ImportReport:
    return upsert_agencies(catalog, rows(read_text(path), COLUMNS, str(path)))


def upsert_agencies(catalog: Database, lines: Iterable[tuple[int, dict[str, str] | RowError]]) -> ImportReport:
    """Insert or update agencies; a row is refused with its line number and reason, the others go in."""
    report = ImportReport()
    candidates = validated_rows(lines, _validate, lambda agency: agency.code, "agency", report)
    existing = load_tree(catalog).agencies
    accepted = _acyclic(candidates, existing, report)
    with catalog.session() as session, session.begin():
        # Parents first: the self-referencing foreign key is checked on every insert.
        for code in sorted(accepted, key=lambda c: _depth(c, accepted, existing)):
            agency = accepted[code]
            row = session.get(Agency, code)
            if row is None:
                session.add(Agency(code=code, name=agency.name, parent_code=agency.parent_code, level=agency.level))
                report.inserted += 1
            else:
                row.name, row.parent_code, row.level = agency.name, agency.parent_code, agency.level
                report.updated += 1
            session.flush()
    report.rejected.sort(key=lambda error: error.line)
    return report


def _acyclic(candidates: dict[str, tuple[int, AgencyRow]], existing: dict[str, AgencyRow],
             report: ImportReport) -> dict[str, AgencyRow]:
    """Drop rows that would close a loop, then rows whose parent is unknown, until a forest is left."""
    accepted = {code: agency for code, (_, agency) in candidates.items()}
    looping = [code for code in sorted(accepted) if _in_loop(code, accepted, existing)]
    for code in looping:
        report.rejected.append(RowError(candidates[code][0],
                                        f"parent {accepted[code].parent_code} would make a loop in the hierarchy"))
    for code in looping:
        del accepted[code]
    changed = True
    while changed:  # a rejected parent takes its children with it, level by level
        changed = False
        for code in sorted(accepted):
            parent = accepted[code].parent_code
            if parent and parent not in accepted and parent not in existing:
                reason = (f"parent {parent} was rejected" if parent in candidates
                          else f"parent {parent} is not a known agency")
                report.rejected.append(RowError(candidates[code][0], reason))
                del accepted[code]
                changed = True
    return accepted


def _parent(code: str, accepted: dict[str, AgencyRow], existing: dict[str, AgencyRow]) -> str | None:
    agency = accepted.get(code) or existing.get(code)
    return agency.parent_code if agency else None


def _in_loop(code: str, accepted: dict[str, AgencyRow], existing: dict[str, AgencyRow]) -> bool:
    """Whether the parent chain comes back to `code` (a loop above it is its members' problem)."""
    seen, current = set(), _parent(code, accepted, existing)
    while current is not None and current not in seen:
        if current == code:
            return True
        seen.add(current)
        current = _parent(current, accepted, existing)
    return False


def _depth(code: str, accepted: dict[str, AgencyRow], existing: dict[str, AgencyRow]) -> int:
    depth, current = 0, _parent(code, accepted, existing)
    while current is not None:
        depth, current = depth + 1, _parent(current, accepted, existing)
    return depth


def require_agency(tree: AgencyTree, code: str) -> str:
    code = codes.agency_code(code)
    if code not in tree.agencies:
        raise SohoaError(f"no agency {code}: import it with `sohoa agencies import`", ExitCode.NOT_FOUND)
    return code
