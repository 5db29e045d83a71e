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
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Iterator

from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ingest.policy import reason_en, reason_vi
from sohoa.workers import jobs
from sohoa.workers.supervisor import Supervisor

JOB: Final = "watch"
DOSSIER_SIDECAR: Final = "dossier.json"
IGNORED_SUFFIXES: Final = (".json", ".error.txt", ".tmp", ".part", ".crdownload", ".partial")
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
            path.mkdir(parents=True, exist_ok=True)
        return folders


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
            if sidecar.is_file():
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


def candidates(inbox: Path) -> Iterator[Path]:
    """Files to take: not hidden, not sidecars or partial downloads; symlinks are never followed."""
    for root, dirs, files in os.walk(inbox, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith((".", "~$")) or name.lower().endswith(IGNORED_SUFFIXES):
                continue
            yield Path(root) / name


def destination(folders: Folders, path: Path, into: Path) -> Path:
    """Same relative path under `into`, segments cleaned, never outside it, never over another file."""
    relative = [clean_part(p) for p in path.relative_to(folders.inbox).parts]
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
    _seen: dict[Path, tuple[int, int, float]] = field(default_factory=dict)  # size, mtime, stable since
    _items: dict[Path, tuple[int, int, int]] = field(default_factory=dict)  # size, mtime, item id

    def scan(self) -> int:
        """One pass over the inbox; returns the number of files moved out of it."""
        moved = 0
        present = set()
        for path in candidates(self.folders.inbox):
            present.add(path)
            try:
                moved += self._consider(path)
            except FileNotFoundError:
                continue  # staff took it back
        for gone in set(self._seen) - present:
            self._seen.pop(gone, None)
            self._items.pop(gone, None)
        self.supervisor.tend()
        return moved

    def _consider(self, path: Path) -> int:
        if path.is_symlink():
            return self._quarantine_now(path, "symbolic links are not taken; drop the file itself")
        st = path.stat()
        key = (st.st_size, st.st_mtime_ns)
        if not self._stable(path, key):
            return 0
        known = self._items.get(path)
        if known and known[:2] == key:
            item = jobs.get(self.supervisor.archive.catalog, known[2])
        else:
            fields, problem = fields_for(self.folders.inbox, path)
            item = self.supervisor.submit(JOB, path, fields, problem)
            self._items[path] = (*key, item.id)
        if item is None or not item.terminal:
            return 0
        return self._settle(path, item)

    def _stable(self, path: Path, key: tuple[int, int]) -> bool:
        now = time.monotonic()
        seen = self._seen.get(path)
        if seen is None or seen[:2] != key:
            self._seen[path] = (*key, now)
            return self.stable_seconds == 0
        sidecar = path.with_name(path.name + ".json")
        if sidecar.exists() and time.time() - sidecar.stat().st_mtime < self.stable_seconds:
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
            log.info("%s → done (%s %s)", path.name, item.status, record.code)
        else:
            target = destination(self.folders, path, self.folders.quarantine)
            self._move(path, target)
            target.with_name(target.name + ".error.txt").write_text(error_text(item), encoding="utf-8")
            log.warning("%s → quarantine: %s", path.name, item.reason)
        jobs.mark_settled(catalog, item.id)
        self._items.pop(path, None)
        self._seen.pop(path, None)
        return 1

    def _move(self, path: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        sidecar = path.with_name(path.name + ".json")
        shutil.move(path, target)
        if sidecar.exists():
            shutil.move(sidecar, target.with_name(target.name + ".json"))

    def _quarantine_now(self, path: Path, reason: str) -> int:
        target = destination(self.folders, path, self.folders.quarantine)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)  # moves the link itself, never its target
        target.with_name(target.name + ".error.txt").write_text(
            f"Tệp: {path.name}\nLý do: Không nhận liên kết tượng trưng (symlink).\n\n"
            f"File: {path.name}\nReason: {reason}\n", encoding="utf-8")
        return 1

    def run(self, poll_seconds: float = 1.0, stop=lambda: False) -> None:
        recovered = self.supervisor.recover()
        if recovered:
            log.info("sent %d unfinished file(s) again", recovered)
        while not stop():
            self.scan()
            time.sleep(poll_seconds)
