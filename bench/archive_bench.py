"""Archive benchmark: ingest of already-OCR'd (born-digital) records into local and S3 storage,
and fixity speed, in one run on the same machine.

S3 is a real SeaweedFS on loopback (the test server); MinIO in production will differ.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from sohoa.archive.backends import Archive
from sohoa.archive.catalog import Catalog
from sohoa.archive.fixity import check
from sohoa.archive.stores import open_store
from sohoa.ingest.runner import IngestFields, Stored, ingest_file
from sohoa.ocr.pipeline import OcrOptions
from sohoa.testkit import scans
from sohoa.testkit.s3server import seaweedfs
from sohoa.testkit.vietnamese import document_text


def _documents(folder: Path, count: int) -> list[Path]:
    return [Path(scans.save_born_digital_pdf([document_text(1000 + i)], folder / f"kq-{i:03d}.pdf"))
            for i in range(count)]


def _measure(name: str, archive: Archive, files: list[Path]) -> dict:
    fields = IngestFields(agency="000.00.12.H36", retention="06").validated()
    options = OcrOptions(jobs=1)
    started = time.perf_counter()
    stored = [ingest_file(path, fields, archive, options) for path in files]
    wall = time.perf_counter() - started
    failures = [r for r in stored if not isinstance(r, Stored)]
    input_mb = sum(p.stat().st_size for p in files) / 1e6
    started = time.perf_counter()
    report = check(archive)
    fixity_wall = time.perf_counter() - started
    return {
        "backend": name,
        "records": len(files),
        "ingest_s": round(wall, 1),
        "records_per_s": round(len(files) / wall, 2),
        "input_MB_per_s": round(input_mb / wall, 2),
        "stored_MB": round(report.bytes / 1e6, 1),
        "fixity_MB_per_s": round(report.bytes / 1e6 / fixity_wall, 1),
        "fixity_ok": report.ok,
        "failures": len(failures),
    }


def run(count: int = 30) -> dict:
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-archive-") as work:
        root = Path(work)
        (root / "docs").mkdir()
        files = _documents(root / "docs", count)
        rows = [_measure("local", Archive(open_store((root / "objects").as_uri()),
                                          Catalog(f"sqlite:///{root / 'local.db'}")), files)]
        with seaweedfs(root / "seaweedfs") as endpoint:
            rows.append(_measure("S3 (SeaweedFS)", Archive(open_store(endpoint.url("bench-records")),
                                                           Catalog(f"sqlite:///{root / 's3.db'}")), files))
    return {"rows": rows, "note": "born-digital 1-page PDFs: text kept, page rendered, PDF/A written, "
                                  "6 objects per record verified after writing"}
