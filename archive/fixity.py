"""`sohoa fixity`: does the archive hold what it says it holds?

For every record, whichever side it is found on (the catalog or the storage folders):

- **drift**: the catalog row against the record's current stored metadata, both ways: a stored
  record the catalog lacks (`not-in-catalog`), a catalog row whose folder is gone
  (`not-in-storage`), a folder left without metadata (`no-metadata`), fields that disagree
  (`field`: code, dossier, kind, owner, agency, metadata version, folder, object hashes);
- **hashes**: every object the stored metadata lists is re-read by streaming (bounded memory)
  and its SHA-256 compared (`missing`, `altered`); so is the metadata object itself.

Every finding is one line (`reason`, control characters escaped). Every record checked gets a
`fixity-checked` event, in the catalog and, where the folder still exists, as an object beside
the record. `repair=True` makes the stored metadata win: missing catalog rows are inserted,
disagreeing ones updated, rows whose folder is really gone dropped, each with a `fixity-repaired`
event. An unreachable store is an error of the whole run (`StorageUnavailable`), never a report
that everything is missing: a row is dropped only when the store answered that its folder is empty.

Every run (full, repair or a scheduled slice, see `run_slice` and workers/schedule.py) is kept in
the `fixity_runs` table for `sohoa fixity --last` and the web's admin page.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Final, Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

import sohoa
from sohoa.archive import catalog_write, records
from sohoa.archive.backends import Archive
from sohoa.archive.catalog import FixityRun, Record, ReuseLink, StoredObjectRow
from sohoa.archive.local_store import LocalStore
from sohoa.archive.storage import ObjectMissing, StorageError, StorageUnavailable
from sohoa.core.records import Event, ObjectInfo, RecordMetadata

FINDINGS_KEPT: Final = 200  # per run in the catalog; the report itself has them all
# (metadata field, catalog column): what must agree between the stored metadata and its row.
COMPARED: Final = (("record_code", "code"), ("dossier_code", "dossier_code"), ("kind", "kind"),
                   ("owner_id", "owner_id"), ("agency_code", "agency_code"))
REPAIRABLE: Final = frozenset({"not-in-catalog", "not-in-storage", "field"})


def one_line(text: object, limit: int = 300) -> str:
    """`text` on one line: control and format characters escaped (\\n, \\x1b, \\u202e), cut at `limit`."""
    out = []
    for ch in str(text):
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch) or
                       (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"))
        else:
            out.append(ch)
    line = "".join(out)
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass
class FixityProblem:
    record_id: str
    key: str  # the object, or the record folder for drift
    problem: str  # missing | altered | not-in-catalog | not-in-storage | no-metadata | field | unreadable
    expected: str = ""
    found: str | None = None
    reason: str = ""
    repaired: bool = False
    note: str = ""  # after a repair: "repaired" or why not

    def __post_init__(self) -> None:
        self.reason = one_line(self.reason or f"{self.key}: {self.problem}", 1000)


@dataclass
class FixityReport:
    kind: str = "full"  # full | repair | slice
    total: int = 0  # records known to the catalog or storage
    records: int = 0  # records checked by this run
    objects: int = 0
    bytes: int = 0
    problems: list[FixityProblem] = field(default_factory=list)
    cursor: str | None = None
    cleaned: int = 0  # leftover temporaries of interrupted writes removed
    due: int = 0  # a slice: records this period should check (the rest of a catch-up runs in further slices)

    @property
    def ok(self) -> bool:
        """Nothing found, or (after a repair) everything found was repaired."""
        return all(p.repaired for p in self.problems)

    @property
    def repaired(self) -> int:
        return sum(p.repaired for p in self.problems)

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok, "repaired": self.repaired}


@dataclass
class _Stored:
    prefix: str
    meta: RecordMetadata | None = None
    objects: dict[str, ObjectInfo] = field(default_factory=dict)
    version: int = 0
    error: str = ""


# --- reading both sides ------------------------------------------------------------------------


def ensure_reachable(archive: Archive) -> None:
    """A store that cannot answer makes the run an error: an unmounted disk lists nothing, and
    nothing is not the same as every folder gone."""
    store = archive.store
    if isinstance(store, LocalStore) and not store.root.is_dir():
        raise StorageUnavailable(f"{store.describe()} not found (unmounted?): fixity checked nothing")


def _catalog_ids(archive: Archive) -> dict[str, str]:
    with archive.catalog.session() as session:
        return {record_id: prefix for record_id, prefix in session.execute(select(Record.id, Record.prefix))}


def _stored_prefixes(archive: Archive, catalogued: int) -> dict[str, list[str]]:
    """record id → its folders in storage (more than one is itself a finding).

    A store that lists no record at all while the catalog has some is taken for an unmounted
    disk or a wrong bucket, not for an archive that lost everything: nothing is reported missing
    and nothing is dropped (delete the catalog rows by hand if that really happened)."""
    found: dict[str, list[str]] = {}
    for prefix in records.list_record_prefixes(archive.store):
        found.setdefault(prefix.rsplit("/", 1)[-1], []).append(prefix)
    if catalogued and not found:
        raise StorageUnavailable(f"{archive.store.describe()} holds no record while the catalog lists {catalogued}: "
                                 "is it mounted, is it the right bucket? fixity checked nothing")
    return found


def _read_stored(archive: Archive, prefix: str) -> _Stored:
    stored = _Stored(prefix)
    try:
        stored.meta, stored.objects, stored.version = records.current_metadata(archive.store, prefix)
    except StorageUnavailable:
        raise
    except (ObjectMissing, StorageError, ValueError, KeyError) as exc:  # unreadable JSON, no metadata
        stored.error = f"{type(exc).__name__}: {exc}"
    return stored


# --- the check -----------------------------------------------------------------------------------


def _compare(row: Record, stored: _Stored) -> list[str]:
    """Why the catalog row and the stored metadata disagree ([] when they agree)."""
    meta = stored.meta
    assert meta is not None
    why = []
    for attribute, column in COMPARED:
        ours, theirs = getattr(row, column), getattr(meta, attribute)
        theirs = theirs.value if hasattr(theirs, "value") else theirs
        if ours != theirs:
            why.append(f"{column}: catalog {ours!r}, storage {theirs!r}")
    if row.metadata_version != stored.version:
        why.append(f"metadata version: catalog {row.metadata_version}, storage {stored.version}")
    if row.prefix != stored.prefix:
        why.append(f"folder: catalog {row.prefix!r}, storage {stored.prefix!r}")
    catalog_objects = {o.name: (o.key, o.sha256) for o in row.objects}
    stored_objects = {name: (info.key, info.sha256) for name, info in stored.objects.items()}
    for name in sorted(set(catalog_objects) | set(stored_objects)):
        if catalog_objects.get(name) != stored_objects.get(name):
            why.append(f"object {name}: catalog and storage name other bytes")
    return why


def _hash_objects(archive: Archive, record_id: str, objects: dict[str, ObjectInfo],
                  report: FixityReport) -> list[FixityProblem]:
    problems = []
    for name, info in sorted(objects.items()):
        report.objects += 1
        try:
            actual = archive.store.sha256_of(info.key)
        except ObjectMissing:
            problems.append(FixityProblem(record_id, info.key, "missing", info.sha256,
                                          reason=f"{info.key}: missing from storage"))
            continue
        report.bytes += info.size
        if actual != info.sha256:
            problems.append(FixityProblem(record_id, info.key, "altered", info.sha256, actual,
                                          reason=f"{info.key}: SHA-256 {actual[:12]}…, recorded {info.sha256[:12]}…"))
    return problems


def _check_one(archive: Archive, record_id: str, catalog_prefix: str | None, prefixes: list[str],
               report: FixityReport) -> tuple[list[FixityProblem], _Stored | None]:
    """The findings for one record, and what storage holds for it (None: no readable folder)."""
    problems: list[FixityProblem] = []
    if len(prefixes) > 1:
        problems.append(FixityProblem(record_id, prefixes[0], "duplicate-folder",
                                      reason=f"record {record_id} is stored in {len(prefixes)} folders: "
                                             + ", ".join(prefixes)))
    stored_prefix = (catalog_prefix if catalog_prefix in prefixes else prefixes[0]) if prefixes else None
    stored = _read_stored(archive, stored_prefix) if stored_prefix else None
    with archive.catalog.session() as session:
        row = session.get(Record, record_id)
        if row is not None:
            row.objects  # load while the session is open
    if stored is not None and stored.meta is None:
        problems.append(FixityProblem(record_id, stored.prefix, "unreadable",
                                      reason=f"{stored.prefix}: metadata unreadable: {stored.error}"))
        return problems, None
    if row is None:
        assert stored is not None and stored.meta is not None
        problems.append(FixityProblem(record_id, stored.prefix, "not-in-catalog",
                                      reason=f"{stored.prefix}: stored record {stored.meta.record_code} "
                                             "(metadata version {}) is not in the catalog".format(stored.version)))
        problems += _hash_objects(archive, record_id, stored.objects, report)
        return problems, stored
    if stored is None:
        left = list(archive.store.list(f"{row.prefix}/"))  # StorageUnavailable propagates: an error, not a finding
        if left:
            problems.append(FixityProblem(record_id, row.prefix, "no-metadata",
                                          reason=f"{row.prefix}: catalog record {row.code} has {len(left)} objects "
                                                 "in storage but no metadata"))
        else:
            problems.append(FixityProblem(record_id, row.prefix, "not-in-storage",
                                          reason=f"{row.prefix}: catalog record {row.code} has no folder in storage"))
        return problems, None
    why = _compare(row, stored)
    if why:
        problems.append(FixityProblem(record_id, stored.prefix, "field", reason=f"{row.code}: " + "; ".join(why)))
    problems += _hash_objects(archive, record_id, stored.objects, report)
    return problems, stored


def _event(record_id: str, action: str, agent: str, problems: list[FixityProblem], intact: str) -> Event:
    failed = [p for p in problems if not (action == "fixity-repaired" or p.repaired)]
    return Event(record_id=record_id, action=action, agent=agent, tool="sha256", tool_version=sohoa.__version__,
                 outcome="failure" if failed else "success",
                 detail=one_line("; ".join(p.reason for p in problems) or intact, 2000))


def _write_event(archive: Archive, stored: _Stored | None, event: Event) -> None:
    catalog_write.add_event(archive.catalog, event)
    if stored is not None and stored.meta is not None:
        try:
            records.add_event(archive.store, stored.meta, event, stored.prefix)
        except StorageError:  # a read-only or full store must not hide the report; the catalog has it
            pass


def _check_ids(archive: Archive, ids: Iterable[str], catalog_ids: dict[str, str],
               stored_ids: dict[str, list[str]], report: FixityReport, agent: str, repair: bool) -> None:
    blocked = []
    for record_id in ids:
        report.records += 1
        problems, stored = _check_one(archive, record_id, catalog_ids.get(record_id),
                                      stored_ids.get(record_id, []), report)
        if repair:
            _repair(archive, record_id, problems, stored, agent)
            if any(p.problem in REPAIRABLE and not p.repaired for p in problems):
                blocked.append((record_id, problems, stored))
        report.problems.extend(problems)
        _write_event(archive, stored, _event(record_id, "fixity-checked", agent, problems,
                                             f"{len(stored.objects) if stored else 0} objects intact"))
    # A repair refused by a unique code another row still held may pass once that row is repaired.
    for record_id, problems, stored in blocked:
        _repair(archive, record_id, problems, stored, agent)


def _clean_leftovers(archive: Archive, report: FixityReport) -> None:
    """Temporaries interrupted writes left behind (those of live writers are kept)."""
    report.cleaned = len(records.clean_temporaries(archive.store))


def _inventory(archive: Archive, report: FixityReport):
    """(catalog ids, stored prefixes by id, every id on either side, sorted), after checking the store
    answers and cleaning leftover temporaries: what every kind of run starts from."""
    ensure_reachable(archive)
    _clean_leftovers(archive, report)
    catalog_ids = _catalog_ids(archive)
    stored_ids = _stored_prefixes(archive, len(catalog_ids))
    ids = sorted(set(catalog_ids) | set(stored_ids))
    report.total = len(ids)
    return catalog_ids, stored_ids, ids


def check(archive: Archive, agent: str = "sohoa fixity", repair: bool = False) -> FixityReport:
    """Every record, both ways; with `repair`, the stored metadata wins. The run is recorded."""
    report = FixityReport(kind="repair" if repair else "full")
    run_id = _start_run(archive, report.kind)
    try:
        catalog_ids, stored_ids, ids = _inventory(archive, report)
        _check_ids(archive, ids, catalog_ids, stored_ids, report, agent, repair)
    except StorageError as exc:
        _finish_run(archive, run_id, report, error=exc.message)
        raise
    _finish_run(archive, run_id, report)
    return report


# --- slices --------------------------------------------------------------------------------------


def slice_size(total: int, slices: int) -> int:
    """Records per run so that `slices` runs cover `total` records (also: `total` records still
    to check in a pass over `slices` periods left in it)."""
    return max(1, math.ceil(total / max(1, slices)))


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every time we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _slice_runs():
    """Slice runs that count for the cursor and the pass: a run that ended in an error checked
    nothing reliably and must not move the cursor back to the first record."""
    return select(FixityRun).where(FixityRun.kind == "slice", FixityRun.status != "error")


def _last_wrap(session) -> int | None:
    """The id of the run that ended the last pass (checked the last record by id)."""
    return session.scalar(select(func.max(FixityRun.id)).where(
        FixityRun.kind == "slice", FixityRun.status != "error", FixityRun.finished_at.is_not(None),
        FixityRun.cursor == ""))


def last_cursor(archive: Archive) -> str:
    """Where the next slice starts: after the record id the last finished slice ended on."""
    with archive.catalog.session() as session:
        cursor = session.scalar(_slice_runs().with_only_columns(FixityRun.cursor)
                                .where(FixityRun.finished_at.is_not(None))
                                .order_by(FixityRun.id.desc()).limit(1))
    return cursor or ""


def pass_started(archive: Archive) -> datetime | None:
    """When the current pass over the records began: the start of its first slice run (the first
    after the run that ended the previous pass), or None before any."""
    with archive.catalog.session() as session:
        wrap = _last_wrap(session)
        query = _slice_runs().with_only_columns(func.min(FixityRun.started_at))
        if wrap is not None:
            query = query.where(FixityRun.id > wrap)
        started = session.scalar(query)
    return _aware(started) if started is not None else None


def slice_running(archive: Archive, since: datetime) -> bool:
    """Is a slice run that started after `since` still unfinished? (One that started earlier is
    taken for a process that died mid-run: it no longer holds the schedule back.)"""
    with archive.catalog.session() as session:
        started = session.scalars(select(FixityRun.started_at).where(
            FixityRun.kind == "slice", FixityRun.finished_at.is_(None))).all()
    return any(_aware(moment) > since for moment in started)


def claim_slot(archive: Archive, slot: int, started: datetime | None = None) -> int | None:
    """Take the scheduled period `slot` for this process: the run id, or None if another has it."""
    with archive.catalog.session() as session:
        if session.scalar(select(FixityRun.id).where(FixityRun.slot == slot)) is not None:
            return None
    try:
        return _start_run(archive, "slice", slot, started)
    except SqlIntegrityError:
        return None


def start_slice(archive: Archive, started: datetime | None = None) -> int:
    """A slice run outside any slot: the further runs of a scheduled catch-up."""
    return _start_run(archive, "slice", None, started)


def run_slice(archive: Archive, slices: int, agent: str = "sohoa fixity (scheduled)",
              run_id: int | None = None, periods_left: int | None = None, want: int | None = None) -> FixityReport:
    """Check the next records by id, after the last slice's cursor, wrapping at the end.

    How many: `want` if given; else, with `periods_left` (the schedule's periods left in the
    current pass), the records not yet checked in this pass shared over those periods, so a pass
    ends in time whatever periods were missed; else 1/`slices` of the records, so `slices` runs
    cover every record. One run checks at most 1/`slices` of the records (its time is bounded);
    `report.due` says how many were wanted, the caller runs further slices for the rest.
    Storage is listed whole each time: listing is cheap next to hashing, and a stored record the
    catalog lacks must be seen by some slice."""
    report = FixityReport(kind="slice")
    run_id = run_id if run_id is not None else _start_run(archive, "slice")
    try:
        catalog_ids, stored_ids, ids = _inventory(archive, report)
        cursor = last_cursor(archive)
        after = [i for i in ids if i > cursor]
        share = slice_size(len(ids), slices)
        if want is None:
            want = share if periods_left is None else slice_size(len(after), periods_left)
        report.due = min(want, len(after))
        chosen = after[: min(want, share)]
        # At the end of the ids the next slice starts again from the first.
        report.cursor = "" if len(chosen) == len(after) else chosen[-1]
        _check_ids(archive, chosen, catalog_ids, stored_ids, report, agent, repair=False)
    except StorageError as exc:
        _finish_run(archive, run_id, report, error=exc.message)
        raise
    _finish_run(archive, run_id, report)
    return report


# --- repair --------------------------------------------------------------------------------------


def _repair(archive: Archive, record_id: str, problems: list[FixityProblem], stored: _Stored | None,
            agent: str) -> None:
    """The stored metadata wins. Each repair done gets a `fixity-repaired` event."""
    todo = [p for p in problems if p.problem in REPAIRABLE]
    if not todo:
        return
    try:
        with archive.catalog.session() as session, session.begin():
            if any(p.problem == "not-in-storage" for p in todo):
                row = session.get(Record, record_id)
                # Asked again inside the transaction: dropped only if the store still answers "empty".
                if row is not None and not any(True for _ in archive.store.list(f"{row.prefix}/")):
                    session.execute(delete(ReuseLink).where(ReuseLink.record_id == record_id))
                    session.delete(row)
            elif stored is not None and stored.meta is not None:
                _replace_row(archive, session, record_id, stored)
    except (SqlIntegrityError, StorageUnavailable, ObjectMissing) as exc:
        for problem in todo:
            problem.note = one_line(f"not repaired: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        return
    for problem in todo:
        problem.repaired, problem.note = True, "repaired"
    _write_event(archive, stored, _event(record_id, "fixity-repaired", agent, todo, ""))


def _replace_row(archive: Archive, session, record_id: str, stored: _Stored) -> None:
    """Make the catalog row say what the stored metadata says (insert it, with its stored events,
    if it is missing), through catalog_write's one mapping from metadata to columns."""
    meta = stored.meta
    assert meta is not None
    row = session.get(Record, record_id)
    if row is None:
        events = records.read_events(archive.store, meta, stored.prefix)
        catalog_write.insert_record(session, meta, stored.objects, events, stored.prefix)
        session.flush()
        catalog_write.restore_reuse_links(session, events, meta)
        session.flush()
        return
    row.objects.clear()
    session.flush()  # the old object rows go first: object keys are unique
    catalog_write._apply(row, meta, stored.objects, stored.prefix)
    row.objects = [StoredObjectRow(name=name, key=info.key, sha256=info.sha256, size=info.size)
                   for name, info in stored.objects.items()]
    session.flush()
    catalog_write._mark_stored(session, meta)


# --- the runs table ------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _start_run(archive: Archive, kind: str, slot: int | None = None, started: datetime | None = None) -> int:
    with archive.catalog.session() as session, session.begin():
        run = FixityRun(kind=kind, slot=slot, status="running", started_at=started or _now(), total=0, checked=0, objects=0,
                        bytes=0, problems=0, repaired=0, findings=[])
        session.add(run)
        session.flush()
        return run.id


def _finish_run(archive: Archive, run_id: int, report: FixityReport, error: str | None = None) -> None:
    with archive.catalog.session() as session, session.begin():
        run = session.get(FixityRun, run_id)
        run.finished_at = _now()
        run.status = "error" if error else ("ok" if not report.problems else "problems")
        run.total, run.checked, run.objects, run.bytes = report.total, report.records, report.objects, report.bytes
        run.problems, run.repaired, run.cursor = len(report.problems), report.repaired, report.cursor
        run.findings = [asdict(p) for p in report.problems[:FINDINGS_KEPT]]
        run.error = one_line(error) if error else None


def last_run(archive: Archive) -> FixityRun | None:
    """The newest run that ended (any kind)."""
    with archive.catalog.session() as session:
        return session.scalar(select(FixityRun).where(FixityRun.finished_at.is_not(None))
                              .order_by(FixityRun.finished_at.desc(), FixityRun.id.desc()).limit(1))


def run_dict(run: FixityRun) -> dict:
    return {"id": run.id, "kind": run.kind, "status": run.status, "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None, "total": run.total,
            "checked": run.checked, "objects": run.objects, "bytes": run.bytes, "problems": run.problems,
            "repaired": run.repaired, "cursor": run.cursor, "error": run.error, "findings": run.findings}
