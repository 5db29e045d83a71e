"""What the command groups share: the path argument type, dates, and opening the archive, catalog or index.

Every opener imports lazily, so `sohoa ocr` and `sohoa --help` start without SQLAlchemy or a search client.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import click

from sohoa.core.errors import ExitCode, SohoaError

if TYPE_CHECKING:
    from sohoa.archive.backends import Archive
    from sohoa.archive.catalog import Catalog, Record
    from sohoa.core.settings import Settings
    from sohoa.search.model import SearchIndex

PathArg = click.Path(path_type=Path)


def open_archive(settings: "Settings | None" = None) -> "Archive":
    """The configured archive: catalog and object store (migrated on first open)."""
    from sohoa.archive.backends import open_archive as open_configured

    return open_configured(settings)


def open_catalog() -> "Catalog":
    """The catalog alone, for the commands that never touch the object store (users, audit, ratios)."""
    from sohoa.archive.backends import database_url
    from sohoa.archive.catalog import Catalog
    from sohoa.core.settings import get_settings

    return Catalog(database_url(get_settings()))


def open_index() -> "SearchIndex":
    """The configured search index (embedded or Elasticsearch)."""
    from sohoa.search.backends import open_configured_index

    return open_configured_index()


def find_record(archive: "Archive", id_or_code: str) -> "Record":
    """The record with this id or code, or a NOT_FOUND error."""
    record = archive.catalog.record(id_or_code)
    if record is None:
        raise SohoaError(f"no record {id_or_code!r}", ExitCode.NOT_FOUND)
    return record


def parse_date(value: Optional[str]) -> Optional[date]:
    """A YYYY-MM-DD option value, or a USAGE error."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SohoaError(f"invalid date {value!r}: expected YYYY-MM-DD", ExitCode.USAGE) from None


def acting_user(catalog, as_user: str, permission: str, doing: str):
    """`--as USER`: the web user the command acts as, refused (exit 18) when their role may not do
    `doing` (e.g. "view records"), as the web would refuse them."""
    from sohoa.web import scope

    principal = scope.principal_for(catalog, as_user)
    if not principal.can(permission):
        raise SohoaError(f"--as {principal.username}: role {principal.role} may not {doing}", ExitCode.REFUSED)
    return principal
