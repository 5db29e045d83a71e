"""What a principal may see and write: their agency and the agencies below it (issue #13, 1-2).

One place decides, for the web pages, the API, API tokens (same scope as their user) and the CLI
run `--as USER`:

- Scanners, officials and leaders see records of their agency's subtree; admins see everything; a
  user without an agency sees nothing. A record outside the scope does not exist for them (404).
- A citizen's Kho crosses agencies only for a purpose: a dossier of the user's own subtree whose
  registered owner (the one-stop registry) is that citizen. Then the citizen's valid documents of
  every agency are shown, and may be reused into that dossier; the caller audits it with the code.
- Writes (uploads, reuse, registry rows) name a dossier of the user's subtree: the agency in the
  dossier code and, when the registry holds the dossier, its registered agency.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Final

from sohoa.core import codes
from sohoa.core.db import Database
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ratios.agencies import subordinates
from sohoa.ratios.csvinput import RowError
from sohoa.ratios.models import Dossier
from sohoa.web import roles
from sohoa.web.accounts import Principal, get_user
from sqlalchemy import select

NOT_FOUND_VI: Final = "Không có bản ghi {0!r} trong kho."


class OutOfScope(SohoaError):
    """A write outside the user's agency subtree (the web answers 403, the CLI exits REFUSED)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.REFUSED)


@dataclass(frozen=True)
class Scope:
    """The agencies a principal may see; `agencies is None` means every agency (admin)."""

    agencies: frozenset[str] | None
    home: str | None = None  # the user's own agency (for messages)

    @property
    def everything(self) -> bool:
        return self.agencies is None

    def covers(self, agency_code: str | None) -> bool:
        return self.agencies is None or (agency_code is not None and agency_code in self.agencies)

    def as_list(self) -> list[str] | None:
        """For search filters: None = no filter; [] = nothing may be shown."""
        return None if self.agencies is None else sorted(self.agencies)

    def describe(self) -> str:
        return "mọi cơ quan" if self.agencies is None else f"cơ quan {self.home or '(chưa gán)'} và các đơn vị trực thuộc"


EVERYTHING: Final = Scope(None)


def scope_of(catalog: Database, principal: Principal | None) -> Scope:
    """None (the CLI without --as: the machine's administrator) and admins see everything."""
    limited = getattr(principal, "token_agencies", ())
    if limited:  # a machine token limited to some agencies: those subtrees, within its user's scope
        within = scope_of(catalog, replace(principal, token_agencies=()))
        allowed = frozenset(code for agency in limited for code in subordinates(catalog, agency))
        return Scope(allowed if within.agencies is None else allowed & within.agencies, limited[0])
    if principal is None or principal.role == roles.ADMIN:
        return EVERYTHING
    if not principal.agency_code:
        return Scope(frozenset())
    return Scope(frozenset(subordinates(catalog, principal.agency_code)), principal.agency_code)


def principal_for(catalog: Database, username: str) -> Principal:
    """The CLI's `--as USER`: that user's principal (an unknown or disabled user is a usage error)."""
    user = get_user(catalog, username.strip().lower())
    if user is None or not user.active:
        raise SohoaError(f"--as {username}: no such active user (see sohoa users list)", ExitCode.USAGE)
    return Principal(user.username, user.full_name, user.role, user.agency_code, "cli")


def visible(scope: Scope, agency_code: str | None) -> bool:
    return scope.covers(agency_code)


def hidden(record_id: str) -> SohoaError:
    """What a record outside the scope looks like: exactly what a missing one looks like."""
    return SohoaError(NOT_FOUND_VI.format(record_id), ExitCode.NOT_FOUND)


def code_agency(dossier_code: str) -> str:
    """The agency part of a dossier code `<agency>-YYMMDD-NNNN` (or of a result code)."""
    return dossier_code.split("-", 1)[0]


def registered(catalog: Database, dossier_code: str) -> tuple[str, str | None] | None:
    """(agency, owner) the registry holds for the dossier; None when it has no such dossier. The
    owner counts only on rows the registry import wrote (`in_registry`), never on bare old rows."""
    with catalog.session() as session:
        row = session.execute(select(Dossier.agency_code, Dossier.owner_id, Dossier.in_registry)
                              .where(Dossier.code == dossier_code)).first()
    return (row[0], row[1] if row[2] else None) if row else None


def dossier_in_scope(catalog: Database, scope: Scope, dossier_code: str) -> bool:
    if scope.everything:
        return True
    if not scope.covers(code_agency(dossier_code)):
        return False
    found = registered(catalog, dossier_code)
    return found is None or scope.covers(found[0])


def check_dossier(catalog: Database, scope: Scope, dossier: str) -> str:
    """The normalised dossier code, if the scope may write into it; OutOfScope otherwise."""
    code = codes.dossier_code(dossier)
    if not dossier_in_scope(catalog, scope, code):
        raise OutOfScope(f"Hồ sơ {code} không thuộc {scope.describe()}: không được ghi vào hồ sơ này.")
    return code


def purpose(catalog: Database, scope: Scope, owner_id: str, dossier: str | None) -> str | None:
    """The dossier that lets this scope see `owner_id`'s documents of every agency, or None.

    It must be a dossier of the scope (code and registered agency) whose registered owner is
    `owner_id`: an official handling that citizen's dossier."""
    if not dossier or not dossier.strip():
        return None
    try:
        code = codes.dossier_code(dossier)
    except SohoaError:
        return None
    found = registered(catalog, code)
    if found is None or found[1] != owner_id:
        return None
    return code if scope.covers(code_agency(code)) and scope.covers(found[0]) else None


def kho_agencies(catalog: Database, scope: Scope, owner_id: str, dossier: str | None) -> tuple[list[str] | None, str | None]:
    """(the agencies filter of the owner's Kho, the purpose dossier when it crosses agencies)."""
    bound = purpose(catalog, scope, owner_id, dossier)
    if bound is not None:
        return None, bound
    return scope.as_list(), None


def may_reuse(catalog: Database, scope: Scope, record_agency: str | None, record_owner: str | None,
              dossier_code: str) -> bool:
    """Reading side of a reuse: the record is in scope, or the dossier is the purpose for its owner."""
    if scope.covers(record_agency):
        return True
    return bool(record_owner) and purpose(catalog, scope, str(record_owner), dossier_code) is not None


def scoped_rows(catalog: Database, scope: Scope, lines: Iterable[tuple[int, Mapping | RowError]]
                ) -> Iterator[tuple[int, Mapping | RowError]]:
    """Registry rows (line, cells) with those for agencies outside the scope turned into rejections:
    the row's agency, the agency in its dossier code and, for a dossier the registry already holds,
    its registered agency must all be in the subtree. Malformed codes pass on: the registry's own
    validation rejects them with its reason."""
    for line, cells in lines:
        if scope.everything or isinstance(cells, RowError):
            yield line, cells
            continue
        outside = _row_outside(catalog, scope, cells)
        yield (line, RowError(line, outside)) if outside else (line, cells)


def _row_outside(catalog: Database, scope: Scope, cells: Mapping) -> str | None:
    try:
        agency = codes.agency_code(str(cells.get("agency_code") or ""))
        dossier = codes.dossier_code(str(cells.get("dossier_code") or ""))
    except SohoaError:
        return None
    for code in (agency, code_agency(dossier)):
        if not scope.covers(code):
            return f"cơ quan {code} ngoài phạm vi {scope.describe()} (agency outside your scope)"
    found = registered(catalog, dossier)
    if found is not None and not scope.covers(found[0]):
        return f"hồ sơ {dossier} thuộc cơ quan {found[0]}, ngoài phạm vi của bạn (dossier of another agency)"
    return None


def shows_dossier(scope: Scope, dossier_code: str) -> bool:
    """Whether a dossier code may be named to this scope (e.g. where a record was reused)."""
    return scope.covers(code_agency(dossier_code))


def redact(scope: Scope, metadata: dict) -> dict:
    """A record's metadata as this scope may read it: the dossiers of other agencies it was reused
    in are left out (a record shown through a purpose dossier does not tell where else it went)."""
    reused = metadata.get("reused_in") if isinstance(metadata, dict) else None
    if scope.everything or not reused:
        return metadata
    return {**metadata, "reused_in": [code for code in reused if shows_dossier(scope, str(code))]}
