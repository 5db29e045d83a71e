"""Helpers for the issue #12 archive tests: small scans, a `sohoa` subprocess with its own data
directory, and the comparison of the catalog with storage."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from sohoa.archive import records
from sohoa.archive.backends import Archive

SOHOA = [sys.executable, "-m", "sohoa.cli"]
DOSSIER = "000.00.00.H01-240601-0001"


def scans(folder: Path, count: int, seed: str = "giấy") -> list[Path]:
    """`count` small, different PNG files."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        image = Image.new("L", (800, 1000), 255)
        ImageDraw.Draw(image).text((10, 10 + n), f"{seed} {n}".encode("ascii", "replace").decode(), fill=0)
        image.putpixel((n % 800, 999), 0)
        path = folder / f"scan{n}.png"
        image.save(path, dpi=(300, 300))
        paths.append(path)
    return paths


def environ(data_dir: Path, storage_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_DATA_DIR=str(data_dir), SOHOA_OCR_ENGINE="null", SOHOA_JOBS="1", **extra)
    if storage_url:
        env["SOHOA_STORAGE_URL"] = storage_url
    return env


def sohoa(env: dict[str, str], *args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(SOHOA + [str(a) for a in args], capture_output=True, text=True, env=env, timeout=timeout)


def catalog_vs_storage(archive: Archive) -> list[str]:
    """Every disagreement between the catalog and the stored metadata (empty: they agree)."""
    differences = []
    stored = {}
    for prefix in records.list_record_prefixes(archive.store):
        meta, objects, version = records.current_metadata(archive.store, prefix)
        stored[meta.record_id] = (meta, objects, version, prefix)
    total, rows = archive.catalog.list_records(limit=10_000)
    catalogued = {row.id: row for row in rows}
    for rid in sorted(set(stored) | set(catalogued)):
        if rid not in catalogued:
            differences.append(f"{rid}: in storage, not in the catalog")
            continue
        if rid not in stored:
            differences.append(f"{rid}: in the catalog, not in storage")
            continue
        meta, objects, version, prefix = stored[rid]
        row = catalogued[rid]
        for name, ours, theirs in (("code", row.code, meta.record_code), ("dossier", row.dossier_code, meta.dossier_code),
                                   ("kind", row.kind, meta.kind.value), ("version", row.metadata_version, version),
                                   ("prefix", row.prefix, prefix)):
            if ours != theirs:
                differences.append(f"{rid}: {name} is {ours!r} in the catalog, {theirs!r} in storage")
        full = archive.catalog.record(rid)
        if {o.name: o.sha256 for o in full.objects} != {n: o.sha256 for n, o in objects.items()}:
            differences.append(f"{rid}: objects differ")
    return differences


def temporaries(root: Path) -> list[str]:
    """Leftover temporary files of a local store."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.name.endswith((".tmp", ".pending")))
