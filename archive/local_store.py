"""LocalStore: the object store in a plain directory (the embedded default, `file:///dir`).

Layout: the object under key `a/b/c.pdf` is the file `<root>/a/b/c.pdf`, the same layout as in
the S3 bucket. What S3 keeps as object metadata and object lock lives in a JSON sidecar,
`<root>/.sohoa/meta/a/b/c.pdf.json` (sha256, size, user metadata, retain_until, legal_hold). The
sidecar tree starts with '.', a segment that keys may never have, so it can't collide with a key.

Writes are atomic and write-once, in an order where a crash at any step leaves a state the next
call completes (each step has a fault point, see core/faults.py):
1. the bytes go to a temporary file `.<name>.<pid>-<token>.tmp` in the target's own directory,
   are fsynced, made read-only (0o400) and verified by reading them back;
2. the sidecar is written, fsynced, as a *pending* sidecar `.<name>.json.<pid>-<token>.pending`
   beside where the sidecar goes;
3. `os.link` publishes the bytes. `link`, unlike `rename`, fails when the name exists, so of two
   concurrent writers exactly one wins; the loser removes its pending sidecar;
4. the winner renames its pending sidecar into place.
A crash between 3 and 4 leaves an object whose sidecar is still pending: `stat` finds the pending
sidecar whose SHA-256 and size match the bytes and completes step 4 (an object with no matching
pending sidecar is an `IntegrityError`, the bytes are kept). Temporaries of dead writers (their pid
is gone, or they are a day old) are removed by the next write to the same folder and by
`clean_temporaries` (which fixity calls).

Retention here is an emulation that `delete` honours: anybody with write access to the directory
can still remove files. Real enforcement needs the S3 backend with object lock.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import hashlib
import json
import os
import secrets
import time
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Iterator

from sohoa.archive.storage import (
    IntegrityError,
    ObjectExists,
    ObjectMissing,
    RetentionError,
    StorageError,
    StoredObject,
    check_key,
    check_metadata,
    check_prefix,
    check_retain_until,
    check_sha256,
    iter_chunks,
    under_retention,
)
from sohoa.core import private
from sohoa.core.faults import maybe_crash
from sohoa.core.hashing import sha256_stream

META_DIR = ".sohoa/meta"
STALE_AFTER = 24 * 3600  # a temporary this old is a leftover, whoever wrote it


class LocalStore:
    """Write-once object store in a directory (see the module docstring for the layout)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()
        try:
            private.make_dir(self.root)  # 0700 when we create it; objects are 0400
        except OSError as exc:
            raise StorageError(f"{self.root}: cannot create the store ({exc.strerror})") from None

    def describe(self) -> str:
        return f"local directory {self.root}"

    # --- paths ------------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _sidecar(self, key: str) -> Path:
        return self.root / META_DIR / (key + ".json")

    # --- writing ----------------------------------------------------------------------------

    def put(
        self,
        key: str,
        data: bytes | BinaryIO,
        *,
        retain_until: datetime | None = None,
        legal_hold: bool = False,
        metadata: dict[str, str] | None = None,
    ) -> StoredObject:
        target = self._path(key)
        meta = check_metadata(metadata)
        until = check_retain_until(retain_until)
        if self.exists(key):  # cheap early refusal; os.link below is what makes it race-free
            raise ObjectExists(f"{key}: already stored (objects are write-once)")
        if target.parent != self.root and target.parent.is_file():
            raise StorageError(f"{key}: a parent of this key is an object in the local store")
        stamp = f"{os.getpid()}-{secrets.token_hex(8)}"
        tmp = target.parent / f".{target.name}.{stamp}.tmp"
        pending: Path | None = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            digest, size = self._write_temp(tmp, data)
            maybe_crash("local.written", key)
            self._verify_temp(tmp, key, digest)
            record = {
                "sha256": digest,
                "size": size,
                "retain_until": until.isoformat() if until else None,
                "legal_hold": bool(legal_hold),
                "metadata": meta,
            }
            pending = self._write_pending_sidecar(key, record, stamp)
            maybe_crash("local.sidecar-pending", key)
            self._publish(tmp, target, key)
            maybe_crash("local.linked", key)
            self._commit_own_sidecar(key, pending, record)
            pending = None
        except OSError as exc:
            raise StorageError(f"{key}: cannot write to {self.root} ({exc.strerror})") from None
        finally:
            with contextlib.suppress(OSError):  # e.g. the folder could not be made
                tmp.unlink(missing_ok=True)
                if pending is not None:  # lost the race, or failed: the sidecar is not ours to publish
                    pending.unlink(missing_ok=True)
        self._clean_folder(target.parent, self._sidecar(key).parent)
        return StoredObject(key, size, digest, until, bool(legal_hold), meta)

    def _write_temp(self, tmp: Path, data: bytes | BinaryIO) -> tuple[str, int]:
        """Stream `data` into `tmp`, hashing each chunk as it is written."""
        digest = hashlib.sha256()
        size = 0
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                for chunk in iter_chunks(data):
                    digest.update(chunk)
                    size += len(chunk)
                    view = memoryview(chunk)
                    while view:  # raw writes may be partial
                        view = view[out.write(view) :]
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.chmod(tmp, 0o400)  # read-only (and private) before anyone can see it under its key
        return digest.hexdigest(), size

    @staticmethod
    def _verify_temp(tmp: Path, key: str, expected: str) -> None:
        # Read back what the filesystem now holds: catches a bad disk, a full disk that
        # truncated silently, or an input that changed while it was being read.
        with builtins.open(tmp, "rb") as reader:
            actual = sha256_stream(reader)
        if actual != expected:
            raise IntegrityError(
                f"{key}: read-back SHA-256 {actual} differs from written {expected}"
            )

    def _publish(self, tmp: Path, target: Path, key: str) -> None:
        if target.is_dir():  # S3 allows keys 'a' and 'a/b' side by side; a filesystem cannot
            raise StorageError(f"{key}: other keys live under this name in the local store")
        try:
            os.link(tmp, target)  # atomic, and never replaces an existing name
        except FileExistsError:
            raise ObjectExists(f"{key}: already stored (objects are write-once)") from None
        _fsync_dir(target.parent)

    def _write_pending_sidecar(self, key: str, record: dict, stamp: str) -> Path:
        """The sidecar, durable under a pending name before the bytes are published."""
        sidecar = self._sidecar(key)
        sidecar.parent.mkdir(parents=True, exist_ok=True)
        pending = sidecar.parent / f".{sidecar.name}.{stamp}.pending"
        try:
            with builtins.open(pending, "x", encoding="utf-8") as out:
                json.dump(record, out, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(pending, 0o400)
            _fsync_dir(sidecar.parent)
        except BaseException:
            pending.unlink(missing_ok=True)
            raise
        return pending

    def _commit_sidecar(self, key: str, pending: Path) -> None:
        # Only the writer that won the link (or a reader recovering its crash) gets here, so
        # replacing is safe: an older sidecar at this name can only be a leftover of a deleted object.
        sidecar = self._sidecar(key)
        os.replace(pending, sidecar)
        _fsync_dir(sidecar.parent)

    def _commit_own_sidecar(self, key: str, pending: Path, record: dict) -> None:
        # A reader that saw the published bytes before this step may have completed it for us
        # (`_recover_sidecar`): the pending name is then gone and the sidecar holds our record.
        try:
            self._commit_sidecar(key, pending)
        except FileNotFoundError:
            if self._read_sidecar(key) != record:
                raise

    def _recover_sidecar(self, key: str) -> dict | None:
        """An object published by a writer that died before its sidecar: finish that writer's step 4."""
        sidecar = self._sidecar(key)
        try:
            candidates = sorted(sidecar.parent.glob(f".{_glob_escape(sidecar.name)}.*.pending"))
        except OSError:
            return None
        if not candidates:
            return None
        try:
            actual = self.sha256_of(key)
            size = self._path(key).stat().st_size
        except (ObjectMissing, OSError):
            return None
        for pending in candidates:
            try:
                record = json.loads(pending.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(record, dict) and record.get("sha256") == actual and record.get("size") == size:
                try:
                    self._commit_sidecar(key, pending)
                except FileNotFoundError:  # another reader recovered it first
                    pass
                return self._read_sidecar(key)
        return None

    # --- temporaries ------------------------------------------------------------------------

    def clean_temporaries(self, prefix: str = "") -> list[str]:
        """Remove the temporaries of dead writers under `prefix` (data `.tmp` files and pending
        sidecars); a pending sidecar whose object was published is completed first. Returns the
        paths removed, relative to the root."""
        prefix = check_prefix(prefix)
        removed: list[str] = []
        folder = prefix.rpartition("/")[0]
        for base in (self.root / folder if folder else self.root, self.root / META_DIR / folder):
            if not base.is_dir():
                continue
            for dirpath, dirnames, _ in os.walk(base):
                if Path(dirpath) == self.root:
                    dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                meta = Path(dirpath).is_relative_to(self.root / META_DIR)
                here = Path(dirpath)
                removed += self._clean_folder(None if meta else here, here if meta else None)
        return sorted(removed)

    def _clean_folder(self, data_dir: Path | None, sidecar_dir: Path | None) -> list[str]:
        removed: list[str] = []
        for folder, suffix in ((data_dir, ".tmp"), (sidecar_dir, ".pending")):
            if folder is None:
                continue
            try:
                names = [n for n in os.listdir(folder) if n.startswith(".") and n.endswith(suffix)]
            except OSError:
                continue
            for name in names:
                path = folder / name
                if not _stale(path):
                    continue
                if suffix == ".pending":
                    key = self._key_of_pending(path)
                    if key is not None and self.exists(key) and self._read_sidecar(key) is None:
                        self._recover_sidecar(key)  # completes it if it matches the bytes
                try:
                    path.unlink()
                except FileNotFoundError:
                    continue
                except OSError:
                    continue
                removed.append(path.relative_to(self.root).as_posix())
        return removed

    def _key_of_pending(self, pending: Path) -> str | None:
        # .sohoa/meta/a/b/.c.pdf.json.<pid>-<token>.pending -> a/b/c.pdf
        name = pending.name[1:].rsplit(".", 2)[0]
        if not name.endswith(".json"):
            return None
        rel = pending.parent.relative_to(self.root / META_DIR).as_posix()
        key = name[: -len(".json")]
        return f"{rel}/{key}" if rel != "." else key

    # --- reading ----------------------------------------------------------------------------

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            return builtins.open(path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectMissing(f"{key}: no such object in {self.describe()}") from None
        except OSError as exc:
            raise StorageError(f"{key}: cannot read ({exc.strerror})") from None

    def get(self, key: str) -> bytes:
        with self.open(key) as reader:
            return reader.read()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def stat(self, key: str) -> StoredObject:
        path = self._path(key)
        try:
            size = path.stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectMissing(f"{key}: no such object in {self.describe()}") from None
        if not path.is_file():
            raise ObjectMissing(f"{key}: no such object in {self.describe()}")
        record = self._read_sidecar(key) or self._recover_sidecar(key)
        if record is None:
            raise IntegrityError(f"{key}: its metadata sidecar is missing (interrupted write?)")
        until = record.get("retain_until")
        return StoredObject(
            key=key,
            size=size,  # what is on disk now, as S3 reports the stored size
            sha256=check_sha256(record.get("sha256"), key),
            retain_until=datetime.fromisoformat(until) if until else None,
            legal_hold=bool(record.get("legal_hold")),
            metadata=dict(record.get("metadata") or {}),
        )

    def _read_sidecar(self, key: str) -> dict | None:
        try:
            record = json.loads(self._sidecar(key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise IntegrityError(f"{key}: unreadable metadata sidecar ({exc})") from None
        if not isinstance(record, dict):
            raise IntegrityError(f"{key}: malformed metadata sidecar")
        return record

    def sha256_of(self, key: str) -> str:
        with self.open(key) as reader:
            return sha256_stream(reader)

    def list(self, prefix: str = "") -> Iterator[str]:
        prefix = check_prefix(prefix)
        folder, _, partial = prefix.rpartition("/")
        base = self.root / folder if folder else self.root
        keys: list[str] = []
        for dirpath, dirnames, filenames in os.walk(base):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            rel = "" if rel == "." else rel + "/"
            # Dot names are internal (sidecars, temporary files), never keys.
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            if dirpath == str(base):
                dirnames[:] = [d for d in dirnames if d.startswith(partial)]
            for name in filenames:
                candidate = rel + name
                if name.startswith(".") or not candidate.startswith(prefix):
                    continue
                if _valid_key(candidate):
                    keys.append(candidate)
        # Python orders str by code point, which is the UTF-8 byte order S3 lists in.
        return iter(sorted(keys))

    # --- deleting ---------------------------------------------------------------------------

    def delete(self, key: str) -> None:
        path = self._path(key)
        if not path.is_file():
            raise ObjectMissing(f"{key}: no such object in {self.describe()}")
        record = self._read_sidecar(key) or {}
        until = record.get("retain_until")
        reason = under_retention(
            datetime.fromisoformat(until) if until else None, bool(record.get("legal_hold"))
        )
        if reason:
            raise RetentionError(f"{key}: cannot delete, the object is under {reason}")
        try:
            # The object first: a crash between the two leaves only a harmless stale sidecar.
            path.unlink()
            _fsync_dir(path.parent)
            self._sidecar(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"{key}: cannot delete ({exc.strerror})") from None


def _valid_key(name: str) -> bool:
    try:
        check_key(name)
        name.encode("utf-8")  # undecodable file names come back with surrogates
    except (StorageError, UnicodeEncodeError):
        return False
    return True


def _fsync_dir(path: Path) -> None:
    """Make a directory entry change (link, rename, unlink) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # some filesystems cannot fsync directories
            raise
    finally:
        os.close(fd)


def _stale(path: Path) -> bool:
    """A temporary whose writer is gone: its pid (in the name) is dead here, or it is a day old."""
    try:
        age = time.time() - path.lstat().st_mtime
    except OSError:
        return False
    if age > STALE_AFTER:
        return True
    stamp = path.name.rsplit(".", 2)[-2]  # <pid>-<token>
    pid = stamp.partition("-")[0]
    if not pid.isdigit():
        return age > 3600  # a temporary of an older version of this store
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)
