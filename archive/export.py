"""`sohoa export`: BagIt bags (RFC 8493) and METS/PREMIS packages (archive/mets.py) of records, with
the 2025 metadata sheet, for deposit into the agency archive.

Naming (`--naming`): `objects` (default) carries every object under its own name in a folder per
record (`<record code>/pdfa.pdf`); `2025` carries the record's PDF (signed.pdf when signed, else
pdfa.pdf) as `CODE_YYYYMMDD_DESC.pdf`, the file name the 2025 national guidance lists: the record's
code, its issue date (the day it was digitised when it has none) and a short ASCII slug of its
summary (else its title, else its document type). The METS hrefs, the bag manifest and the sheet's
`File` follow the name; the checksums do not change."""

from __future__ import annotations

import csv
import re
import shutil
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Final

import bagit

from sohoa.archive.backends import Archive
from sohoa.archive.catalog import Record
from sohoa.core.errors import ExitCode, SohoaError

SHEET_NAME: Final = "sheet.csv"
NAMINGS: Final = ("objects", "2025")
SLUG_LENGTH: Final = 40


def delivered_pdf(record: Record) -> str:
    """The record's PDF as it is handed out: signed.pdf when signed, else pdfa.pdf (else the original)."""
    names = {obj.name for obj in record.objects}
    return "signed.pdf" if "signed.pdf" in names else "pdfa.pdf" if "pdfa.pdf" in names else "original"


def ascii_slug(text: str, length: int = SLUG_LENGTH) -> str:
    """Vietnamese text as a short ASCII file-name part: no diacritics (đ → d), words joined by '-',
    cut at a word boundary within `length` characters."""
    plain = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in plain if not unicodedata.combining(c)).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", plain)
    slug = ""
    for word in words:
        longer = f"{slug}-{word}" if slug else word
        if len(longer) > length:
            break
        slug = longer
    return slug or (words[0][:length] if words else "")


def name_2025(metadata: dict) -> str:
    """`CODE_YYYYMMDD_DESC.pdf` of a record (its metadata as JSON)."""
    day = str(metadata.get("issued_on") or metadata.get("created_at") or "")[:10].replace("-", "")
    described = metadata.get("summary") or metadata.get("title") or metadata.get("doc_type_name") or ""
    parts = [str(metadata["record_code"]), day or "00000000", ascii_slug(str(described))]
    return "_".join(part for part in parts if part) + ".pdf"


def file_names(record: Record, naming: str = "objects") -> dict[str, str]:
    """Object name → its file name in the package (in the record's folder)."""
    if naming not in NAMINGS:
        raise SohoaError(f"unknown naming {naming!r}: choose from {', '.join(NAMINGS)}", ExitCode.USAGE)
    names = {obj.name: obj.name for obj in record.objects}
    pdf = delivered_pdf(record)
    if naming == "2025" and pdf != "original":
        names[pdf] = name_2025(record.metadata_json)
    return names


@contextmanager
def _fresh_folder(out: Path) -> Iterator[Path]:
    """`out` created empty (an existing non-empty folder is refused); removed again if the export fails."""
    if out.exists() and any(out.iterdir()):
        raise SohoaError(f"{out}: exists and is not empty", ExitCode.OUTPUT_ERROR)
    out.mkdir(parents=True, exist_ok=True)
    try:
        yield out
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise


def _copy_objects(archive: Archive, records_: list[Record], root: Path, names: dict[str, dict[str, str]]) -> None:
    """root/<record code>/<file name> for every object, each verified against the catalog's SHA-256
    before it is kept."""
    from sohoa.archive.storage import copy_verified

    for record in records_:
        for obj in record.objects:
            target = root / record.code / names[record.id][obj.name]
            target.parent.mkdir(parents=True, exist_ok=True)
            copy_verified(archive.store, obj.key, obj.sha256, target)


def export_bag(archive: Archive, records_: list[Record], out: Path, extra: dict[str, bytes] | None = None,
               naming: str = "objects") -> Path:
    """One bag: data/<record code>/<object name> for each record (the PDF renamed by `naming`),
    manifest-sha256, bag-info; `extra` adds files (name → bytes) at the top of data/, e.g. METS.xml,
    listed in the manifest too."""
    names = {record.id: file_names(record, naming) for record in records_}
    with _fresh_folder(out):
        _copy_objects(archive, records_, out, names)
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
    # Cross-check: the bag's hashes must be the archive's hashes.
    for record in records_:
        for obj in record.objects:
            if bag.entries[f"data/{record.code}/{names[record.id][obj.name]}"]["sha256"] != obj.sha256:
                raise SohoaError(f"{obj.key}: exported bytes differ from the archive", ExitCode.OUTPUT_ERROR)
    return out


def export_mets(archive: Archive, records_: list[Record], out: Path, dossier: str | None = None,
                naming: str = "objects") -> Path:
    """out/METS.xml (METS + PREMIS, archive/mets.py), out/<record code>/<object name> (the PDF renamed
    by `naming`), each copy verified against the catalog's SHA-256 before it is kept, and the
    metadata sheet out/sheet.csv."""
    names = {record.id: file_names(record, naming) for record in records_}
    with _fresh_folder(out):
        _copy_objects(archive, records_, out, names)
        (out / "METS.xml").write_bytes(mets_of(archive, records_, dossier, naming))
        write_sheet(records_, out / SHEET_NAME, naming)
    return out


def mets_of(archive: Archive, records_: list[Record], dossier: str | None = None, naming: str = "objects") -> bytes:
    """The METS document of one record, or of the dossier's records (one div each); its hrefs
    name the files as `naming` does."""
    from sohoa.archive import mets
    from sohoa.core.records import now_utc

    packages = []
    for record in records_:
        package, names = mets.package_of(archive.catalog, record), file_names(record, naming)
        files = tuple(replace(f, href=f"{record.code}/{names.get(f.name, f.name)}") for f in package.files)
        packages.append(replace(package, files=files))
    if dossier:
        return mets.mets_document(packages, dossier, dossier, now_utc(), dossier=True)
    return mets.mets_document(packages, packages[0].code, packages[0].title, now_utc())


def write_sheet(records_: list[Record], path: Path, naming: str = "objects") -> None:
    """The 2025 minimal metadata sheet, one row per record (UTF-8 CSV); `File` is the record's PDF
    in the package (signed.pdf when signed, else pdfa.pdf; `CODE_YYYYMMDD_DESC.pdf` by the 2025 naming)."""
    from sohoa.archive.mets import sheet_of

    with path.open("w", encoding="utf-8", newline="") as sink:
        writer = None
        for record in records_:
            pdf = delivered_pdf(record)
            row = {**sheet_of(record.metadata_json), "File": f"{record.code}/{file_names(record, naming).get(pdf, pdf)}"}
            if writer is None:
                writer = csv.DictWriter(sink, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
