"""`sohoa batch`: digitise a back-file folder through the workers, with live progress and a report.

Metadata come from a manifest CSV (columns: path, agency, dossier, procedure,
kind, doc_type, owner_id, title, issued_on, retention, and optionally any other
ingest field) or, without one, from the folder layout of the hot folder. A job
has a name; running the same job again skips every file that already ended.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Final, Iterator

from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ingest.policy import FIELD_NAMES
from sohoa.workers import jobs
from sohoa.workers.hotfolder import entries, escaped, fields_for, name_problem
from sohoa.workers.supervisor import Supervisor

MANIFEST_COLUMNS: Final = ("path", "agency", "dossier", "procedure", "kind", "doc_type", "owner_id",
                           "title", "issued_on", "retention")
JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")
REPORT_COLUMNS: Final = ("path", "status", "record_id", "record_code", "pages", "seconds", "attempts",
                         "exit_code", "reason")
log = logging.getLogger("sohoa.batch")


@dataclass
class Entry:
    path: Path
    fields: dict
    problem: str | None = None
    where: str = ""  # the manifest line, prefixed to a quarantine reason


def default_job_name(folder: Path) -> str:
    resolved = folder.resolve()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", resolved.name).strip("-.") or "batch"
    return f"{stem[:100]}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"


def check_job_name(name: str) -> str:
    if not JOB_NAME.match(name):
        raise SohoaError(f"invalid job name {name!r}: letters, digits, '.', '_' and '-' only", ExitCode.USAGE)
    return name


def from_folder(folder: Path) -> Iterator[Entry]:
    """Regular files (and symlinks, refused) under `folder`; FIFOs, devices and names that are not
    UTF-8 or hold control characters are left out with a warning (they have no place in a report)."""
    folder = folder.resolve()
    for path, skipped in entries(folder):
        problem = skipped or name_problem(path.relative_to(folder).parts)
        if problem is not None:
            log.warning("%s: %s", escaped(str(path)), problem)
            continue
        if path.is_symlink():
            yield Entry(path, {}, "symbolic links are not taken; copy the file itself")
            continue
        fields, problem = fields_for(folder, path)
        yield Entry(path, fields, problem)


def from_manifest(folder: Path, manifest: Path) -> tuple[list[Entry], list[str]]:
    """(entries, line problems that name no usable file). Paths are relative to `folder`, never outside."""
    folder = folder.resolve()
    try:
        handle = manifest.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise SohoaError(f"{manifest}: cannot read manifest ({exc.strerror})", ExitCode.INPUT_MISSING) from None
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        known = set(FIELD_NAMES) | {"path"}
        if "path" not in header or set(header) - known:
            extra = ", ".join(sorted(set(header) - known)) or "no 'path' column"
            raise SohoaError(f"{manifest}: bad header ({extra}); expected {','.join(MANIFEST_COLUMNS)}",
                             ExitCode.USAGE)
        entries, problems = [], []
        for line, row in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            relative = row.pop("path", "")
            path = (folder / relative).resolve()
            if not relative or not path.is_relative_to(folder):
                problems.append(f"line {line}: path {relative!r} is not inside {folder}")
            elif not path.is_file():
                problems.append(f"line {line}: {relative}: no such file")
            else:  # the fields are validated once, by the pipeline's validate stage at submit
                entries.append(Entry(path, {k: v for k, v in row.items() if v}, where=f"line {line}"))
    return entries, problems


def submit_all(supervisor: Supervisor, job_name: str, entries: list[Entry],
               on_submit: Callable[[int], None] | None = None) -> None:
    for n, entry in enumerate(entries, start=1):
        supervisor.submit(job_name, entry.path, entry.fields, entry.problem, entry.where)
        if on_submit:
            on_submit(n)


def wait(supervisor: Supervisor, job_name: str, on_tick: Callable[[dict], None] | None = None,
         poll_seconds: float = 0.2, timeout: float | None = None, index_grace: float = 120) -> dict:
    """Until every item of the job ended and every stored record is searchable (its index task
    ran), or `index_grace` seconds after the last ending; tends failed and lost items meanwhile.
    `counts["unindexed"]` says how many stored records the index still lacks."""
    started, ended_at = time.monotonic(), None
    while True:
        counts = jobs.counts(supervisor.archive.catalog, job_name)
        if on_tick:
            on_tick(counts)
        if sum(counts.get(s, 0) for s in jobs.TERMINAL) >= counts["files"]:
            ended_at = ended_at or time.monotonic()
            counts["unindexed"] = jobs.unindexed(supervisor.archive.catalog, job_name)
            if not counts["unindexed"] or time.monotonic() - ended_at > index_grace:
                return counts
        if timeout is not None and time.monotonic() - started > timeout:
            raise SohoaError(f"job {job_name}: not finished after {timeout:.0f} s", ExitCode.INTERRUPTED)
        supervisor.tend()
        time.sleep(poll_seconds)


def write_report(catalog, job_name: str, folder: Path, problems: list[str]) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"path": i.path, "status": i.status, "record_id": i.record_id, "record_code": i.record_code,
             "pages": i.pages, "seconds": i.seconds, "attempts": i.attempts, "exit_code": i.exit_code,
             "reason": i.reason} for i in jobs.items(catalog, job_name)]
    csv_path, json_path = folder / "report.csv", folder / "report.json"
    with csv_path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, REPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    summary = jobs.counts(catalog, job_name)
    json_path.write_text(json.dumps({"job": job_name, "summary": summary, "manifest_problems": problems,
                                     "items": rows}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return csv_path, json_path


def expected_pages(counts: dict) -> float:
    """The job's pages: those counted so far, and for files not opened yet the average of the others."""
    counted = counts.get("files_counted", 0)
    if not counted:
        return counts["pages"]
    return counts["pages"] + max(0, counts["files"] - counted) * counts["pages"] / counted


class Progress:
    """Files, pages, pages/min, ETA and failures: a rich bar on a terminal, a line every 10 s otherwise."""

    def __init__(self, job_name: str, total: int) -> None:
        self.job_name, self.total = job_name, total
        self.shown = {"files": 0, "pages": 0, "pages_done": 0, "ended": 0}
        self.started = time.monotonic()
        self.last_line = 0.0
        self.tty = sys.stderr.isatty()
        self.bar = None
        if self.tty:
            from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self.bar = RichProgress(TextColumn("[bold]{task.description}"), BarColumn(),
                                    TextColumn("{task.fields[status]}"), TimeElapsedColumn(), transient=False)
            self.task = self.bar.add_task(job_name, total=total, status="")
            self.bar.start()

    def forward(self, counts: dict) -> dict:
        """The counts as shown: never below what was shown before. A file sent again (its worker
        died) counts its pages from zero in the catalog, but the user saw them done once."""
        ended = sum(counts.get(s, 0) for s in jobs.TERMINAL)
        for key, value in (("files", counts["files"]), ("pages", counts["pages"]),
                           ("pages_done", counts["pages_done"]), ("ended", ended)):
            self.shown[key] = max(self.shown[key], value)
        return {**counts, **self.shown}

    def line(self, counts: dict) -> str:
        counts = self.forward(counts)
        done = counts["ended"]
        minutes = max(1e-9, (time.monotonic() - self.started) / 60)
        rate = counts["pages_done"] / minutes
        remaining = max(0, expected_pages(counts) - counts["pages_done"])
        eta = f"{remaining / rate:.1f} min" if rate > 0 and remaining else "-"
        return (f"{done}/{counts['files']} files, {counts['pages_done']}/{counts['pages']} pages, "
                f"{rate:.0f} pages/min, ETA {eta}, {counts.get(jobs.QUARANTINED, 0)} quarantined")

    def __call__(self, counts: dict) -> None:
        counts = self.forward(counts)
        done = counts["ended"]
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=max(1, counts["files"]), status=self.line(counts))
        elif time.monotonic() - self.last_line >= 10 or done >= counts["files"]:
            self.last_line = time.monotonic()
            print(f"{self.job_name}: {self.line(counts)}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
