"""The `sohoa` command. Every expected failure prints one line and exits with a documented code."""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Optional

import click

import sohoa
from sohoa.core.errors import EXIT_CODE_DOCS, ExitCode, SohoaError

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(sohoa.__version__, prog_name="sohoa")
def app() -> None:
    """Số hóa: scanned paper → verified Vietnamese PDF/A electronic archive."""


PathArg = click.Path(path_type=Path)


@app.command()
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


@app.command()
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


@app.command("exit-codes")
def exit_codes() -> None:
    """List the exit codes (a stable interface)."""
    for code, text in EXIT_CODE_DOCS.items():
        print(f"{int(code):4}  {code.name:20} {text}")


def _register_archive_commands() -> None:
    from sohoa import archive_cli, search_cli, workers_cli

    for command in archive_cli.COMMANDS + search_cli.COMMANDS + workers_cli.COMMANDS:
        app.add_command(command)
    from sohoa import ratios_cli

    for command in ratios_cli.COMMANDS:
        app.add_command(command)
    from sohoa import web_cli

    for command in web_cli.COMMANDS:
        app.add_command(command)


_register_archive_commands()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    # Decoder libraries (pdfminer, pikepdf) log warnings about sloppy PDFs; the
    # report carries what matters, stderr stays one line per error.
    logging.basicConfig(level=logging.ERROR, format="sohoa: %(name)s: %(message)s")
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(errors="backslashreplace")  # odd bytes in file names never crash a print
    # SIGTERM (a service stop) unwinds like Ctrl-C, so `finally` removes partial files.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app.main(standalone_mode=False, prog_name="sohoa")
    except SohoaError as exc:
        print(f"sohoa: error: {exc.message}", file=sys.stderr)
        sys.exit(int(exc.exit_code))
    except click.ClickException as exc:
        hint = f" (see {exc.ctx.command_path} --help)" if isinstance(exc, click.UsageError) and exc.ctx else ""
        print(f"sohoa: error: {' '.join(exc.format_message().split())}{hint}", file=sys.stderr)
        sys.exit(ExitCode.USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        print("sohoa: interrupted", file=sys.stderr)
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        if os.environ.get("SOHOA_DEBUG"):
            raise
        detail = (str(exc).strip().splitlines() or [""])[0][:200]
        print(f"sohoa: internal error: {type(exc).__name__}: {detail} (set SOHOA_DEBUG=1 for details)",
              file=sys.stderr)
        sys.exit(ExitCode.INTERNAL)


if __name__ == "__main__":
    main()
