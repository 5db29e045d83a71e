"""Write and read a record as a self-describing folder of objects.

Layout under ``records/<2 hex>/<record id>/``: the folder depends on the content alone (the record
id is made from the original's SHA-256), so every attempt to store the same bytes, on any day and
with any fields, writes to the same folder. Records stored before issue #12 keep their folder
``<agency code>/<yyyy>/<mm>/<record id>/`` (the catalog's `prefix` column says which).

    original             the bytes as received, byte-identical
    pdfa.pdf             the PDF/A two-layer file
    text.txt             the text, pages separated by form feeds (NFC)
    words.json           per page, per word: text, line, confidence, box in points
    events.jsonl         the events of the ingest, one JSON object per line
    extracted.json       optional: the metadata proposals read off the pages (extract/, issue #14)
    signed.pdf           optional: pdfa.pdf signed by the digitising unit (sign/, issue #16)
    events/*.json        later events (fixity checks, reuse, corrections), one object each
    metadata.json        metadata version 1: RecordMetadata + the SHA-256 of every data object;
                         written LAST, so a folder without it is an interrupted ingest, never a record
    metadata/vNNNN.json  metadata versions 2, 3, ...: storage is write-once, so every change of
                         the metadata is a new numbered object; the current metadata is the highest

Every object is verified after writing (the store reads it back). The catalog
can be rebuilt from these folders alone (rebuild.py).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Iterator

from sohoa.archive.storage import ObjectExists, ObjectMissing, ObjectStore
from sohoa.core.codes import RETENTION_YEARS
from sohoa.core.faults import maybe_crash
from sohoa.core.records import Event, ObjectInfo, RecordMetadata

DATA_OBJECTS: Final = ("original", "pdfa.pdf", "text.txt", "words.json", "events.jsonl")
# Objects a record may have besides those every record has; each is listed, with its SHA-256, in
# the metadata version that first names it (and in every later one).
OPTIONAL_OBJECTS: Final = ("extracted.json", "signed.pdf", "stack")  # stack: a split scan as it came
OBJECT_NAMES: Final = (*DATA_OBJECTS, *OPTIONAL_OBJECTS, "metadata.json")
LEGACY_METADATA: Final = "metadata.json"  # version 1
_VERSION_NAME = re.compile(r"^metadata/v(\d{4,})\.json$")


def record_prefix(meta: RecordMetadata) -> str:
    """The folder of a record stored from issue #12 on: a function of its record id alone."""
    return f"records/{meta.record_id[1:3]}/{meta.record_id}"


def legacy_prefix(meta: RecordMetadata) -> str:
    """The folder records had before issue #12 (agency and month of ingest)."""
    when = meta.created_at
    return f"{meta.agency_code}/{when:%Y}/{when:%m}/{meta.record_id}"


def find_prefix(store: ObjectStore, meta: RecordMetadata) -> str:
    """Where this record's folder is: today's layout, else the legacy one if that holds it."""
    prefix = record_prefix(meta)
    if store.exists(f"{prefix}/{LEGACY_METADATA}"):
        return prefix
    old = legacy_prefix(meta)
    return old if store.exists(f"{old}/{LEGACY_METADATA}") else prefix


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


@dataclass
class StoredRecord:
    """A record as storage holds it: its current metadata, its objects (every metadata version
    included, by name), the number of that version, and its events."""

    meta: RecordMetadata
    objects: dict[str, ObjectInfo]
    version: int
    events: list[Event]
    prefix: str


def store_record(
    store: ObjectStore,
    meta: RecordMetadata,
    original: Path,
    pdfa: Path,
    texts: list[str],
    word_boxes: list[list[dict]],
    events: list[Event],
    agent: str = "sohoa",
    extra_objects: dict[str, bytes | Path] | None = None,
) -> StoredRecord:
    """Write the record folder, data objects first and the metadata last, each verified.

    A retry (the same bytes again after a crash, or a concurrent twin) adopts the data objects an
    earlier attempt stored. It adopts the stored metadata only if it says what `meta` says (apart
    from `created_at`, which stays the first attempt's); otherwise `meta` becomes the next
    metadata version, with a `corrected` event, so storage always ends with the metadata that the
    caller is about to catalog. `extra_objects` are optional objects (OPTIONAL_OBJECTS: bytes, or a
    file to stream), written after the data objects and listed in the metadata like them.
    """
    prefix = record_prefix(meta)
    clean_temporaries(store, prefix + "/")
    data: dict[str, ObjectInfo] = {}
    with original.open("rb") as handle:
        data["original"] = _put_once(store, f"{prefix}/original", handle, meta)
    if data["original"].sha256 != meta.original_sha256:
        raise ValueError(f"{prefix}/original holds other bytes than {original}")
    maybe_crash("record.stored", "original")
    with pdfa.open("rb") as handle:
        data["pdfa.pdf"] = _put_once(store, f"{prefix}/pdfa.pdf", handle, meta)
    maybe_crash("record.stored", "pdfa.pdf")
    text = ("\f".join(texts) + "\n").encode("utf-8")
    data["text.txt"] = _put_once(store, f"{prefix}/text.txt", io.BytesIO(text), meta)
    maybe_crash("record.stored", "text.txt")
    words = json.dumps({"pages": word_boxes}, ensure_ascii=False, default=float).encode("utf-8")
    data["words.json"] = _put_once(store, f"{prefix}/words.json", io.BytesIO(words), meta)
    maybe_crash("record.stored", "words.json")
    data["events.jsonl"] = _put_once(store, f"{prefix}/events.jsonl", io.BytesIO(events_jsonl(events)), meta)
    maybe_crash("record.stored", "events.jsonl")
    for name, value in (extra_objects or {}).items():
        if name not in OPTIONAL_OBJECTS:
            raise ValueError(f"{name}: not an optional object of a record")
        if isinstance(value, Path):
            with value.open("rb") as handle:
                data[name] = _put_once(store, f"{prefix}/{name}", handle, meta)
        else:
            data[name] = _put_once(store, f"{prefix}/{name}", io.BytesIO(value), meta)
        maybe_crash("record.stored", name)
    for _attempt in range(10):
        versions = metadata_versions(store, prefix)
        if not versions:
            try:
                _put_document(store, prefix, 1, meta, data)
            except ObjectExists:
                continue  # a twin wrote version 1 first: compare with it
            maybe_crash("record.stored", LEGACY_METADATA)
            return read_stored_record(store, prefix)
        stored = read_stored_record(store, prefix)
        meta = meta.model_copy(update={"created_at": stored.meta.created_at})
        if same_metadata(stored.meta, meta) and _data_of(stored.objects) == data:
            return stored
        changed = differences(stored.meta, meta)
        try:
            write_metadata_version(store, prefix, meta, data, agent, action="corrected",
                                   detail="stored again with other metadata: " + ", ".join(changed),
                                   version=stored.version + 1)
        except ObjectExists:
            continue
        return read_stored_record(store, prefix)
    raise ObjectExists(f"{prefix}: its metadata keeps changing under this ingest; try again")


def _data_of(objects: dict[str, ObjectInfo]) -> dict[str, ObjectInfo]:
    return {name: info for name, info in objects.items() if name in DATA_OBJECTS or name in OPTIONAL_OBJECTS}


def same_metadata(a: RecordMetadata, b: RecordMetadata) -> bool:
    return not differences(a, b)


def differences(a: RecordMetadata, b: RecordMetadata) -> list[str]:
    """The fields (but `created_at`) whose values differ between two metadata."""
    left, right = json.loads(a.model_dump_json()), json.loads(b.model_dump_json())
    return sorted(name for name in set(left) | set(right)
                  if name != "created_at" and left.get(name) != right.get(name))


# --- metadata versions ---------------------------------------------------------------------


def metadata_key(prefix: str, version: int) -> str:
    return f"{prefix}/{metadata_name(version)}"


def metadata_name(version: int) -> str:
    if version < 1:
        raise ValueError(f"metadata versions start at 1, not {version}")
    return LEGACY_METADATA if version == 1 else f"metadata/v{version:04d}.json"


def version_of_name(name: str) -> int | None:
    """1 for metadata.json, N for metadata/vNNNN.json, None for any other object name."""
    if name == LEGACY_METADATA:
        return 1
    found = _VERSION_NAME.match(name)
    return int(found.group(1)) if found else None


def metadata_version_of(objects: dict[str, ObjectInfo]) -> int:
    """The highest metadata version among a record's objects (by name)."""
    return max((v for v in map(version_of_name, objects) if v is not None), default=0)


def metadata_versions(store: ObjectStore, prefix: str) -> list[tuple[int, str]]:
    """(version, key) of every metadata object in the folder, oldest first."""
    found = []
    for key in store.list(prefix + "/"):
        version = version_of_name(key[len(prefix) + 1:])
        if version is not None:
            found.append((version, key))
    return sorted(found)


def _put_document(store: ObjectStore, prefix: str, version: int, meta: RecordMetadata,
                  data: dict[str, ObjectInfo]) -> ObjectInfo:
    document = {"version": version, "record": json.loads(meta.model_dump_json()),
                "objects": {name: info.model_dump() for name, info in _data_of(data).items()}}
    body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    until, hold = retention(meta)
    stored = store.put(metadata_key(prefix, version), io.BytesIO(body), retain_until=until,
                       legal_hold=hold, metadata={"record-id": meta.record_id})
    return ObjectInfo(key=stored.key, sha256=stored.sha256, size=stored.size)


def write_metadata_version(store: ObjectStore, prefix: str, meta: RecordMetadata,
                           objects: dict[str, ObjectInfo], agent: str, action: str = "described",
                           detail: str = "", version: int | None = None) -> int:
    """Store `meta` as the record's next metadata version, with a `described`/`corrected` event.

    `objects` are the record's data objects (metadata versions among them are ignored). With
    `version`, exactly that version is written (`ObjectExists` if a concurrent writer took it);
    without, the next free one. Returns the version written; the catalog follows through
    `catalog_write.set_metadata`.
    """
    data = _data_of(objects)
    for _attempt in range(10):
        number = version or max((v for v, _ in metadata_versions(store, prefix)), default=0) + 1
        try:
            _put_document(store, prefix, number, meta, data)
        except ObjectExists:
            if version is not None:
                raise
            continue
        maybe_crash("record.stored", metadata_name(number))
        add_event(store, meta, Event(record_id=meta.record_id, action=action, agent=agent, tool="sohoa",
                                     detail=f"metadata version {number}" + (f": {detail}" if detail else "")),
                  prefix=prefix)
        return number
    raise ObjectExists(f"{prefix}: could not take a new metadata version; try again")


def read_stored_record(store: ObjectStore, prefix: str) -> StoredRecord:
    meta, objects, version = current_metadata(store, prefix)
    return StoredRecord(meta, objects, version, read_events(store, meta, prefix), prefix)


def add_event(store: ObjectStore, meta: RecordMetadata, event: Event, prefix: str | None = None) -> ObjectInfo:
    """A later event, as its own write-once object next to events.jsonl (in `prefix`, the record's
    folder; found from `meta` when not given)."""
    key = f"{prefix or find_prefix(store, meta)}/events/{event.at:%Y%m%dT%H%M%S}-{event.action}-{datetime.now():%f}.json"
    return _put_once(store, key, io.BytesIO(event.model_dump_json().encode("utf-8")), meta)


def read_record_document(store: ObjectStore, metadata_key: str) -> tuple[RecordMetadata, dict[str, ObjectInfo]]:
    document = json.loads(store.get(metadata_key))
    meta = RecordMetadata.model_validate(document["record"])
    objects = {name: ObjectInfo.model_validate(info) for name, info in document["objects"].items()}
    stored = store.stat(metadata_key)
    objects["metadata.json"] = ObjectInfo(key=metadata_key, sha256=stored.sha256, size=stored.size)
    return meta, objects


def read_events(store: ObjectStore, meta: RecordMetadata, prefix: str | None = None) -> list[Event]:
    prefix = prefix or find_prefix(store, meta)
    events = [Event.model_validate_json(line) for line in
              store.get(f"{prefix}/events.jsonl").decode("utf-8").splitlines() if line.strip()]
    for key in store.list(f"{prefix}/events/"):
        events.append(Event.model_validate_json(store.get(key)))
    return sorted(events, key=lambda e: e.at)


# --- record folders ------------------------------------------------------------------------


def list_record_prefixes(store: ObjectStore) -> Iterator[str]:
    """Every record folder in storage (a folder holding a metadata object of any version and
    either layout), each once, sorted."""
    seen: set[str] = set()
    for key in store.list():
        prefix = _record_prefix_of(key)
        if prefix is not None:
            seen.add(prefix)
    yield from sorted(seen)


def list_incomplete_prefixes(store: ObjectStore) -> Iterator[str]:
    """Folders holding objects of a record but no metadata: interrupted ingests, never records."""
    folders: set[str] = set()
    records_: set[str] = set()
    for key in store.list():
        if "/events/" in key or "/metadata/" in key:
            continue
        folder, _, name = key.rpartition("/")
        if name in DATA_OBJECTS:
            folders.add(folder)
        elif name == LEGACY_METADATA:
            records_.add(folder)
    for key in store.list():
        prefix = _record_prefix_of(key)
        if prefix is not None:
            records_.add(prefix)
    yield from sorted(folders - records_)


def _record_prefix_of(key: str) -> str | None:
    if "/events/" in key:
        return None
    if key.endswith("/" + LEGACY_METADATA):
        return key[: -len(LEGACY_METADATA) - 1]
    head, sep, tail = key.rpartition("/metadata/")
    if sep and _VERSION_NAME.match("metadata/" + tail):
        return head
    return None


def current_metadata(store: ObjectStore, prefix: str) -> tuple[RecordMetadata, dict[str, ObjectInfo], int]:
    """(metadata, objects, version) of the record's highest metadata version.

    The objects are the data objects that version lists plus every metadata version (by name:
    `metadata.json`, `metadata/v0002.json`, ...), each with the SHA-256 the store recorded.
    """
    versions = metadata_versions(store, prefix)
    if not versions:
        raise ObjectMissing(f"{prefix}: no metadata (an interrupted ingest, not a record)")
    version, key = versions[-1]
    meta, objects = read_record_document(store, key)
    objects.pop(LEGACY_METADATA, None)
    for number, other in versions:
        stored = store.stat(other)
        objects[metadata_name(number)] = ObjectInfo(key=other, sha256=stored.sha256, size=stored.size)
    return meta, objects, version


def clean_temporaries(store: ObjectStore, prefix: str = "") -> list[str]:
    """Remove leftover temporaries of interrupted writes under `prefix` (those of writers still
    running are kept). Returns what was removed; a store without temporaries returns []."""
    cleaner = getattr(store, "clean_temporaries", None)
    return cleaner(prefix) if cleaner is not None else []


def catalog_follows(catalog, store: ObjectStore, prefix: str, action: str) -> StoredRecord:
    """The record as storage now holds it, with the catalog moved to its current metadata version
    and given the newest `action` event (after `write_metadata_version`: describe, sign)."""
    from sohoa.archive import catalog_write

    stored = read_stored_record(store, prefix)
    event = next((e for e in reversed(stored.events) if e.action == action), None)
    catalog_write.set_metadata(catalog, stored.meta, stored.objects, [event] if event else [])
    return stored
