"""Reuse: attach an already-digitised record to a new dossier instead of asking the citizen again.

A reuse is a metadata change (issue #12, 2): the dossier joins the record's `reused_in` list in a
new metadata version (storage is write-once), with a `reused` event in the record's folder; the
catalog moves to that version and gets the reuse link the ratios of issue #6 count, so a rebuilt
catalog restores the link from the metadata. Finding what can be reused is the search side's job
(`sohoa.search.reuse.suggest`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy.exc

import sohoa
from sohoa.archive import catalog_write, records
from sohoa.archive.backends import Archive
from sohoa.archive.storage import ObjectExists
from sohoa.core import codes
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.records import Event


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
    stored = _store_reuse(archive, record.prefix, dossier, by)
    event = next(e for e in reversed(stored.events) if catalog_write.reused_dossier(e) == dossier)
    catalog_write.set_metadata(archive.catalog, stored.meta, stored.objects)
    try:
        catalog_write.add_reuse(archive.catalog, event, dossier)
    except sqlalchemy.exc.IntegrityError:  # a concurrent reuse into the same dossier linked it first
        return ReuseOutcome(record.id, record.code, dossier, True)
    return ReuseOutcome(record.id, record.code, dossier, False)


def _store_reuse(archive: Archive, prefix: str, dossier: str, by: str) -> records.StoredRecord:
    """The record as storage holds it once its current metadata lists `dossier` and a `reused`
    event names it. Read-modify-write on write-once versions: a concurrent reuse (into another
    dossier) that takes the version number first makes this one read again and take the next."""
    for _attempt in range(20):
        stored = records.read_stored_record(archive.store, prefix)
        if dossier in stored.meta.reused_in:
            break  # written already (a retry after a crash, or a concurrent reuse into this dossier)
        meta = stored.meta.model_copy(update={"reused_in": [*stored.meta.reused_in, dossier]})
        try:
            records.write_metadata_version(archive.store, prefix, meta, stored.objects, by, action="reused",
                                           detail=f"dossier {dossier}", version=stored.version + 1)
        except ObjectExists:
            continue
        return records.read_stored_record(archive.store, prefix)
    else:
        raise SohoaError(f"{prefix}: its metadata keeps changing under this reuse; try again",
                         ExitCode.OUTPUT_ERROR)
    if not any(catalog_write.reused_dossier(e) == dossier for e in stored.events):
        # the version was written but its event was not (a crash in between): write it now
        records.add_event(archive.store, stored.meta, Event(
            record_id=stored.meta.record_id, action="reused", agent=by, tool="sohoa reuse",
            tool_version=sohoa.__version__, detail=f"dossier {dossier} (metadata version {stored.version})"),
            prefix=prefix)
        stored = records.read_stored_record(archive.store, prefix)
    return stored
