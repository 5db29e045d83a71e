"""Commands of sohoa.split (registered in cli/__init__.py): `sohoa sheets` prints cover and separator sheets."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from sohoa.cli.common import PathArg


def _doc_type(value: str, names: dict[str, str]) -> tuple[str, str | None]:
    """`CODE` (its name from the document-type catalogue) or `CODE=Tên loại giấy tờ`."""
    code, _, name = value.partition("=")
    return code, (name.strip() or names.get(code.strip().upper()))


@click.command()
@click.option("--dossier", default=None, help="Dossier code printed on the cover sheet (QR + Code 128).")
@click.option("--count", type=click.IntRange(min=0, max=500), default=None,
              help="Separator sheets in all [default: 1, or one per --doc-type].")
@click.option("--doc-type", "doc_types", multiple=True, metavar="CODE[=NAME]",
              help="Document type of the next document, one separator each (repeatable); "
                   "the name comes from the document-type catalogue unless given.")
@click.option("--out", "out", type=PathArg, required=True, help="PDF to write (A4).")
def sheets(dossier: Optional[str], count: Optional[int], doc_types: tuple[str, ...], out: Path) -> None:
    """Print a cover sheet and separator sheets for scanning a whole dossier in one go.

    Put the cover on top of the dossier and a separator between two documents; `sohoa ingest`
    then splits the scan into one record per document and skips the sheets.
    """
    from sohoa.core.codes import dossier_code
    from sohoa.core.settings import get_settings
    from sohoa.split.sheets import separators_for, write_sheets

    code = dossier_code(dossier) if dossier else None
    names = {}
    if doc_types:
        from sohoa.ingest.describe import catalogue, type_names

        names = type_names(catalogue(get_settings().doctypes_file))
    wanted = count if count is not None else (len(doc_types) or 1)
    separators = separators_for(wanted, [_doc_type(v, names) for v in doc_types])
    pages = write_sheets(out, code, separators)
    cover = "1 cover, " if code else ""
    print(f"{out}: {cover}{len(separators)} separator(s), {pages} A4 page(s)")


COMMANDS: list = [sheets]
