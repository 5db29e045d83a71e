"""The in-process runner: the stages of ingest/pipeline.py, one after the other, in this process.

Used by `sohoa ingest`, benchmarks and tests. The distributed runner
(workers/tasks.py) calls the same stages; both end a file in the same typed
result with the same reason. The original is only read, never moved or deleted.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Mapping

from sohoa.archive.backends import Archive
from sohoa.core.settings import get_settings
from sohoa.ingest import pipeline
from sohoa.ingest.base import Duplicate, IngestResult, Original, Quarantined, Stored, ended
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
    return ingest_part(original, checked, archive, options, agent, index)


def ingest_stack(path: Path, fields: IngestFields | Mapping[str, object], archive: Archive, options: OcrOptions,
                 agent: str = "sohoa", index=None, name: str | None = None,
                 split_on_blank: bool | None = None) -> list[IngestResult]:
    """One scanned file → one result per document in it, split at cover and separator sheets and
    one-stop receipts (split stage); a file of one document gives the one result `ingest_file` gives."""
    original = pipeline.identify(path, name)
    if ended(original):
        return [original]
    checked = pipeline.validate(fields, path)
    if ended(checked):
        return [checked]
    duplicate = pipeline.dedup(original.sha256, path, archive.catalog)
    if duplicate is not None:
        return [duplicate]
    settings = get_settings()
    blank = settings.split_on_blank if split_on_blank is None else split_on_blank
    with tempfile.TemporaryDirectory(prefix="sohoa-split-") as work:
        parted = pipeline.split(original, checked, options, Path(work), blank, settings.doctypes_file,
                                archive.catalog)
        if ended(parted):
            return [parted]
        results = []
        for part, part_fields in parted.parts:
            result = pipeline.dedup_part(part, archive.catalog) or ingest_part(
                part, part_fields, archive, options, agent, index)
            results.append(in_stack(result, original, part))
    return results


def in_stack(result: IngestResult, stack: Original, part: Original) -> IngestResult:
    """A document's result as staff read it: the file they scanned, and the pages of it."""
    if isinstance(result, (Stored, Duplicate)) and part.source is not None:
        return replace(result, path=stack.path, page_range=part.source.page_range)
    return replace(result, path=stack.path)


def ingest_part(original: Original, checked: IngestFields, archive: Archive, options: OcrOptions,
                agent: str = "sohoa", index=None) -> IngestResult:
    """plan → recognise → assemble → extract → sign → store → catalog → index of one identified, new file."""
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
        signed = pipeline.sign(assembled, Path(work), settings)
        written = pipeline.store(original, described, assembled, archive, agent, options.engine, signed)
    stored = pipeline.catalog(original, written, archive)
    if isinstance(stored, Stored) and index is not None:
        pipeline.index(stored.record_id, archive, index, agent)
    return stored


__all__ = ["Duplicate", "IngestFields", "IngestResult", "Quarantined", "Stored", "ingest_file", "ingest_part",
           "ingest_stack"]
