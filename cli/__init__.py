"""The `sohoa` command: the click group, its command groups (one module each), and `main()`.

Every expected failure prints one line and exits with a documented code.
"""

from __future__ import annotations

import logging
import os
import signal
import sys

import click

import sohoa
from sohoa.core.errors import EXIT_CODE_DOCS, ExitCode, SohoaError


class _Commands(click.Group):
    """The command modules are imported when a command is looked up, all of them for `--help`;
    `sohoa ocr` imports cli/ocr.py alone (issue #17: its start-up to the first page)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            if cmd_name in ("ocr", "doctor"):
                from sohoa.cli import ocr

                for command in ocr.COMMANDS:
                    self.add_command(command)
            else:
                _register_commands()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        _register_commands()
        return super().list_commands(ctx)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(sohoa.__version__, prog_name="sohoa")
def app() -> None:
    """Số hóa: scanned paper → verified Vietnamese PDF/A electronic archive."""


@app.command("exit-codes")
def exit_codes() -> None:
    """List the exit codes (a stable interface)."""
    for code, text in EXIT_CODE_DOCS.items():
        print(f"{int(code):4}  {code.name:20} {text}")


def _register_commands() -> None:
    from sohoa.cli import archive, describe, extract, ocr, ratios, search, sign, split, web, webhooks, workers

    for group in (ocr, archive, extract, describe, split, sign, search, workers, ratios, web, webhooks):
        for command in group.COMMANDS:
            app.add_command(command)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    from sohoa.core.private import lock_umask

    lock_umask()  # private by default: every file and folder this process creates is 0600/0700
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

