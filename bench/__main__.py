"""`make bench`: run every benchmark and print the tables (also saved under bench/out/)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sohoa.bench import archive_bench, ocr_bench, search_bench, workers_bench
from sohoa.bench import extract_bench, ratios_bench, sign_bench, split_bench

OUT = Path(__file__).resolve().parent / "out"


def _markdown(rows: list[dict]) -> str:
    headers = list(rows[0])
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(row[h]) for h in headers) + " |" for row in rows]
    return "\n".join(lines)


def print_ocr(result: dict, console: Console) -> None:
    table = Table(title=f"OCR: {result['corpus']['pages']} pages, {result['corpus']['files']} files, "
                        f"{result['cores']} cores, 2 files in flight per tool")
    for header in result["rows"][0]:
        table.add_column(header, justify="left" if header == "tool" else "right")
    for row in result["rows"]:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)
    r = result["ratios"]
    console.print(
        f"ratios: sohoa wall / tesseract floor = {r['sohoa_wall_vs_tesseract']} (target ≤ 1.3); "
        f"sohoa pages/min ÷ OCRmyPDF = {r['sohoa_speed_vs_ocrmypdf']} (target ≥ 3); "
        f"sohoa bytes/page ÷ OCRmyPDF = {r['sohoa_bytes_vs_ocrmypdf']} (target ≤ 1)"
    )
    up = result["startup"]
    console.print(
        f"start-up to the first page (median of {up['runs']}; fastest; CPU): sohoa ocr {up['sohoa_s']} s; "
        f"{up['sohoa_fastest_s']} s; {up['sohoa_cpu_s']} s (goal ≤ 0.25), bare tesseract {up['tesseract_s']} s; "
        f"{up['tesseract_fastest_s']} s; {up['tesseract_cpu_s']} s, ratio {up['ratio']}; python itself "
        f"{up['python_s']} s. Peak RSS of one process on an A3 600 dpi colour page: "
        f"{result['a3_600dpi_peak_rss_mb']} MB (goal ≤ 300)"
    )
    console.print(f"versions: {result['versions']}")
    for tool, failures in result["failures"].items():
        console.print(f"[red]{tool} failures:[/red] " + "; ".join(failures[:5]))


def print_rows(title: str, rows: list[dict], console: Console) -> None:
    table = Table(title=title)
    for header in rows[0]:
        table.add_column(header, justify="right")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sohoa.bench")
    parser.add_argument("--only", choices=["ocr", "archive", "search", "ratios", "workers", "split", "extract", "sign"], default=None)
    parser.add_argument("--search-docs", type=int, default=100_000)
    parser.add_argument("--ocr-pages", type=int, default=24)
    parser.add_argument("--batch-pages", type=int, default=0,
                        help="workers: add one synthetic back-file of N pages to the mixed folder (the full run: 200)")
    parser.add_argument("--ratio-rows", type=int, default=1_000_000, help="registry rows and records (each)")
    args = parser.parse_args()
    console = Console(width=160)
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if args.only in (None, "ocr"):
        ocr = ocr_bench.run(OUT / "ocr-work", pages=args.ocr_pages)
        (OUT / "ocr.json").write_text(json.dumps(ocr, indent=2, ensure_ascii=False), encoding="utf-8")
        (OUT / "ocr.md").write_text(_markdown(ocr["rows"]) + "\n", encoding="utf-8")
        print_ocr(ocr, console)
    if args.only in (None, "archive"):
        archive = archive_bench.run()
        (OUT / "archive.json").write_text(json.dumps(archive, indent=2), encoding="utf-8")
        (OUT / "archive.md").write_text(_markdown(archive["rows"]) + "\n", encoding="utf-8")
        print_rows("Archive: ingest of born-digital records, fixity", archive["rows"], console)
        console.print(archive["note"])
    if args.only in (None, "search"):
        search = search_bench.run(args.search_docs)
        (OUT / "search.json").write_text(json.dumps(search, indent=2), encoding="utf-8")
        (OUT / "search.md").write_text(_markdown(search["rows"]) + "\n", encoding="utf-8")
        print_rows("Search: indexing and query latency", search["rows"], console)
        console.print(f"target: {search['target']}; {search['note']}")
    if args.only in (None, "ratios"):
        ratios = ratios_bench.run(args.ratio_rows, args.ratio_rows)
        (OUT / "ratios.json").write_text(json.dumps(ratios, indent=2, ensure_ascii=False), encoding="utf-8")
        (OUT / "ratios.md").write_text(_markdown(ratios["loads"]) + "\n\n" + _markdown(ratios["rows"]) + "\n",
                                       encoding="utf-8")
        print_rows("Ratios: generated registry, bulk load, CSV import", ratios["loads"], console)
        print_rows("Ratios: QĐ 766 reports over the registry", ratios["rows"], console)
        console.print(ratios["note"])
    if args.only in (None, "workers"):
        pipeline = workers_bench.run(args.batch_pages)
        (OUT / "workers.json").write_text(json.dumps(pipeline, indent=2, ensure_ascii=False), encoding="utf-8")
        (OUT / "workers.md").write_text(_markdown(pipeline["rows"]) + "\n", encoding="utf-8")
        print_rows("Pipeline: a mixed folder dropped → searchable, against bare Tesseract on the same pages",
                   pipeline["rows"], console)
        console.print(pipeline["note"])
    if args.only in (None, "split"):
        split = split_bench.run()
        (OUT / "split.json").write_text(json.dumps(split, indent=2, ensure_ascii=False), encoding="utf-8")
        (OUT / "split.md").write_text(_markdown(split["rows"]) + "\n", encoding="utf-8")
        print_rows("Split: codes on 200 dpi photocopies (sohoa = zxing-cpp, downscaled first)", split["rows"], console)
        console.print(split["note"])
    if args.only in (None, "extract"):
        extracted = extract_bench.run(OUT / "extract-work")
        (OUT / "extract.json").write_text(json.dumps(extracted, indent=2, ensure_ascii=False), encoding="utf-8")
        tables = extract_bench.tables(extracted)
        (OUT / "extract.md").write_text("\n\n".join(_markdown(rows) for _, rows in tables) + "\n", encoding="utf-8")
        for title, rows in tables:
            print_rows(title, rows, console)
        console.print(f"timing per page: {extracted['timing']}")
    if args.only in (None, "sign"):
        signed = sign_bench.run()
        (OUT / "sign.json").write_text(json.dumps(signed, indent=2, ensure_ascii=False), encoding="utf-8")
        (OUT / "sign.md").write_text(_markdown(signed["rows"]) + "\n", encoding="utf-8")
        print_rows("Signing: cost per record (PAdES, one page)", signed["rows"], console)
        console.print(signed["note"])
    console.print(f"bench done in {time.perf_counter() - started:.0f} s; results in {OUT}")


if __name__ == "__main__":
    main()
