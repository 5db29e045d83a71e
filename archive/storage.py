"""The object-store contract of the archive: one Protocol, its types and errors, key rules, and
the verified read every consumer of stored bytes uses (`read_verified`, `copy_verified`).

Two backends implement it with the same key layout: `LocalStore` (a directory, the embedded
default) and `S3Store` (MinIO in production, SeaweedFS in tests); `sohoa.archive.stores.open_store`
picks one from `SOHOA_STORAGE_URL`. This module imports neither backend: they import it. `tests/test_storage_contract.py`
runs one suite against both, so code above this layer never needs to know which one it has.

The contract, in short:
- keys are '/'-separated relative paths (rules in `check_key`);
- objects are write-once: `put` never overwrites, it raises `ObjectExists`;
- `put` hashes (SHA-256) while writing, stores the digest with the object, reads the object back
  and verifies the digest before it returns;
- `delete` is refused (`RetentionError`) while a retention date or a legal hold applies;
- `stat(key).sha256` is the digest recorded at write time, `sha256_of(key)` recomputes it from the
  bytes a reader of `key` gets today: a fixity check compares the two.
"""

from __future__ import annotations

import hashlib
import re
import uuid
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO, Final, Iterator, Mapping, Protocol, runtime_checkable

from sohoa.core.errors import ExitCode, SohoaError

# Reads and writes move through memory in pieces of this size, whatever the object's size.
CHUNK_SIZE: Final[int] = 1024 * 1024
# S3 limits a key to 1024 bytes of UTF-8; the local backend keeps the same limit.
MAX_KEY_BYTES: Final[int] = 1024
# The store owns this metadata name: callers may not set it.
SHA256_META: Final[str] = "sha256"
_META_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


# --- errors ---------------------------------------------------------------------------------


class StorageError(SohoaError):
    """Base of every object-store failure (one-line message, no secrets in it)."""

    exit_code = ExitCode.OUTPUT_ERROR


class ObjectExists(StorageError):
    """The key is already taken: objects are write-once."""


class ObjectMissing(StorageError):
    """No object under that key."""

    exit_code = ExitCode.INPUT_MISSING


class IntegrityError(StorageError):
    """Stored bytes do not match their recorded SHA-256 (or their metadata is gone)."""

    exit_code = ExitCode.DAMAGED


class ChecksumMismatch(IntegrityError):
    """A verified read found bytes that differ from the SHA-256 recorded in the catalog."""

    exit_code = ExitCode.FIXITY_FAILED


class RetentionError(StorageError):
    """The object is under retention or legal hold, so it cannot be deleted."""


class StorageUnavailable(StorageError):
    """The backend cannot be reached. Nothing was changed by the failed call; retrying is safe."""


# --- types ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredObject:
    """What the store knows about one object. `sha256` is the digest recorded at write time."""

    key: str
    size: int
    sha256: str
    retain_until: datetime | None
    legal_hold: bool
    # User metadata given to `put` (lower-case names). Not part of equality or hashing.
    metadata: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)


@runtime_checkable
class ObjectStore(Protocol):
    """A write-once store of byte objects under '/'-separated keys."""

    def put(
        self,
        key: str,
        data: bytes | BinaryIO,
        *,
        retain_until: datetime | None = None,
        legal_hold: bool = False,
        metadata: dict[str, str] | None = None,
    ) -> StoredObject:
        """Store `data` under a new `key`, verified by read-back; `ObjectExists` if taken."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A streaming reader of the object (close it when done)."""
        ...

    def get(self, key: str) -> bytes:
        """The whole object in memory (small objects only: prefer `open`)."""
        ...

    def stat(self, key: str) -> StoredObject:
        """Size, recorded SHA-256, retention and legal hold, without reading the bytes."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with `prefix` (a plain string prefix, as in S3), sorted, recursive."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; `RetentionError` while retention or a legal hold applies."""
        ...

    def sha256_of(self, key: str) -> str:
        """SHA-256 recomputed by streaming the bytes a reader of `key` gets now (fixity)."""
        ...

    def describe(self) -> str:
        """Backend and location, for logs and reports (never credentials)."""
        ...


# --- rules shared by both backends -----------------------------------------------------------


def check_key(key: object) -> str:
    """Return `key` if it is a safe relative object key, else raise `StorageError`.

    Refused: empty keys, absolute keys, backslashes, control characters, empty segments ('a//b',
    a trailing '/'), segments starting with '.' (this covers '.' and '..', and keeps the local
    backend's temporary and internal files out of the key space), keys that are not NFC (two
    spellings of one Vietnamese word must not become two keys) and keys over 1024 UTF-8 bytes.
    """
    if not isinstance(key, str) or not key:
        raise StorageError(f"invalid object key {key!r}: must be a non-empty string")
    _check_chars(key, "object key")
    if key.startswith("/"):
        raise StorageError(f"invalid object key {key!r}: absolute keys are not allowed")
    for segment in key.split("/"):
        if not segment:
            raise StorageError(f"invalid object key {key!r}: empty path segment")
        if segment.startswith("."):
            raise StorageError(f"invalid object key {key!r}: a segment may not start with '.'")
    return key


def check_prefix(prefix: object) -> str:
    """A listing prefix: '' or the start of a key (it may end with '/' or mid-segment)."""
    if not isinstance(prefix, str):
        raise StorageError(f"invalid prefix {prefix!r}: must be a string")
    if prefix:
        _check_chars(prefix, "prefix")
        if prefix.startswith("/"):
            raise StorageError(f"invalid prefix {prefix!r}: absolute prefixes are not allowed")
        inner = prefix.split("/")[:-1]  # the last segment may be partial or empty
        if any(not s or s.startswith(".") for s in inner):
            raise StorageError(f"invalid prefix {prefix!r}: empty or dot segment")
    return prefix


def _check_chars(text: str, what: str) -> None:
    if "\\" in text:
        raise StorageError(f"invalid {what} {text!r}: backslashes are not allowed")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in text):
        raise StorageError(f"invalid {what} {text!r}: control characters are not allowed")
    if unicodedata.normalize("NFC", text) != text:
        raise StorageError(f"invalid {what} {text!r}: must be Unicode NFC")
    if len(text.encode("utf-8")) > MAX_KEY_BYTES:
        raise StorageError(f"invalid {what}: longer than {MAX_KEY_BYTES} bytes of UTF-8")


def check_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """User metadata travels as S3 headers, so names are lower-case ASCII and values printable
    ASCII (put non-ASCII text such as Vietnamese titles in the record's metadata.json instead)."""
    result: dict[str, str] = {}
    for name, value in (metadata or {}).items():
        if not isinstance(name, str) or not _META_NAME.match(name):
            raise StorageError(f"invalid metadata name {name!r}: use lower-case a-z, 0-9 and '-'")
        if name == SHA256_META:
            raise StorageError(f"metadata name {name!r} is reserved: the store records the SHA-256")
        if not isinstance(value, str) or not all(" " <= ch <= "~" for ch in value):
            raise StorageError(f"invalid metadata value for {name!r}: printable ASCII only")
        result[name] = value
    return result


def check_retain_until(retain_until: datetime | None) -> datetime | None:
    """A timezone-aware future instant, rounded UP to a whole second in UTC.

    S3 keeps retention dates to the second; rounding up (never down) means the object is never
    released earlier than asked, and both backends report the same value back.
    """
    if retain_until is None:
        return None
    if not isinstance(retain_until, datetime) or retain_until.tzinfo is None:
        raise StorageError("retain_until must be a timezone-aware datetime")
    utc = retain_until.astimezone(timezone.utc)
    if utc.microsecond:
        utc = utc.replace(microsecond=0) + timedelta(seconds=1)
    if utc <= datetime.now(timezone.utc):
        raise StorageError(f"retain_until {utc.isoformat()} is not in the future")
    return utc


def check_sha256(value: str | None, key: str) -> str:
    """The recorded digest must look like one: a missing or mangled value is an integrity fault."""
    if value is None or not _SHA256_HEX.match(value):
        raise IntegrityError(f"{key}: no valid SHA-256 recorded with the object")
    return value


def under_retention(retain_until: datetime | None, legal_hold: bool) -> str | None:
    """Why an object may not be deleted now, or None if it may."""
    if legal_hold:
        return "legal hold"
    if retain_until is not None and retain_until > datetime.now(timezone.utc):
        return f"retention until {retain_until.isoformat()}"
    return None


def iter_chunks(data: bytes | BinaryIO) -> Iterator[bytes]:
    """The input in pieces of at most CHUNK_SIZE bytes, so a file-like input is never read whole."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data)
        for start in range(0, len(view), CHUNK_SIZE):
            yield bytes(view[start : start + CHUNK_SIZE])
        return
    if not callable(getattr(data, "read", None)):
        raise StorageError(f"cannot store a {type(data).__name__}: give bytes or a binary file")
    while True:
        chunk = data.read(CHUNK_SIZE)
        if not chunk:
            return
        if not isinstance(chunk, (bytes, bytearray)):
            raise StorageError("the input file must be opened in binary mode")
        yield bytes(chunk)


# --- verified reads -------------------------------------------------------------------------


def read_verified(store: ObjectStore, key: str, expected_sha256: str) -> Iterator[bytes]:
    """The object's bytes in pieces, hashed on the way; `ChecksumMismatch` if they are not the
    bytes `expected_sha256` names.

    The last piece is held back until the digest is checked, so a consumer (a download, a copy)
    never receives the whole of an altered object: a mismatch ends the stream one piece short.
    """
    digest = hashlib.sha256()
    held: bytes | None = None
    with store.open(key) as source:
        while chunk := source.read(CHUNK_SIZE):
            digest.update(chunk)
            if held is not None:
                yield held
            held = chunk
    if digest.hexdigest() != expected_sha256:
        raise ChecksumMismatch(f"{key}: stored bytes do not match their SHA-256 (run sohoa fixity)")
    if held is not None:
        yield held


def copy_verified(store: ObjectStore, key: str, expected_sha256: str, out: Path) -> int:
    """Write the object to `out` only if its bytes match `expected_sha256`; return the size.

    The bytes go to a hidden partial file next to `out` first and replace `out` in one rename, so
    `out` is either the whole verified object or untouched (never a half or altered copy).
    """
    partial = out.with_name(f".{out.name}.{uuid.uuid4().hex}.partial")
    size = 0
    try:
        with partial.open("xb") as sink:
            for chunk in read_verified(store, key, expected_sha256):
                sink.write(chunk)
                size += len(chunk)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return size
