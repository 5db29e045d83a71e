"""`sohoa ocr | doctor`: one scan to one PDF/A, and the external programs it needs."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import click

import sohoa
from sohoa.cli.common import PathArg
from sohoa.core.errors import ExitCode, SohoaError


@click.command()
@click.argument("paths", type=PathArg, nargs=-1, required=True, metavar="INPUT... [OUTPUT]")
@click.option("--out-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Several inputs: each to OUT_DIR/<name>.pdf, all cores busy across the files.")
@click.option("--pdfa", type=click.Choice(["2b", "1b"]), default="2b", show_default=True, help="PDF/A level.")
@click.option("--lang", default=None, help="Tesseract language model [SOHOA_OCR_LANG, default vie].")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Parallel page workers [default: all cores].")
@click.option("--validate", type=click.Choice(["structural", "preflight", "none"]), default="structural",
              show_default=True, help="Validator run before the output is published (preflight: PDF/A-1b, Java).")
@click.option("--json", "json_report", type=PathArg, default=None, help="Write the run report as JSON ('-' = stdout).")
@click.option("--sidecar", type=PathArg, default=None, help="Also write the text (pages separated by form feeds).")
@click.option("--title", default=None, help="Document title for the PDF/A metadata.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
def ocr(paths: tuple[Path, ...], out_dir: Optional[Path], pdfa: str, lang: Optional[str], jobs: Optional[int],
        validate: str, json_report: Optional[Path], sidecar: Optional[Path], title: Optional[str],
        quiet: bool) -> None:
    """Turn a scan into a PDF/A "two-layer" file: page image + invisible Vietnamese text.

    `sohoa ocr INPUT OUTPUT`, or `sohoa ocr INPUT... --out-dir DIR` for several files.
    INPUT is a PDF, TIFF, JPEG or PNG (the type is read from the bytes).
    OUTPUT is written atomically and only if it passes validation.
    """
    # The pages run in processes, never in BLAS threads: OpenBLAS starting its thread pool is a
    # third of numpy's import (issue #17, start-up to the first page).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if out_dir is not None:
        if json_report or sidecar or title:
            raise SohoaError("--json, --sidecar and --title take one input: not with --out-dir", ExitCode.USAGE)
        _ocr_many(paths, out_dir, pdfa, lang, jobs, validate, quiet)
        return
    if len(paths) != 2:
        raise SohoaError("give INPUT OUTPUT, or several inputs with --out-dir DIR", ExitCode.USAGE)
    input, output = paths
    from sohoa.ocr.pipeline import OcrOptions, check_output_path, run

    for extra in (json_report, sidecar):  # refuse before the OCR work, not after it
        if extra is not None and extra != Path("-"):
            check_output_path(extra)
    options = OcrOptions.from_env(pdfa=pdfa, lang=lang, jobs=jobs, validate=validate, title=title)

    def progress(done: int, total: int) -> None:
        if not quiet and sys.stderr.isatty():
            print(f"\rsohoa ocr: page {done}/{total}", end="" if done < total else "\n", file=sys.stderr)

    result = run(input, output, options, progress=progress)
    report_json = result.report.model_dump_json(indent=2)
    try:
        if sidecar:
            sidecar.write_text("\f".join(result.texts) + "\n", encoding="utf-8")
        if json_report and json_report != Path("-"):
            json_report.write_text(report_json + "\n", encoding="utf-8")
    except OSError as exc:
        output.unlink(missing_ok=True)  # all outputs or none
        raise SohoaError(f"{exc.filename}: cannot write ({exc.strerror})", ExitCode.OUTPUT_ERROR) from None
    if json_report == Path("-"):
        print(report_json)
    if not quiet and json_report != Path("-"):
        r = result.report
        print(f"{output}: {r.page_count} page(s), {r.pdfa}, {r.output_bytes} bytes, {r.seconds:.1f} s")


def _ocr_many(inputs: tuple[Path, ...], out_dir: Path, pdfa: str, lang: Optional[str], jobs: Optional[int],
              validate: str, quiet: bool) -> None:
    """Each input to OUT_DIR/<stem>.pdf; a bad file prints its one-line error and the others go on.
    The exit code is that of the first file that failed (0 when none did)."""
    from sohoa.ocr.pipeline import OcrOptions, run_many

    outputs = [out_dir / f"{path.stem}.pdf" for path in inputs]
    if len(set(outputs)) < len(outputs):
        twins = sorted({o.name for o in outputs if outputs.count(o) > 1})
        raise SohoaError(f"several inputs would be written to the same output: {', '.join(twins)}", ExitCode.USAGE)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SohoaError(f"{out_dir}: cannot create ({exc.strerror})", ExitCode.OUTPUT_ERROR) from None
    options = OcrOptions.from_env(pdfa=pdfa, lang=lang, jobs=jobs, validate=validate)
    failed: list[SohoaError] = []
    for outcome in run_many(list(zip(inputs, outputs)), options):
        if outcome.error is not None:
            failed.append(outcome.error)
            print(f"sohoa: error: {outcome.error.message}", file=sys.stderr, flush=True)
        elif not quiet:
            r = outcome.result.report
            print(f"{outcome.output}: {r.page_count} page(s), {r.pdfa}, {r.output_bytes} bytes, {r.seconds:.1f} s",
                  flush=True)
    if failed:
        raise SohoaError(f"{len(failed)} of {len(inputs)} files failed; the others are in {out_dir}",
                         failed[0].exit_code)


@click.command()
def doctor() -> None:
    """Show the external programs sohoa uses, their versions, and what is missing."""
    from sohoa.ocr import tesseract, validate

    rows = [("sohoa", sohoa.__version__)]
    try:
        rows.append(("tesseract", f"{tesseract.version()} ({tesseract.tessdata_dir()})"))
        rows.append(("languages", ", ".join(tesseract.languages())))
    except SohoaError as exc:
        rows.append(("tesseract", f"MISSING: {exc.message}"))
    try:
        validate.preflight_classpath()
        rows.append(("pdfbox preflight", validate.preflight_version()))
    except SohoaError as exc:
        rows.append(("pdfbox preflight", f"missing (optional): {exc.message}"))
    for name, value in rows:
        print(f"{name:18} {value}")


COMMANDS = [ocr, doctor]
