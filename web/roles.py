"""The four roles and the permissions each grants (issue #7 "Access control").

One role per user keeps the admin screen simple; `admin` holds every permission so a small
office can run with a single administrator account.
"""

from __future__ import annotations

from typing import Final

SCANNER: Final = "scanner"  # uploads scans for their own agency (and its subordinate agencies)
OFFICIAL: Final = "official"  # searches, views, downloads and reuses records; imports the registry
LEADER: Final = "leader"  # watches the ratio dashboard; may look records up
ADMIN: Final = "admin"  # users, agencies, targets; and everything else
ROLES: Final[tuple[str, ...]] = (SCANNER, OFFICIAL, LEADER, ADMIN)

UPLOAD: Final = "upload"
SEARCH: Final = "search"  # search, Kho, record page, downloads
REUSE: Final = "reuse"
JOBS: Final = "jobs"
RATIOS: Final = "ratios"
REGISTRY: Final = "registry"  # the one-stop system pushing its dossier registry
MANAGE: Final = "manage"  # users, agencies, targets, audit log

GRANTS: Final[dict[str, frozenset[str]]] = {
    SCANNER: frozenset({UPLOAD, JOBS}),
    OFFICIAL: frozenset({SEARCH, REUSE, JOBS, REGISTRY}),
    LEADER: frozenset({SEARCH, JOBS, RATIOS}),
    ADMIN: frozenset({UPLOAD, SEARCH, REUSE, JOBS, RATIOS, REGISTRY, MANAGE}),
}

LABELS_VI: Final[dict[str, str]] = {
    SCANNER: "Cán bộ số hóa",
    OFFICIAL: "Cán bộ tiếp nhận, giải quyết",
    LEADER: "Lãnh đạo",
    ADMIN: "Quản trị hệ thống",
}


def allows(role: str, permission: str) -> bool:
    return permission in GRANTS.get(role, frozenset())
