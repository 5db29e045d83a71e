"""`sohoa export`: BagIt bags (RFC 8493) and METS/PREMIS packages (archive/mets.py) of records, with
the 2025 metadata sheet, for deposit into the agency archive."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Final

import bagit

from sohoa.archive.backends import Archive
from sohoa.archive.catalog import Record
from sohoa.core.errors import ExitCode, SohoaError

SHEET_NAME: Final = "sheet.csv"


def export_bag(archive: Archive, records_: list[Record], out: Path, extra: dict[str, bytes] | None = None) -> Path:
    """One bag: data/<record code>/<object name> for each record, manifest-sha256, bag-info;
    `extra` adds files (name → bytes) at the top of data/, e.g. METS.xml, listed in the manifest too."""
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
        for name, content in (extra or {}).items():
            (out / name).write_bytes(content)
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


def export_mets(archive: Archive, records_: list[Record], out: Path, dossier: str | None = None) -> Path:
    """out/METS.xml (METS + PREMIS, archive/mets.py), out/<record code>/<object name>, each copy
    verified against the catalog's SHA-256 before it is kept, and the metadata sheet out/sheet.csv."""
    from sohoa.archive.storage import copy_verified

    if out.exists() and any(out.iterdir()):
        raise SohoaError(f"{out}: exists and is not empty", ExitCode.OUTPUT_ERROR)
    out.mkdir(parents=True, exist_ok=True)
    try:
        for record in records_:
            for obj in record.objects:
                target = out / record.code / obj.name
                target.parent.mkdir(parents=True, exist_ok=True)
                copy_verified(archive.store, obj.key, obj.sha256, target)
        (out / "METS.xml").write_bytes(mets_of(archive, records_, dossier))
        write_sheet(records_, out / SHEET_NAME)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return out


def mets_of(archive: Archive, records_: list[Record], dossier: str | None = None) -> bytes:
    """The METS document of one record, or of the dossier's records (one div each)."""
    from sohoa.archive import mets
    from sohoa.core.records import now_utc

    packages = [mets.package_of(archive.catalog, record) for record in records_]
    if dossier:
        return mets.mets_document(packages, dossier, dossier, now_utc(), dossier=True)
    return mets.mets_document(packages, packages[0].code, packages[0].title, now_utc())


def write_sheet(records_: list[Record], path: Path) -> None:
    """The 2025 minimal metadata sheet, one row per record (UTF-8 CSV); `File` is the record's PDF
    in the package (signed.pdf when signed, else pdfa.pdf)."""
    from sohoa.archive.mets import sheet_of

    with path.open("w", encoding="utf-8", newline="") as sink:
        writer = None
        for record in records_:
            names = {obj.name for obj in record.objects}
            pdf = "signed.pdf" if "signed.pdf" in names else "pdfa.pdf" if "pdfa.pdf" in names else "original"
            row = {**sheet_of(record.metadata_json), "File": f"{record.code}/{pdf}"}
            if writer is None:
                writer = csv.DictWriter(sink, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
