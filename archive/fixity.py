"""`sohoa fixity`: re-read every stored object, compare its SHA-256 with the catalog, record the outcome.

Objects are hashed by streaming (bounded memory). Every record gets a
fixity-checked event, in the catalog and as an object beside the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

import sohoa
from sohoa.archive import catalog_write, records
from sohoa.archive.backends import Archive
from sohoa.archive.catalog import Record
from sohoa.archive.storage import ObjectMissing
from sohoa.core.records import Event, RecordMetadata


@dataclass
class FixityProblem:
    record_id: str
    key: str
    problem: str  # missing | altered
    expected: str
    found: str | None = None


@dataclass
class FixityReport:
    records: int = 0
    objects: int = 0
    bytes: int = 0
    problems: list[FixityProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(archive: Archive, agent: str = "sohoa fixity") -> FixityReport:
    report = FixityReport()
    with archive.catalog.session() as session:
        rows = session.scalars(select(Record).order_by(Record.id)).all()
        work = [(r.id, r.metadata_json, [(o.key, o.sha256, o.size) for o in r.objects]) for r in rows]
    for record_id, metadata_json, objects in work:
        report.records += 1
        found_problems = []
        for key, expected, size in objects:
            report.objects += 1
            try:
                actual = archive.store.sha256_of(key)
            except ObjectMissing:
                found_problems.append(FixityProblem(record_id, key, "missing", expected))
                continue
            report.bytes += size
            if actual != expected:
                found_problems.append(FixityProblem(record_id, key, "altered", expected, actual))
        report.problems.extend(found_problems)
        event = Event(
            record_id=record_id, action="fixity-checked", agent=agent, tool="sha256",
            tool_version=sohoa.__version__, outcome="failure" if found_problems else "success",
            detail="; ".join(f"{p.key}: {p.problem}" for p in found_problems) or f"{len(objects)} objects intact",
        )
        catalog_write.add_event(archive.catalog, event)
        try:
            records.add_event(archive.store, RecordMetadata.model_validate(metadata_json), event)
        except Exception:  # noqa: BLE001 - a broken store must not hide the report; the catalog has the event
            pass
    return report
