"""Suggest: the owner's digitised documents a new dossier can reuse instead of asking again.

Attaching one (the write) is the archive's: `sohoa.archive.reuse.reuse`. The dossier registry is
the ratios'; this module does not import it: the caller passes the registry's lookup.
"""

from __future__ import annotations

from collections.abc import Callable

from sohoa.archive.backends import Archive
from sohoa.core import codes
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.search.model import Hit, SearchIndex
from sohoa.search.service import kho


def suggest(archive: Archive, index: SearchIndex, dossier: str | None = None, owner_id: str | None = None,
            registered_owner: Callable[[str], str | None] = lambda dossier: None,
            agencies: list[str] | None = None) -> list[Hit]:
    """The owner's valid documents not yet in the dossier: what staff need not ask for again.

    Without `owner_id`, the owner is the one `registered_owner(dossier)` gives (the registry,
    e.g. `functools.partial(sohoa.ratios.registry.owner_of, catalog)`), else the owner of the
    dossier's records. `agencies` limits the documents to those agencies (None: every agency).
    """
    linked: set[str] = set()
    if dossier:
        dossier = codes.dossier_code(dossier)
        owner_id = owner_id or registered_owner(dossier) or archive.catalog.owner_in_dossier(dossier)
        linked = archive.catalog.records_in_dossier(dossier)
    if not owner_id:
        raise SohoaError("no owner known for this dossier: give --owner-id", ExitCode.USAGE)
    return [hit for hits in kho(index, codes.owner_id(owner_id), agencies=agencies).values() for hit in hits
            if hit.record_id not in linked]
