"""The four roles and the permissions each grants (issue #7 "Access control").

One role per user keeps the admin screen simple; `admin` holds every permission so a small
office can run with a single administrator account.
"""

from __future__ import annotations

import re
from typing import Final

SCANNER: Final = "scanner"  # uploads scans for their own agency (and its subordinate agencies)
OFFICIAL: Final = "official"  # searches, views, downloads and reuses records; imports the registry
LEADER: Final = "leader"  # watches the ratio dashboard; may look records up
ADMIN: Final = "admin"  # users, agencies, targets; and everything else
ROLES: Final[tuple[str, ...]] = (SCANNER, OFFICIAL, LEADER, ADMIN)

UPLOAD: Final = "upload"
SEARCH: Final = "search"  # search, Kho, record page, downloads
BROWSE: Final = "browse"  # the document list and the search page of the agency subtree: codes, titles, types, dates
REUSE: Final = "reuse"
JOBS: Final = "jobs"
RATIOS: Final = "ratios"
REGISTRY: Final = "registry"  # the one-stop system pushing its dossier registry
MANAGE: Final = "manage"  # users, agencies, targets, audit log
DOSSIERS: Final = "dossiers"  # a dossier's page and its API view (components, results, reuse, the owner's Kho)

# Not a role a person holds: an API token made with `sohoa users token NAME --machine` acts with these
# grants (the one-stop system pushing dossiers and reading them back), only on the dossier endpoints
# below and only for its agencies. Everything else is a 403.
MACHINE: Final = "machine"
MACHINE_PATHS: Final = re.compile(r"^/api/dossiers(/(?!import$)[^/]+(/result)?)?$")

GRANTS: Final[dict[str, frozenset[str]]] = {
    SCANNER: frozenset({UPLOAD, JOBS, BROWSE}),  # BROWSE: what is digitised already, not to scan it twice
    OFFICIAL: frozenset({SEARCH, BROWSE, REUSE, JOBS, REGISTRY, DOSSIERS}),
    LEADER: frozenset({SEARCH, BROWSE, JOBS, RATIOS, DOSSIERS}),
    ADMIN: frozenset({UPLOAD, SEARCH, BROWSE, REUSE, JOBS, RATIOS, REGISTRY, MANAGE, DOSSIERS}),
    MACHINE: frozenset({REGISTRY, DOSSIERS}),
}

LABELS_VI: Final[dict[str, str]] = {
    SCANNER: "Cán bộ số hóa",
    OFFICIAL: "Cán bộ tiếp nhận, giải quyết",
    LEADER: "Lãnh đạo",
    ADMIN: "Quản trị hệ thống",
    MACHINE: "Hệ thống kết nối (token máy)",
}


def allows(role: str, permission: str) -> bool:
    return permission in GRANTS.get(role, frozenset())


def machine_may_call(path: str) -> bool:
    """The endpoints a machine token may call: POST/GET /api/dossiers[/{code}[/result]] (not the import)."""
    return bool(MACHINE_PATHS.match(path))
