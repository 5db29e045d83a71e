"""`sohoa watch`: the hot folder scanning staff drop files into.

    inbox/<agency code>/<dossier code>/<file>     a dossier's component (or result, by sidecar)
    inbox/<agency code>/<file>                    an agency's document with no dossier yet
    <file>.json, dossier.json                     optional metadata (see `fields_for`)

A file is taken once its size and mtime have not changed for
`SOHOA_STABLE_SECONDS`. It stays in the inbox until its record is stored and
the catalog holds its SHA-256; only then is it moved to `done/` (same relative
path). A file that cannot become a record is moved to `quarantine/` with
`<file>.error.txt` saying why, in Vietnamese and English. The watcher never
deletes a file, and its state lives in the job table, so a restart resumes.

The watcher never stops on one entry: a name that is not valid UTF-8 or holds control characters
is quarantined (its raw name escaped in the error file and the job item), FIFOs, sockets, devices
and folders named like documents are skipped with one warning (nothing but a regular file is ever
opened), and an entry that keeps failing is quarantined after `FAILURES_MAX` tries.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import stat
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Iterator

from sohoa.core import codes, private
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.hashing import sha256_file
from sohoa.ingest.policy import reason_en, reason_vi
from sohoa.workers import jobs
from sohoa.workers.supervisor import Supervisor

JOB: Final = "watch"
DOSSIER_SIDECAR: Final = "dossier.json"
IGNORED_SUFFIXES: Final = (".json", ".error.txt", ".tmp", ".part", ".crdownload", ".partial")
DOCUMENT_SUFFIXES: Final = (".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png")
NAME_BYTES_MAX: Final = 200  # a name in done/ or quarantine/, plus " (nn)" and ".error.txt", fits NAME_MAX (255)
FAILURES_MAX: Final = 3  # an entry whose handling raised this many times in a row is quarantined
log = logging.getLogger("sohoa.watch")

@dataclass
class Folders:
    inbox: Path
    done: Path
    quarantine: Path

    @classmethod
    def under(cls, data_dir: Path, inbox: Path | None = None) -> "Folders":
        inbox = (inbox or data_dir / "inbox").resolve()
        folders = cls(inbox, inbox.parent / "done", inbox.parent / "quarantine")
        for path in (folders.inbox, folders.done, folders.quarantine):
            private.make_dir(path)
        return folders


def escaped(text: str) -> str:
    """A name as one printable line: undecodable bytes as \\xNN, control characters as \\n, \\x1b…"""
    decoded = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in decoded)


def name_problem(parts: tuple[str, ...] | list[str]) -> str | None:
    """Why a path under the inbox cannot be taken as it is named (None: it can)."""
    for part in parts:
        try:
            part.encode("utf-8")
        except UnicodeEncodeError:
            return "the name is not valid UTF-8"
        if any(unicodedata.category(ch) == "Cc" for ch in part):
            return "the name holds control characters (newline, tab, escape…)"
    return None


def regular_file(path: Path) -> bool:
    """A regular file (not a link, FIFO, device…); False for anything unreadable, including a
    sidecar name that would be longer than the file system allows."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except (OSError, ValueError):
        return False


def _shorten(part: str, limit: int = NAME_BYTES_MAX) -> str:
    """At most `limit` UTF-8 bytes, the suffix kept."""
    if len(part.encode("utf-8")) <= limit:
        return part
    stem, dot, suffix = part.rpartition(".")
    if not dot or len(suffix) > 16:
        stem, suffix = part, ""
    else:
        suffix = "." + suffix
    budget = limit - len(suffix.encode("utf-8")) - len("…".encode("utf-8"))
    return stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip() + "…" + suffix


def clean_part(part: str) -> str:
    """One path segment from the inbox, NFC and without control characters."""
    text = part.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = unicodedata.normalize("NFC", text)
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text).strip() or "_"


def fields_for(inbox: Path, path: Path) -> tuple[dict, str | None]:
    """(fields, problem): agency and dossier from the folders, then dossier.json, then <file>.json.

    Only gathers what staff said; the codes are checked once, by the pipeline's
    validate stage, when the file is submitted.
    """
    parts = [clean_part(p) for p in path.relative_to(inbox).parts]
    fields: dict = {}
    try:
        if len(parts) < 2:
            raise SohoaError("put files in inbox/<agency code>/[<dossier code>/]: the agency is unknown",
                             ExitCode.INVALID_CODE)
        fields["agency"] = parts[0]
        if len(parts) >= 3:
            fields["dossier"] = parts[1]
        for sidecar in (path.parent / DOSSIER_SIDECAR, path.with_name(path.name + ".json")):
            if regular_file(sidecar):
                fields.update(_read_sidecar(sidecar))
    except SohoaError as error:
        return fields, error.message
    return fields, None


def _read_sidecar(sidecar: Path) -> dict:
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SohoaError(f"{sidecar.name}: not a readable JSON object ({exc})", ExitCode.INVALID_CODE) from None
    if not isinstance(data, dict):
        raise SohoaError(f"{sidecar.name}: must hold a JSON object", ExitCode.INVALID_CODE)
    return data


def entries(inbox: Path) -> Iterator[tuple[Path, str | None]]:
    """Every entry the watcher considers, with the reason it is skipped (None: a file to take).
    Not hidden, not sidecars or partial downloads; symlinks are never followed; entries are only
    `lstat`ed here, never opened."""
    for root, dirs, files in os.walk(inbox, followlinks=False):
        kept = []
        for name in sorted(dirs):
            if name.startswith("."):
                continue
            if name.lower().endswith(DOCUMENT_SUFFIXES) and not os.path.islink(os.path.join(root, name)):
                yield Path(root) / name, "a folder named like a document file: not taken"
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            if name.startswith((".", "~$")) or name.lower().endswith(IGNORED_SUFFIXES):
                continue
            path = Path(root) / name
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue  # gone already
            if stat.S_ISREG(mode) or stat.S_ISLNK(mode):
                yield path, None
            else:
                yield path, f"not a regular file ({_kind(mode)}): not taken"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return name
    return "special file"


def candidates(inbox: Path) -> Iterator[Path]:
    """Files to take (regular files, and symlinks, which the watcher quarantines)."""
    return (path for path, skipped in entries(inbox) if skipped is None)


def destination(folders: Folders, path: Path, into: Path) -> Path:
    """Same relative path under `into`, segments cleaned, never outside it, never over another file."""
    relative = [_shorten(clean_part(p)) for p in path.relative_to(folders.inbox).parts]
    relative = ["_" if p in (".", "..") else p for p in relative]
    target = into.joinpath(*relative)
    if not target.resolve().is_relative_to(into.resolve()):
        target = into / relative[-1]
    stem, suffix, n = target.stem, target.suffix, 2
    while target.exists() or target.with_name(target.name + ".error.txt").exists():
        target = target.with_name(f"{stem} ({n}){suffix}")
        n += 1
    return target


def error_text(item: jobs.JobItem) -> str:
    return (f"Tệp: {item.name}\nLý do: {reason_vi(item.exit_code)}\nChi tiết: {item.reason}\n\n"
            f"File: {item.name}\nReason: {reason_en(item.exit_code)}\n"
            f"Detail: {item.reason}\nSHA-256: {item.sha256}\n")


@dataclass
class HotFolder:
    supervisor: Supervisor
    folders: Folders
    stable_seconds: float
    operator: str = "hot-folder"  # SOHOA_HOTFOLDER_OPERATOR: who scanned, whatever a sidecar says
    _seen: dict[Path, tuple[int, int, float]] = field(default_factory=dict)  # size, mtime, stable since
    _items: dict[Path, tuple[int, int, int]] = field(default_factory=dict)  # size, mtime, item id
    _warned: set[Path] = field(default_factory=set)  # skipped entries already reported
    _failures: dict[Path, int] = field(default_factory=dict)  # entries whose handling raised, in a row
    _stuck: set[Path] = field(default_factory=set)  # could not even be quarantined: left alone

    def scan(self) -> int:
        """One pass over the inbox; returns the number of files moved out of it. No entry, however
        named or whatever it is, can stop the pass."""
        moved = 0
        present = set()
        for path, skipped in entries(self.folders.inbox):
            present.add(path)
            if skipped is not None:
                if path not in self._warned:
                    self._warned.add(path)
                    log.warning("%s: %s", escaped(str(path)), skipped)
                continue
            if path in self._stuck:
                continue
            try:
                moved += self._consider(path)
                self._failures.pop(path, None)
            except FileNotFoundError:
                continue  # staff took it back
            except Exception as error:  # noqa: BLE001 - one bad entry never stops the watcher
                moved += self._failed(path, error)
        for gone in set(self._seen) - present:
            self._seen.pop(gone, None)
            self._items.pop(gone, None)
        self._warned &= present
        self._stuck &= present
        try:
            self.supervisor.tend()
        except Exception as error:  # noqa: BLE001 - a catalog or broker hiccup: tended again next pass
            log.error("sending failed files again failed, next pass retries: %s",
                      escaped(f"{type(error).__name__}: {error}")[:300])
        return moved

    def pending(self) -> list[Path]:
        """Files still to settle (`sohoa watch --once` waits for none to be left)."""
        return [path for path in candidates(self.folders.inbox) if path not in self._stuck]

    def _failed(self, path: Path, error: Exception) -> int:
        count = self._failures.get(path, 0) + 1
        self._failures[path] = count
        detail = escaped(f"{type(error).__name__}: {error}")[:300]
        log.warning("%s: cannot take it (try %d of %d): %s", escaped(str(path)), count, FAILURES_MAX, detail)
        if count < FAILURES_MAX:
            return 0
        self._failures.pop(path, None)
        try:
            return self._quarantine_now(path, "Không xử lý được tệp (lỗi lặp lại).",
                                        f"handling it failed {count} times; last error: {detail}")
        except Exception as again:  # noqa: BLE001 - not even movable: leave it, say so once
            self._stuck.add(path)
            log.error("%s: left in the inbox, cannot move it to quarantine: %s", escaped(str(path)),
                      escaped(str(again))[:300])
            return 0

    def _consider(self, path: Path) -> int:
        if path.is_symlink():
            return self._quarantine_now(path, "Không nhận liên kết tượng trưng (symlink).",
                                        "symbolic links are not taken; drop the file itself")
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode):  # replaced since the listing: never open it
            return 0
        key = (st.st_size, st.st_mtime_ns)
        if not self._stable(path, key):
            return 0
        problem = name_problem(path.relative_to(self.folders.inbox).parts)
        if problem is not None:
            return self._quarantine_now(
                path, "Tên tệp hoặc thư mục có ký tự không hợp lệ (không phải UTF-8 hoặc ký tự điều khiển); "
                "hãy đổi tên rồi thả lại.", f"{problem}; rename it and drop it again", record=True)
        known = self._items.get(path)
        if known and known[:2] == key:
            item = jobs.get(self.supervisor.archive.catalog, known[2])
        else:
            fields, problem = fields_for(self.folders.inbox, path)
            fields["scanned_by"] = self.operator  # staff cannot name who scanned a paper (issue #13)
            item = self.supervisor.submit(JOB, path, fields, problem, scope=self._folder_agency(path))
            self._items[path] = (*key, item.id)
        if item is None or not item.terminal:
            return 0
        return self._settle(path, item)

    def _folder_agency(self, path: Path) -> str | None:
        """The agency folder a file was dropped under: what its sidecars may file it under (and below)."""
        parts = path.relative_to(self.folders.inbox).parts
        if len(parts) < 2:
            return None
        try:
            return codes.agency_code(clean_part(parts[0]))
        except SohoaError:
            return None  # the validate stage quarantines the bad folder name

    def _stable(self, path: Path, key: tuple[int, int]) -> bool:
        now = time.monotonic()
        seen = self._seen.get(path)
        if seen is None or seen[:2] != key:
            self._seen[path] = (*key, now)
            return self.stable_seconds == 0
        sidecar = path.with_name(path.name + ".json")
        if regular_file(sidecar) and time.time() - sidecar.stat().st_mtime < self.stable_seconds:
            return False
        return now - seen[2] >= self.stable_seconds

    def _settle(self, path: Path, item: jobs.JobItem) -> int:
        catalog = self.supervisor.archive.catalog
        if item.status in (jobs.STORED, jobs.DUPLICATE):
            record = catalog.record_by_sha(item.sha256)
            if record is None:  # never move a file whose record is not there
                log.error("%s: item %s says %s but the catalog has no record", path, item.id, item.status)
                return 0
            self._move(path, destination(self.folders, path, self.folders.done))
            log.info("%s → done (%s %s)", escaped(path.name), item.status, record.code)
        else:
            target = destination(self.folders, path, self.folders.quarantine)
            self._move(path, target)
            target.with_name(target.name + ".error.txt").write_text(error_text(item), encoding="utf-8")
            log.warning("%s → quarantine: %s", escaped(path.name), escaped(item.reason or ""))
        jobs.mark_settled(catalog, item.id)
        self._items.pop(path, None)
        self._seen.pop(path, None)
        return 1

    def _move(self, path: Path, target: Path) -> None:
        private.make_dir(target.parent)
        sidecar = path.with_name(path.name + ".json")
        shutil.move(path, target)
        private.make_private(target)  # in the data directory now: nobody else's to read
        if regular_file(sidecar):
            shutil.move(sidecar, target.with_name(target.name + ".json"))
            private.make_private(target.with_name(target.name + ".json"))

    def _quarantine_now(self, path: Path, reason_vi: str, reason_en: str, record: bool = False) -> int:
        """Out of the inbox at once, with an error file naming it escaped; `record` also writes a
        quarantined job item, so the web's and `sohoa jobs`'s lists show it."""
        target = destination(self.folders, path, self.folders.quarantine)
        private.make_dir(target.parent)
        os.replace(path, target)  # moves a link itself, never its target
        if regular_file(target):
            private.make_private(target)
        name = escaped(path.name)
        target.with_name(target.name + ".error.txt").write_text(
            f"Tệp: {name}\nĐường dẫn: {escaped(str(path))}\nLý do: {reason_vi}\nĐã chuyển tới: {target.name}\n\n"
            f"File: {name}\nPath: {escaped(str(path))}\nReason: {reason_en}\nMoved to: {target.name}\n",
            encoding="utf-8")
        log.warning("%s → quarantine: %s", escaped(str(path)), reason_en)
        if record:
            self._record_quarantine(path, target, reason_en)
        return 1

    def _record_quarantine(self, path: Path, target: Path, reason: str) -> None:
        try:
            if not stat.S_ISREG(os.lstat(target).st_mode):
                return
            sha256, size = sha256_file(target)
            catalog = self.supervisor.archive.catalog
            item = jobs.add_item(catalog, JOB, escaped(str(path)), sha256, size, {})
            if not item.terminal:
                jobs.finish(catalog, item.id, jobs.QUARANTINED, reason=f"{escaped(path.name)}: {reason}",
                            exit_code=int(ExitCode.INVALID_CODE))
            jobs.mark_settled(catalog, item.id)
        except Exception as error:  # noqa: BLE001 - the error file is there; the job list is a convenience
            log.warning("%s: quarantined, but not listed in the jobs: %s", escaped(str(path)), error)

    def run(self, poll_seconds: float = 0.5, stop=lambda: False) -> None:
        recovered = self.supervisor.recover()
        if recovered:
            log.info("sent %d unfinished file(s) again", recovered)
        while not stop():
            try:
                self.scan()
            except Exception as error:  # noqa: BLE001 - a catalog or broker hiccup: try again next pass
                log.error("hot folder pass failed, trying again: %s", escaped(f"{type(error).__name__}: {error}")[:300])
            time.sleep(poll_seconds)
