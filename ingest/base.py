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
class Original:
    """An identified input: its bytes at `path`, the name staff gave it, its type and SHA-256."""

    path: Path
    name: str
    kind: str  # pdf | tiff | jpeg | png (sniffed from the bytes)
    sha256: str
    size: int


@dataclass
class Stored:
    path: Path
    record_id: str
    code: str
    pages: int
    status: str = "stored"


@dataclass
class Duplicate:
    path: Path
    record_id: str
    code: str
    status: str = "duplicate"


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
