"""Reuse and its withdrawal with their webhook events: what every caller of
`sohoa.archive.reuse.reuse` and `withdraw_reuse` calls instead.

The archive sits below hooks/ and knows nothing of webhooks, so the `record.reused` (or
`record.reuse_withdrawn`) event is put into the outbox here, just before the archive acts (see
hooks/emit.py), and taken back if the archive refuses.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Callable, TypeVar

from sohoa.archive import reuse as archive_reuse
from sohoa.archive.backends import Archive
from sohoa.archive.reuse import ReuseOutcome, WithdrawOutcome
from sohoa.core import codes
from sohoa.hooks import emit

T = TypeVar("T")


def reuse(archive: Archive, record_id: str, dossier: str, by: str, today: date | None = None) -> ReuseOutcome:
    """`sohoa.archive.reuse.reuse`, announced to the webhooks (same arguments, result and errors)."""
    record = archive.catalog.record(record_id)
    # an unknown record or a bad code is refused by the archive, with nothing emitted
    emitted = emit.emit_reused(archive.catalog, record, codes.dossier_code(dossier)) if record is not None else None
    return _announced(archive, emitted, lambda: archive_reuse.reuse(archive, record_id, dossier, by, today))


def withdraw(archive: Archive, record_id: str, dossier: str, by: str,
             now: datetime | None = None) -> WithdrawOutcome:
    """`sohoa.archive.reuse.withdraw_reuse`, announced to the webhooks (same arguments, result and errors)."""
    record = archive.catalog.record(record_id)
    link = archive.catalog.reuse_link(record.id, codes.dossier_code(dossier)) if record is not None else None
    # a withdrawal the archive will refuse (no link, another user, another day) emits nothing
    may = link is not None and not archive_reuse.withdraw_refusal(link, by, now)
    emitted = emit.emit_withdrawn(archive.catalog, record, codes.dossier_code(dossier)) if may else None
    return _announced(archive, emitted, lambda: archive_reuse.withdraw_reuse(archive, record_id, dossier, by, now))


def _announced(archive: Archive, emitted: emit.Emitted | None, act: Callable[[], T]) -> T:
    """The archive's action; if it refuses (or fails), the event emitted for it is taken back."""
    try:
        return act()
    except BaseException:
        if emitted is not None:
            emit.discard(archive.catalog, emitted)
        raise
