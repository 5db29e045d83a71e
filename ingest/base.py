"""The stage contract of the ingest pipeline, written down once: what a stage is and what it returns.

A stage is a plain function `input value + context → output value`, declared in
`ingest/pipeline.py` in the order the data flows. Runners (`ingest/runner.py`
in-process, `workers/tasks.py` through Celery) only call stages and move their
values around; they hold no stage logic of their own.

Rules every stage keeps:
- Expected outcomes are typed values, never exceptions: a file that cannot
  become a record is `Quarantined(reason, exit_code)`; bytes already archived
  are `Duplicate`; a finished record is `Stored`. A pipeline stops at the first
  stage that returns one of these.
- Unexpected failures of what we depend on (storage, catalog, index, broker)
  raise; they are retry-safe because every stage is idempotent: the original's
  SHA-256 decides the record id, staged objects are write-once, and the catalog
  refuses a second record for the same bytes.
- A stage never deletes or moves the original.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union


@dataclass(frozen=True)
class SourceRef:
    """Where a document cut out of a scanned stack came from (the split stage, issue #15)."""

    sha256: str  # the stack as scanned
    name: str
    size: int
    path: str  # its local copy (the first document's record keeps it)
    first: int  # pages first..last of the stack, 0-based inclusive
    last: int
    page_count: int  # pages in the stack
    separator_pages: tuple[int, ...] = ()  # separator sheets next to this document
    skipped_pages: tuple[int, ...] = ()  # every cover and separator sheet of the stack
    record_id: str = ""  # deterministic: the stack's SHA-256 and the page range
    keeps_stack: bool = False  # this record's folder stores the whole stack
    stack_record: str = ""  # the record whose folder stores it (the stack's first document)
    receipt: bool = False  # the one-stop receipt page

    @property
    def page_range(self) -> str:
        """1-based, as people count pages: "3-5" or "7"."""
        return f"{self.first + 1}" if self.first == self.last else f"{self.first + 1}-{self.last + 1}"


@dataclass(frozen=True)
class Original:
    """An identified input: its bytes at `path`, the name staff gave it, its type and SHA-256."""

    path: Path
    name: str
    kind: str  # pdf | tiff | jpeg | png (sniffed from the bytes)
    sha256: str
    size: int
    source: SourceRef | None = None  # set when these bytes are one document cut out of a stack
    notes: tuple[str, ...] = ()  # what reading the codes on its pages warned about (split stage)


@dataclass
class Stored:
    path: Path
    record_id: str
    code: str
    pages: int
    status: str = "stored"
    page_range: str | None = None  # pages of the scanned file this record holds, when it was split


@dataclass
class Duplicate:
    path: Path
    record_id: str
    code: str
    status: str = "duplicate"
    page_range: str | None = None


@dataclass
class Quarantined:
    path: Path
    reason: str
    exit_code: int
    status: str = "quarantined"


IngestResult = Union[Stored, Duplicate, Quarantined]
Ended = Union[Duplicate, Quarantined]  # what makes a pipeline stop before its last stage


def ended(value: object) -> bool:
    """True when a stage returned an end (duplicate or quarantine) instead of its output."""
    return isinstance(value, (Duplicate, Quarantined))
