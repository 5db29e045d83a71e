"""Staging area in the object store: how a file and its recognised pages travel between machines.

The submitter puts the original under `staging/<sha256>/original` before any
task is sent, so a worker on another machine can fetch it, and the original is
safe in storage from that moment. OCR tasks put their page outcomes beside it
(`staging/<sha256>/pages-<first>`), the archive task reads them back in order.
Everything under `staging/<sha256>/` is removed once the item has ended.
Staged objects carry no retention, unlike records.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import time
from pathlib import Path
from typing import Final

from sohoa.archive.storage import ObjectExists, ObjectMissing, ObjectStore, StorageError
from sohoa.core.errors import ExitCode

PREFIX: Final = "staging"
CACHE_HOURS: Final = 6  # a worker-local copy of a staged original is kept this long for its other pages


def original_key(sha256: str) -> str:
    return f"{PREFIX}/{sha256}/original"


def pages_key(sha256: str, first: int) -> str:
    return f"{PREFIX}/{sha256}/pages-{first:05d}"


def stage_original(store: ObjectStore, path: Path, sha256: str) -> None:
    """Put the file's bytes in staging (verified by the store); a second stage of the same bytes is a no-op."""
    try:
        with path.open("rb") as handle:
            stored = store.put(original_key(sha256), handle)
    except ObjectExists:
        stored = store.stat(original_key(sha256))
    if stored.sha256 != sha256:
        raise StorageError(f"{original_key(sha256)}: staged bytes do not match {sha256} (file changed?)",
                           ExitCode.INPUT_MISSING)


def is_staged(store: ObjectStore, sha256: str) -> bool:
    return store.exists(original_key(sha256))


def cache_dir() -> Path:
    path = Path(tempfile.gettempdir()) / f"sohoa-cache-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def fetch_original(store: ObjectStore, sha256: str) -> Path:
    """A local copy of the staged original, checked against its SHA-256 (shared by this worker's tasks)."""
    cache = cache_dir()
    target = cache / sha256
    if target.exists():
        os.utime(target)
        return target
    _expire(cache)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=".fetch-")
    try:
        with os.fdopen(fd, "wb") as out, store.open(original_key(sha256)) as source:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise StorageError(f"{original_key(sha256)}: fetched bytes do not match their SHA-256")
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _expire(cache: Path) -> None:
    limit = time.time() - CACHE_HOURS * 3600
    for entry in cache.iterdir():
        try:
            if entry.stat().st_mtime < limit:
                entry.unlink()
        except OSError:
            pass  # another worker process removed it first


def put_pages(store: ObjectStore, sha256: str, first: int, outcome: object) -> str:
    key = pages_key(sha256, first)
    try:
        store.put(key, pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
    except ObjectExists:
        pass  # a redelivered task recognised the same pages again; the first copy stands
    return key


def get_pages(store: ObjectStore, sha256: str, first: int) -> object | None:
    """What an OCR task left for the pages from `first`, or None if it has not finished."""
    try:
        # Our own bytes, written by our workers into our store: not untrusted input.
        return pickle.loads(store.get(pages_key(sha256, first)))
    except ObjectMissing:
        return None


def clear(store: ObjectStore, sha256: str) -> None:
    for key in list(store.list(f"{PREFIX}/{sha256}/")):
        try:
            store.delete(key)
        except ObjectMissing:
            pass
