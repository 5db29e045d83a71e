"""Benchmark corpus: many scan kinds in their natural file formats, with a manifest.

Layout of the directory written by `write_corpus`:

    pNNN_<kind>.<ext>        one page per file, cycling through the non-blank kinds
    multi_photocopy.tif      3 photocopied pages in one Group 4 TIFF
    scan_3pages.pdf          3 scanned pages in one image PDF
    blank.png                a blank page (paper noise only)
    manifest.json            per-file, per-page ground truth

Run as `python -m sohoa.testkit.corpus OUT_DIR [--pages N] [--seed S]`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .degrade import KINDS, Scan, make_scan
from .writers import save_image, save_image_pdf, save_multipage_tiff

NON_BLANK: tuple[str, ...] = tuple(k for k in KINDS if k != "blank")

# The format a real office would produce for each kind (first pass through the kinds).
NATURAL_FORMAT: dict[str, str] = {
    "clean": "png",
    "skew": "png",
    "rot90": "jpeg",
    "rot180": "jpeg",
    "rot270": "png",
    "gray200_jpeg": "jpeg",
    "photocopy_g4": "tiff-g4",
    "yellow_seal": "jpeg",
    "faint": "png",
    "blank": "png",
}
# Later passes switch to less common but legitimate formats so that a corpus
# of 18+ single pages exercises every image writer at least once.
VARIANT_FORMAT: dict[str, str] = {
    "clean": "tiff-lzw",
    "skew": "jpeg",
    "rot90": "png-palette",
    "rot180": "tiff-jpeg",
    "rot270": "jpeg",
    "gray200_jpeg": "jpeg",
    "photocopy_g4": "tiff-g4",
    "yellow_seal": "jpeg-cmyk",
    "faint": "png-alpha",
}
_EXTENSION = {
    "jpeg": "jpg", "jpeg-cmyk": "jpg", "png": "png", "png-palette": "png", "png-alpha": "png",
    "tiff-g4": "tif", "tiff-lzw": "tif", "tiff-jpeg": "tif",
}
MULTI_PAGE_PAGES = 3


def page_truth(scan: Scan) -> dict[str, Any]:
    """Ground truth of one page, as stored in the manifest."""
    return {
        "kind": scan.kind,
        "text": scan.text,
        "keywords": list(scan.keywords),
        "rotation": scan.rotation,
        "skew": scan.skew,
        "blank": scan.blank,
        "dpi": scan.dpi,
    }


def write_corpus(dir: str | Path, n_pages: int = 24, seed: int = 0) -> Path:
    """Write a corpus of at least `n_pages` non-blank pages plus one blank page.

    Page seeds are `seed * 1000 + k`, so corpora with different seeds do not
    share pages. Returns the path of `manifest.json`.
    """
    root = Path(dir)
    root.mkdir(parents=True, exist_ok=True)
    files: list[dict[str, Any]] = []
    base = seed * 1000

    def record(path: Path, fmt: str, scans: list[Scan]) -> None:
        files.append({
            "path": path.relative_to(root).as_posix(),
            "format": fmt,
            "pages": [page_truth(s) for s in scans],
        })

    # Six non-blank pages live in the two multi-page files; singles make up the rest.
    n_single = max(len(NON_BLANK), n_pages - 2 * MULTI_PAGE_PAGES)
    for i in range(n_single):
        kind = NON_BLANK[i % len(NON_BLANK)]
        fmt = (NATURAL_FORMAT if (i // len(NON_BLANK)) % 2 == 0 else VARIANT_FORMAT)[kind]
        scan = make_scan(kind, base + i)
        path = save_image(scan, root / f"p{i + 1:03d}_{kind}.{_EXTENSION[fmt]}", fmt)
        record(path, fmt, [scan])

    copies = [make_scan("photocopy_g4", base + 100 + j) for j in range(MULTI_PAGE_PAGES)]
    record(save_multipage_tiff(copies, root / "multi_photocopy.tif", "group4"), "tiff-g4", copies)

    batch_kinds = ("clean", "yellow_seal", "rot180")
    batch = [make_scan(k, base + 200 + j) for j, k in enumerate(batch_kinds)]
    record(save_image_pdf(batch, root / "scan_3pages.pdf"), "pdf-image", batch)

    blank = make_scan("blank", base + 300)
    record(save_image(blank, root / "blank.png", "png"), "png", [blank])

    manifest = root / "manifest.json"
    manifest.write_text(
        json.dumps({"seed": seed, "files": files}, ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a Vietnamese scan benchmark corpus.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--pages", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(write_corpus(args.out_dir, args.pages, args.seed))


if __name__ == "__main__":
    main()
