"""The in-process runner: the stages of ingest/pipeline.py, one after the other, in this process.

Used by `sohoa ingest`, benchmarks and tests. The distributed runner
(workers/tasks.py) calls the same stages; both end a file in the same typed
result with the same reason. The original is only read, never moved or deleted.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Mapping

from sohoa.archive.backends import Archive
from sohoa.core.settings import get_settings
from sohoa.ingest import pipeline
from sohoa.ingest.base import Duplicate, IngestResult, Quarantined, Stored, ended
from sohoa.ingest.policy import IngestFields
from sohoa.ocr.pipeline import OcrOptions


def ingest_file(path: Path, fields: IngestFields | Mapping[str, object], archive: Archive, options: OcrOptions,
                agent: str = "sohoa", index=None, name: str | None = None) -> IngestResult:
    """One file → Stored | Duplicate | Quarantined. Storage and catalog outages raise (retry-safe)."""
    original = pipeline.identify(path, name)
    if ended(original):
        return original
    checked = pipeline.validate(fields, path)
    if ended(checked):
        return checked
    duplicate = pipeline.dedup(original.sha256, path, archive.catalog)
    if duplicate is not None:
        return duplicate
    with tempfile.TemporaryDirectory(prefix="sohoa-ingest-") as work:
        planned = pipeline.plan(original, checked, options)
        if ended(planned):
            return planned
        pages = pipeline.recognise(planned, options)
        assembled = pipeline.assemble(planned, pages, Path(work), options)
        if ended(assembled):
            return assembled
        settings = get_settings()
        described = pipeline.extract(assembled, checked, settings.extract, settings.doctypes_file)
        written = pipeline.store(original, described, assembled, archive, agent, options.engine)
    stored = pipeline.catalog(original, written, archive)
    if isinstance(stored, Stored) and index is not None:
        pipeline.index(stored.record_id, archive, index, agent)
    return stored


__all__ = ["Duplicate", "IngestFields", "IngestResult", "Quarantined", "Stored", "ingest_file"]
