"""`sohoa ocr | doctor`: one scan to one PDF/A, and the external programs it needs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

import sohoa
from sohoa.cli.common import PathArg
from sohoa.core.errors import ExitCode, SohoaError


@click.command()
@click.argument("input", type=PathArg)
@click.argument("output", type=PathArg)
@click.option("--pdfa", type=click.Choice(["2b", "1b"]), default="2b", show_default=True, help="PDF/A level.")
@click.option("--lang", default=None, help="Tesseract language model [SOHOA_OCR_LANG, default vie].")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Parallel page workers [default: all cores].")
@click.option("--validate", type=click.Choice(["structural", "preflight", "none"]), default="structural",
              show_default=True, help="Validator run before the output is published (preflight: PDF/A-1b, Java).")
@click.option("--json", "json_report", type=PathArg, default=None, help="Write the run report as JSON ('-' = stdout).")
@click.option("--sidecar", type=PathArg, default=None, help="Also write the text (pages separated by form feeds).")
@click.option("--title", default=None, help="Document title for the PDF/A metadata.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
def ocr(input: Path, output: Path, pdfa: str, lang: Optional[str], jobs: Optional[int], validate: str,
        json_report: Optional[Path], sidecar: Optional[Path], title: Optional[str], quiet: bool) -> None:
    """Turn one scan into one PDF/A "two-layer" file: page image + invisible Vietnamese text.

    INPUT is a PDF, TIFF, JPEG or PNG (the type is read from the bytes).
    OUTPUT is written atomically and only if it passes validation.
    """
    from sohoa.ocr.pipeline import OcrOptions, run

    from sohoa.ocr.pipeline import check_output_path

    for extra in (json_report, sidecar):  # refuse before the OCR work, not after it
        if extra is not None and extra != Path("-"):
            check_output_path(extra)
    options = OcrOptions.from_settings(pdfa=pdfa, lang=lang, jobs=jobs, validate=validate, title=title)

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
