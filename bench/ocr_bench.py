"""OCR benchmark: `sohoa ocr` against its anchors on one generated corpus, same cores, same run.

Tools, each given the same 2 cores as 2 files in flight with 1 job per file:
- sohoa (vie, and the `Vietnamese` script model for comparison)
- bare `tesseract -l vie IMAGE OUT pdf` over the page images (the floor)
- OCRmyPDF `-l vie --output-type pdfa --rotate-pages --deskew`

Quality is measured on what a user gets out of each PDF (pdftotext), page by page
against the generator's ground truth.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from PIL import Image
from rapidfuzz.distance import Levenshtein

from sohoa.testkit.corpus import write_corpus
from sohoa.testkit.metrics import fold, normalize

CONCURRENCY = 2
ENV = dict(os.environ, OMP_THREAD_LIMIT="1")


@dataclass
class ToolResult:
    name: str
    wall: float = 0.0
    pages: int = 0
    edits: int = 0
    truth_chars: int = 0
    keywords: int = 0
    found_exact: int = 0
    found_folded: int = 0
    output_bytes: int = 0
    failures: list[str] = field(default_factory=list)

    def row(self) -> dict:
        return {
            "tool": self.name,
            "wall_s": round(self.wall, 1),
            "pages_per_min": round(self.pages / self.wall * 60, 1) if self.wall else 0.0,
            "cer_pct": round(100 * self.edits / max(1, self.truth_chars), 2),
            "keywords_exact_pct": round(100 * self.found_exact / max(1, self.keywords), 1),
            "keywords_folded_pct": round(100 * self.found_folded / max(1, self.keywords), 1),
            "bytes_per_page": int(self.output_bytes / max(1, self.pages)),
            "failures": len(self.failures),
        }


def _page_images(corpus: Path, manifest: dict, out: Path) -> list[Path]:
    """Every page as its own image file (not timed): what the bare-Tesseract floor reads."""
    out.mkdir(parents=True, exist_ok=True)
    images = []
    for entry in manifest["files"]:
        source = corpus / entry["path"]
        stem = source.stem
        if source.suffix == ".pdf":
            subprocess.run(["pdftoppm", "-r", "300", "-gray", "-png", str(source), str(out / stem)], check=True)
            images.extend(sorted(out.glob(f"{stem}-*.png")))
        elif len(entry["pages"]) > 1:
            with Image.open(source) as tiff:
                for index in range(tiff.n_frames):
                    tiff.seek(index)
                    path = out / f"{stem}-{index + 1}.png"
                    tiff.save(path, dpi=tiff.info.get("dpi", (300, 300)))
                    images.append(path)
        else:
            images.append(source)
    return images


def _pdftotext_pages(path: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                          text=True).stdout
    return text.split("\f")


def _score(result: ToolResult, truths: list[dict], texts: list[str]) -> None:
    for truth, text in zip(truths, texts + [""] * (len(truths) - len(texts))):
        expected, got = normalize(truth["text"]), normalize(text)
        result.edits += Levenshtein.distance(expected, got)
        result.truth_chars += len(expected)
        for keyword in truth["keywords"]:
            result.keywords += 1
            result.found_exact += normalize(keyword) in got
            result.found_folded += fold(normalize(keyword)) in fold(got)


def _run_all(commands: list[list[str]]) -> tuple[float, list[subprocess.CompletedProcess]]:
    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        done = list(pool.map(
            lambda cmd: subprocess.run(cmd, capture_output=True, text=True, env=ENV), commands))
    return time.perf_counter() - started, done


def _file_tool(name: str, corpus: Path, manifest: dict, out: Path,
               command: Callable[[Path, Path], list[str]]) -> ToolResult:
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(corpus / e["path"], out / (Path(e["path"]).stem + ".pdf"), e["pages"]) for e in manifest["files"]]
    wall, procs = _run_all([command(src, dst) for src, dst, _ in jobs])
    result = ToolResult(name, wall=wall)
    for (src, dst, truths), proc in zip(jobs, procs):
        result.pages += len(truths)
        if proc.returncode != 0 or not dst.exists():
            result.failures.append(f"{src.name}: exit {proc.returncode}: {proc.stderr.strip()[-200:]}")
            _score(result, truths, [])
            continue
        result.output_bytes += dst.stat().st_size
        _score(result, truths, _pdftotext_pages(dst))
    return result


def _tesseract_floor(images: list[Path], truths: list[dict], out: Path) -> ToolResult:
    out.mkdir(parents=True, exist_ok=True)
    outputs = [out / image.stem for image in images]
    wall, procs = _run_all([["tesseract", str(i), str(o), "-l", "vie", "pdf"] for i, o in zip(images, outputs)])
    result = ToolResult("tesseract -l vie (floor)", wall=wall, pages=len(images))
    for output, truth, proc in zip(outputs, truths, procs):
        pdf = output.with_suffix(".pdf")
        if proc.returncode != 0 or not pdf.exists():
            result.failures.append(f"{output.name}: {proc.stderr.strip()[-200:]}")
            _score(result, [truth], [])
            continue
        result.output_bytes += pdf.stat().st_size
        _score(result, [truth], _pdftotext_pages(pdf))
    return result


def tool_versions() -> dict[str, str]:
    def first_line(cmd: list[str]) -> str:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True)
            return (proc.stdout or proc.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "missing"

    from sohoa.ocr import tesseract as tess

    return {
        "sohoa tesseract (tesserocr)": tess.version(),
        "tesseract CLI": first_line(["tesseract", "--version"]),
        "ocrmypdf": first_line([str(Path(sys.executable).with_name("ocrmypdf")), "--version"]),
    }


# ------------------------------------------------------------------ start-up and memory (issue #17)

_PEAK = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True); "
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)")


def _stamps(stderr: str) -> dict[str, tuple[float, float]]:
    """SOHOA_TIMING's events: {event: (epoch seconds, CPU seconds of the stamping thread)}."""
    return {parts[1]: (float(parts[2]), float(parts[3])) for parts in (line.split() for line in stderr.splitlines())
            if len(parts) == 4 and parts[0] == "sohoa-timing"}


def sohoa_startup(page: Path, out: Path) -> tuple[float, float]:
    """(wall, CPU) seconds from `sohoa ocr`'s process start to its first page: until it begins decoding
    the page (SOHOA_TIMING's `page-1`), plus any wait for the Tesseract model (loaded in parallel)
    once that page's OCR image was ready. Wall is timed from just before the process is spawned;
    CPU is the main thread's up to `page-1`, what the wall time would be on an idle machine."""
    env = dict(ENV, SOHOA_TIMING="1")
    started = time.time()
    done = subprocess.run([sys.executable, "-m", "sohoa", "ocr", str(page), str(out), "-j", "1", "-q"],
                          capture_output=True, text=True, env=env, check=False)
    stamps = _stamps(done.stderr)
    if done.returncode != 0 or "page-1" not in stamps:
        raise RuntimeError(f"sohoa ocr failed: {done.stderr.strip()[-300:]}")
    wait = max(0.0, stamps.get("engine-ready", (0.0, 0.0))[0] - stamps.get("page-1-ocr", (float("inf"), 0.0))[0])
    return stamps["page-1"][0] - started + wait, stamps["page-1"][1]


def tesseract_startup(blank: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of bare `tesseract -l vie` on a 16 × 16 white image: its process start, the
    model load and the exit, with no page work to speak of."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(["tesseract", str(blank), "-", "-l", "vie"], capture_output=True, env=ENV, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return time.perf_counter() - started, cpu


def startup(page: Path, work: Path, runs: int = 7) -> dict:
    """Median and fastest of `runs` alternating runs: sohoa's start-up to the first page, tesseract's,
    and python's own (`python -c pass`), wall and CPU seconds."""
    work.mkdir(parents=True, exist_ok=True)
    blank = work / "blank-16px.png"
    Image.new("L", (16, 16), 255).save(blank, dpi=(300, 300))
    ours, bare, python = [], [], []
    for n in range(runs):
        ours.append(sohoa_startup(page, work / f"startup-{n}.pdf"))
        bare.append(tesseract_startup(blank))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        python.append((time.perf_counter() - started, 0.0))

    def median(values: list[tuple[float, float]], cpu: bool = False) -> float:
        picked = sorted(v[1] if cpu else v[0] for v in values)
        return round(picked[len(picked) // 2], 3)

    return {"sohoa_s": median(ours), "tesseract_s": median(bare), "python_s": median(python),
            "ratio": round(median(ours) / max(median(bare), 1e-9), 2),
            "sohoa_fastest_s": round(min(v[0] for v in ours), 3),
            "tesseract_fastest_s": round(min(v[0] for v in bare), 3),
            "sohoa_cpu_s": median(ours, cpu=True), "tesseract_cpu_s": median(bare, cpu=True), "runs": runs}


def a3_page(work: Path) -> Path:
    """An A3 page scanned at 600 dpi in colour (7016 × 9921 pixels, JPEG): a text scan with a red seal."""
    from sohoa.testkit import scans

    work.mkdir(parents=True, exist_ok=True)
    path = work / "a3-600dpi.jpg"
    scan = scans.make_scan("yellow_seal", 18_500)
    scan.image.convert("RGB").resize((7016, 9921)).save(path, quality=85, dpi=(600, 600))
    return path


def a3_peak_rss_mb(work: Path) -> float:
    """Peak RSS (MB) of the one process that turns the A3 600 dpi colour page into PDF/A (`-j 1`, as a
    worker process does it), read by a small launcher (its children's ru_maxrss)."""
    page = a3_page(work)
    done = subprocess.run([sys.executable, "-c", _PEAK, sys.executable, "-m", "sohoa", "ocr", "-j", "1", "-q",
                           str(page), str(work / "a3.pdf")], capture_output=True, text=True, env=ENV, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"sohoa ocr of the A3 page exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return round(int(done.stdout.split()[-1]) / 1024, 1)


def run(work: Path, pages: int = 24, seed: int = 0) -> dict:
    if work.exists():
        shutil.rmtree(work)
    corpus = work / "corpus"
    manifest_path = write_corpus(corpus, n_pages=pages, seed=seed)
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    truths = [page for entry in manifest["files"] for page in entry["pages"]]
    images = _page_images(corpus, manifest, work / "page-images")
    sohoa = [sys.executable, "-m", "sohoa.cli"]
    ocrmypdf = str(Path(sys.executable).with_name("ocrmypdf"))

    results = [
        _tesseract_floor(images, truths, work / "tesseract"),
        _file_tool("sohoa ocr (vie)", corpus, manifest, work / "sohoa",
                   lambda s, d: sohoa + ["ocr", str(s), str(d), "-j", "1", "-q"]),
        _file_tool("sohoa ocr (Vietnamese script model)", corpus, manifest, work / "sohoa-viet",
                   lambda s, d: sohoa + ["ocr", str(s), str(d), "-j", "1", "-q", "--lang", "Vietnamese"]),
        _file_tool("OCRmyPDF", corpus, manifest, work / "ocrmypdf",
                   lambda s, d: [ocrmypdf, "-q", "-l", "vie", "--output-type", "pdfa", "--rotate-pages",
                                 "--deskew", "-j", "1", "--image-dpi", "300", str(s), str(d)]),
    ]
    first_page = next(Path(corpus / e["path"]) for e in manifest["files"] if e["path"].endswith(".png"))
    started_up = startup(first_page, work / "startup")
    a3_rss = a3_peak_rss_mb(work / "a3")
    rows = [r.row() for r in results]
    by_name = {r["tool"]: r for r in rows}
    floor, ours, ocrmypdf_row = by_name["tesseract -l vie (floor)"], by_name["sohoa ocr (vie)"], by_name["OCRmyPDF"]
    ratios = {
        "sohoa_wall_vs_tesseract": round(ours["wall_s"] / max(floor["wall_s"], 1e-9), 2),
        "sohoa_speed_vs_ocrmypdf": round(ours["pages_per_min"] / max(ocrmypdf_row["pages_per_min"], 1e-9), 2),
        "sohoa_bytes_vs_ocrmypdf": round(ours["bytes_per_page"] / max(ocrmypdf_row["bytes_per_page"], 1), 2),
    }
    return {
        "corpus": {"files": len(manifest["files"]), "pages": len(truths), "seed": seed},
        "cores": os.cpu_count(),
        "versions": tool_versions(),
        "rows": rows,
        "ratios": ratios,
        "failures": {r.name: r.failures for r in results if r.failures},
        "startup": started_up,
        "a3_600dpi_peak_rss_mb": a3_rss,
    }
