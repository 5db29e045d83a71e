"""Reuse: attach an already-digitised record to a new dossier instead of asking the citizen again.

A reuse is a metadata change (issue #12, 2): the dossier joins the record's `reused_in` list in a
new metadata version (storage is write-once), with a `reused` event in the record's folder; the
catalog moves to that version and gets the reuse link the ratios of issue #6 count, so a rebuilt
catalog restores the link from the metadata. Finding what can be reused is the search side's job
(`sohoa.search.reuse.suggest`).

A reuse can be withdrawn the same day (Vietnam time) by the official who made it
(`withdraw_reuse`): a new metadata version without the dossier, a `reuse-withdrawn` event, and the
catalog link removed so it stops counting; a rebuilt catalog agrees (the withdrawal cancels the
`reused` event before it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy.exc

import sohoa
from sohoa.archive import catalog_write, records
from sohoa.archive.backends import Archive
from sohoa.archive.catalog import ReuseLink
from sohoa.archive.storage import ObjectExists
from sohoa.core import codes
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.records import VIETNAM, Event


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


def _store_reuse(archive: Archive, prefix: str, dossier: str, by: str, action: str = "reused") -> records.StoredRecord:
    """The record as storage holds it once its current metadata lists `dossier` (or, for a
    withdrawal, no longer does) and an event of `action` names it. Read-modify-write on write-once
    versions: a concurrent change that takes the version number first makes this one read again
    and take the next."""
    adding = action == "reused"
    for _attempt in range(20):
        stored = records.read_stored_record(archive.store, prefix)
        if (dossier in stored.meta.reused_in) == adding:
            break  # written already (a retry after a crash, or a concurrent change of this dossier)
        kept = [code for code in stored.meta.reused_in if code != dossier]
        meta = stored.meta.model_copy(update={"reused_in": [*kept, dossier] if adding else kept})
        try:
            records.write_metadata_version(archive.store, prefix, meta, stored.objects, by, action=action,
                                           detail=f"dossier {dossier}", version=stored.version + 1)
        except ObjectExists:
            continue
        return records.read_stored_record(archive.store, prefix)
    else:
        raise SohoaError(f"{prefix}: its metadata keeps changing under this {action}; try again",
                         ExitCode.OUTPUT_ERROR)
    if (dossier in catalog_write.live_reuses(stored.events)) != adding:
        # the version was written but its event was not (a crash in between): write it now
        records.add_event(archive.store, stored.meta, Event(
            record_id=stored.meta.record_id, action=action, agent=by, tool="sohoa reuse",
            tool_version=sohoa.__version__, detail=f"dossier {dossier} (metadata version {stored.version})"),
            prefix=prefix)
        stored = records.read_stored_record(archive.store, prefix)
    return stored


@dataclass
class WithdrawOutcome:
    record_id: str
    record_code: str
    dossier_code: str


def withdraw_refusal(link: ReuseLink, by: str, now: datetime | None = None) -> str:
    """Why `by` may not withdraw this reuse now (in Vietnamese), or "" when they may."""
    made = (link.at if link.at.tzinfo else link.at.replace(tzinfo=UTC)).astimezone(VIETNAM)
    if link.by != by:
        return f"Chỉ người đã sử dụng lại ({link.by}) mới được rút lại việc sử dụng lại này."
    if made.date() != (now or datetime.now(UTC)).astimezone(VIETNAM).date():
        return f"Chỉ được rút lại trong ngày đã sử dụng lại ({made:%d/%m/%Y}); nay đã quá hạn."
    return ""


def withdraw_reuse(archive: Archive, record_id: str, dossier: str, by: str,
                   now: datetime | None = None) -> WithdrawOutcome:
    """Undo a reuse made today (Vietnam time) by `by`; anyone else, or later, is refused (REFUSED)."""
    dossier = codes.dossier_code(dossier)
    record = archive.catalog.record(record_id)
    if record is None:
        raise SohoaError(f"no record {record_id!r}", ExitCode.NOT_FOUND)
    link = archive.catalog.reuse_link(record.id, dossier)
    if link is None:
        raise SohoaError(f"{record.code}: chưa được sử dụng lại cho hồ sơ {dossier} (not reused in it)",
                         ExitCode.NOT_FOUND)
    refused = withdraw_refusal(link, by, now)
    if refused:
        raise SohoaError(refused, ExitCode.REFUSED)
    stored = _store_reuse(archive, record.prefix, dossier, by, catalog_write.WITHDRAWN)
    event = next(e for e in reversed(stored.events) if catalog_write.withdrawn_dossier(e) == dossier)
    catalog_write.set_metadata(archive.catalog, stored.meta, stored.objects)
    catalog_write.remove_reuse(archive.catalog, event, dossier)
    return WithdrawOutcome(record.id, record.code, dossier)

