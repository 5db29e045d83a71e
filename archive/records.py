"""Write and read a record as a self-describing folder of objects.

Layout under ``<agency code>/<yyyy>/<mm>/<record id>/`` (date of ingest):

    original        the bytes as received, byte-identical
    pdfa.pdf        the PDF/A two-layer file
    text.txt        the text, pages separated by form feeds (NFC)
    words.json      per page, per word: text, line, confidence, box in points
    events.jsonl    the events of the ingest, one JSON object per line
    events/*.json   later events (fixity checks, reuse), one object each: storage is write-once
    metadata.json   RecordMetadata + the SHA-256 of every other object; written LAST, so a
                    folder without it is an interrupted ingest, never a record

Every object is verified after writing (the store reads it back). The catalog
can be rebuilt from these folders alone (rebuild.py).
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Iterator

from sohoa.archive.storage import ObjectExists, ObjectStore
from sohoa.core.codes import RETENTION_YEARS
from sohoa.core.records import Event, ObjectInfo, RecordMetadata

OBJECT_NAMES: Final = ("original", "pdfa.pdf", "text.txt", "words.json", "events.jsonl", "metadata.json")


def record_prefix(meta: RecordMetadata) -> str:
    when = meta.created_at
    return f"{meta.agency_code}/{when:%Y}/{when:%m}/{meta.record_id}"


def retention(meta: RecordMetadata) -> tuple[datetime | None, bool]:
    """(retain until, legal hold): code 01 is permanent, so a legal hold, not a date."""
    years = RETENTION_YEARS[meta.retention_code]
    if years is None:
        return None, True
    start = meta.created_at
    try:
        until = start.replace(year=start.year + years)
    except ValueError:  # 29 February
        until = start.replace(year=start.year + years, day=28)
    return until + timedelta(days=1), False


def _put_once(store: ObjectStore, key: str, data, meta: RecordMetadata) -> ObjectInfo:
    """Write-once put; after an interrupted ingest, adopt the object the first attempt stored.

    The earlier copy was verified when it was written, and storage refuses an
    overwrite anyway; the record lists whatever hash is really stored.
    """
    until, hold = retention(meta)
    try:
        stored = store.put(key, data, retain_until=until, legal_hold=hold,
                           metadata={"record-id": meta.record_id})
    except ObjectExists:
        stored = store.stat(key)
    return ObjectInfo(key=key, sha256=stored.sha256, size=stored.size)


def events_jsonl(events: list[Event]) -> bytes:
    return "".join(event.model_dump_json() + "\n" for event in events).encode("utf-8")


def write_record(
    store: ObjectStore,
    meta: RecordMetadata,
    original: Path,
    pdfa: Path,
    texts: list[str],
    word_boxes: list[list[dict]],
    events: list[Event],
) -> dict[str, ObjectInfo]:
    prefix = record_prefix(meta)
    objects: dict[str, ObjectInfo] = {}
    with original.open("rb") as handle:
        objects["original"] = _put_once(store, f"{prefix}/original", handle, meta)
    if objects["original"].sha256 != meta.original_sha256:
        raise ValueError(f"{prefix}/original holds other bytes than {original}")
    with pdfa.open("rb") as handle:
        objects["pdfa.pdf"] = _put_once(store, f"{prefix}/pdfa.pdf", handle, meta)
    text = ("\f".join(texts) + "\n").encode("utf-8")
    objects["text.txt"] = _put_once(store, f"{prefix}/text.txt", io.BytesIO(text), meta)
    words = json.dumps({"pages": word_boxes}, ensure_ascii=False, default=float).encode("utf-8")
    objects["words.json"] = _put_once(store, f"{prefix}/words.json", io.BytesIO(words), meta)
    objects["events.jsonl"] = _put_once(store, f"{prefix}/events.jsonl", io.BytesIO(events_jsonl(events)), meta)
    document = {"record": json.loads(meta.model_dump_json()),
                "objects": {name: info.model_dump() for name, info in objects.items()}}
    body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    objects["metadata.json"] = _put_once(store, f"{prefix}/metadata.json", io.BytesIO(body), meta)
    return objects


def add_event(store: ObjectStore, meta: RecordMetadata, event: Event) -> ObjectInfo:
    """A later event, as its own write-once object next to events.jsonl."""
    key = f"{record_prefix(meta)}/events/{event.at:%Y%m%dT%H%M%S}-{event.action}-{datetime.now():%f}.json"
    return _put_once(store, key, io.BytesIO(event.model_dump_json().encode("utf-8")), meta)


def read_record_document(store: ObjectStore, metadata_key: str) -> tuple[RecordMetadata, dict[str, ObjectInfo]]:
    document = json.loads(store.get(metadata_key))
    meta = RecordMetadata.model_validate(document["record"])
    objects = {name: ObjectInfo.model_validate(info) for name, info in document["objects"].items()}
    stored = store.stat(metadata_key)
    objects["metadata.json"] = ObjectInfo(key=metadata_key, sha256=stored.sha256, size=stored.size)
    return meta, objects


def read_events(store: ObjectStore, meta: RecordMetadata) -> list[Event]:
    prefix = record_prefix(meta)
    events = [Event.model_validate_json(line) for line in
              store.get(f"{prefix}/events.jsonl").decode("utf-8").splitlines() if line.strip()]
    for key in store.list(f"{prefix}/events/"):
        events.append(Event.model_validate_json(store.get(key)))
    return sorted(events, key=lambda e: e.at)


# --- metadata versions ---------------------------------------------------------------------

LEGACY_METADATA: Final = "metadata.json"


def list_record_prefixes(store: ObjectStore) -> Iterator[str]:
    """Every record folder in storage (a folder holding a metadata object), each once, sorted."""
    seen: set[str] = set()
    for key in store.list():
        prefix = _record_prefix_of(key)
        if prefix is not None and prefix not in seen:
            seen.add(prefix)
    yield from sorted(seen)


def _record_prefix_of(key: str) -> str | None:
    if "/events/" in key:
        return None
    if key.endswith("/" + LEGACY_METADATA):
        return key[: -len(LEGACY_METADATA) - 1]
    return None


def current_metadata(store: ObjectStore, prefix: str) -> tuple[RecordMetadata, dict[str, ObjectInfo], int]:
    """(metadata, objects, version) of the record's highest metadata version."""
    meta, objects = read_record_document(store, f"{prefix}/{LEGACY_METADATA}")
    return meta, objects, 1
