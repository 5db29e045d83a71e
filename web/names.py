"""Names instead of codes on every page (issue #18): document types from the extraction catalogue,
agencies from the agency tree, procedures from the procedure catalogue, people by their full name.

One `Names` per rendered page, handed to the templates as `names`: each catalogue is read at most
once per page and only if the page asks for it. Forms keep sending codes; these are what people read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from sohoa.core.db import Database

SYSTEM_AGENTS: Final[dict[str, str]] = {  # who did it, when it was not a person of the users table
    "hot-folder": "Thư mục quét tự động", "cli": "Dòng lệnh (quản trị)", "sohoa": "Hệ thống sohoa",
    "worker": "Tiến trình xử lý", "test": "Kiểm thử",
}


@lru_cache(maxsize=1)
def doc_type_names() -> dict[str, str]:
    """The document-type catalogue shipped with extraction (read once per process)."""
    from sohoa.ingest.describe import type_names

    return type_names()


@dataclass
class Names:
    catalog: Database
    _agencies: dict | None = field(default=None, repr=False)
    _procedures: dict | None = field(default=None, repr=False)
    _people: dict[str, str] | None = field(default=None, repr=False)

    # --- what a page shows -----------------------------------------------------------------------

    def doc_type(self, code: str | None) -> str:
        return doc_type_names().get(code or "", code or "")

    def agency(self, code: str | None) -> str:
        row = self.agencies().get(code or "")
        return row.name if row is not None and row.name else (code or "")

    def procedure(self, code: str | None) -> str:
        row = self.procedures().get(code or "")
        return f"{row.name} ({code})" if row is not None else (code or "")

    def person(self, username: str | None) -> str:
        name = (username or "").split(" (")[0]  # "quet.a (web)": the login, then how
        if self._people is None:
            from sohoa.web import accounts

            self._people = {u.username: u.full_name for u in accounts.list_users(self.catalog)}
        return self._people.get(name) or SYSTEM_AGENTS.get(name, username or "")

    # --- the catalogues behind the drop-downs ----------------------------------------------------

    def agencies(self) -> dict:
        if self._agencies is None:
            from sohoa.ratios.agencies import load_tree

            self._agencies = load_tree(self.catalog).agencies
        return self._agencies

    def agency_choices(self, allowed: frozenset[str] | None = None) -> list[tuple[str, str]]:
        """(code, name) of the agencies a user may pick, in tree order."""
        from sohoa.ratios.agencies import AgencyTree

        tree = AgencyTree(dict(self.agencies()))
        return [(code, "— " * depth + (tree.agencies[code].name or code)) for code, depth in tree.walk(tree.roots)
                if allowed is None or code in allowed]

    def procedures(self) -> dict:
        if self._procedures is None:
            from sohoa.ratios.procedures import load_procedures

            self._procedures = load_procedures(self.catalog)
        return self._procedures

    def procedure_choices(self) -> list[tuple[str, str]]:
        return [(row.code, f"{row.name}" + (f" — {row.field}" if row.field else "")) for row in self.procedures().values()]

    def doc_type_choices(self) -> list[tuple[str, str]]:
        return sorted(doc_type_names().items(), key=lambda item: item[1])
