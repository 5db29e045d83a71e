"""Reading a record's object for someone (a web download, a thumbnail, `sohoa get`), verified against
the SHA-256 the catalog recorded, and the evidence left behind when the bytes do not match.

A mismatch found while serving is a fixity finding like any other: it becomes a `fixity-checked`
event with outcome `failure`, in the catalog and (when the store still takes writes) beside the
record, so `sohoa show` and the fixity history show it.
"""

from __future__ import annotations

import logging
from typing import Final

import sohoa
from sohoa.archive import catalog_write, records
from sohoa.archive.backends import Archive
from sohoa.archive.catalog import Record
from sohoa.archive.storage import CHUNK_SIZE, read_verified
from sohoa.core.records import Event, RecordMetadata

log = logging.getLogger("sohoa.archive")

# Objects up to this size are verified whole before the first byte is sent, so the client gets a
# clear error instead of a cut download.
SMALL: Final[int] = CHUNK_SIZE


def record_mismatch(archive: Archive, record: Record, key: str, agent: str, what: str) -> Event:
    """The failure event of a verified read of `key` (`what` says who read it and why)."""
    event = Event(record_id=record.id, action="fixity-checked", agent=agent[:200], tool="sha256",
                  tool_version=sohoa.__version__, outcome="failure",
                  detail=f"{key}: altered ({what}; the bytes were not served)")
    catalog_write.add_event(archive.catalog, event)
    try:
        records.add_event(archive.store, RecordMetadata.model_validate(record.metadata_json), event)
    except Exception as exc:  # noqa: BLE001 - the catalog holds the event; a broken store must not hide it
        log.warning("%s: fixity event not written beside the record: %s", record.code, exc)
    log.warning("%s: %s does not match its SHA-256; %s refused", record.code, key, what)
    return event


def read_small(archive: Archive, key: str, sha256: str) -> bytes:
    """The whole object, verified (`ChecksumMismatch` otherwise); only for objects up to SMALL bytes."""
    return b"".join(read_verified(archive.store, key, sha256))
