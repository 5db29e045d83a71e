"""Reuse: attach an already-digitised record to a new dossier instead of asking the citizen again.

Every reuse writes a `reused` event (into storage, so a rebuilt catalog keeps the link, and into
the catalog) and a reuse link the ratios of issue #6 count. Finding what can be reused is the
search side's job (`sohoa.search.reuse.suggest`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sohoa
from sohoa.archive import catalog_write, records
from sohoa.archive.backends import Archive
from sohoa.core import codes
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.records import Event, RecordMetadata


@dataclass
class ReuseOutcome:
    record_id: str
    record_code: str
    dossier_code: str
    already_linked: bool


def reuse(archive: Archive, record_id: str, dossier: str, by: str, today: date | None = None) -> ReuseOutcome:
    """Link the record to the dossier once; refuse (REFUSED) a document that has expired."""
    dossier = codes.dossier_code(dossier)
    record = archive.catalog.record(record_id)
    if record is None:
        raise SohoaError(f"no record {record_id!r}", ExitCode.NOT_FOUND)
    today = today or date.today()
    if record.valid_until and record.valid_until < today:
        raise SohoaError(
            f"{record.code}: hết hiệu lực từ {record.valid_until:%d/%m/%Y} (expired on {record.valid_until}); "
            "ask the citizen for a valid document", ExitCode.REFUSED)
    if archive.catalog.reuse_link(record.id, dossier) is not None:
        return ReuseOutcome(record.id, record.code, dossier, True)
    event = Event(record_id=record.id, action="reused", agent=by, tool="sohoa reuse",
                  tool_version=sohoa.__version__, detail=f"dossier {dossier}")
    # Reuse adds a link, not a metadata change: an event object in the record's folder, no new version.
    records.add_event(archive.store, RecordMetadata.model_validate(record.metadata_json), event, prefix=record.prefix)
    catalog_write.add_reuse(archive.catalog, event, dossier)
    return ReuseOutcome(record.id, record.code, dossier, False)
