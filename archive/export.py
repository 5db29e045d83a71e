"""`sohoa export`: BagIt bags (RFC 8493) of records for deposit into the agency archive."""

from __future__ import annotations

import shutil
from pathlib import Path

import bagit

from sohoa.archive.backends import Archive
from sohoa.archive.catalog import Record
from sohoa.core.errors import ExitCode, SohoaError


def export_bag(archive: Archive, records_: list[Record], out: Path) -> Path:
    """One bag: data/<record code>/<object name> for each record, manifest-sha256, bag-info."""
    if out.exists() and any(out.iterdir()):
        raise SohoaError(f"{out}: exists and is not empty", ExitCode.OUTPUT_ERROR)
    out.mkdir(parents=True, exist_ok=True)
    try:
        for record in records_:
            folder = out / record.code
            folder.mkdir()
            for obj in record.objects:
                target = folder / obj.name
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.store.open(obj.key) as source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
        first = records_[0].metadata_json
        info = {
            "Source-Organization": first.get("agency_code", ""),
            "External-Identifier": " ".join(r.code for r in records_),
            "External-Description": "; ".join(r.title or r.code for r in records_)[:1000],
            "Bag-Group-Identifier": first.get("dossier_code") or "",
            "Bag-Count": "1 of 1",
            "Record-Count": str(len(records_)),
        }
        bag = bagit.make_bag(str(out), info, checksums=["sha256"])
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    # Cross-check: the bag's hashes must be the archive's hashes.
    for record in records_:
        for obj in record.objects:
            if bag.entries[f"data/{record.code}/{obj.name}"]["sha256"] != obj.sha256:
                raise SohoaError(f"{obj.key}: exported bytes differ from the archive", ExitCode.OUTPUT_ERROR)
    return out
