"""`sohoa extract INPUT [--json]`: the metadata proposals of a scan, a PDF or a stored record; nothing is stored."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from sohoa.core.errors import ExitCode, SohoaError

_DOCUMENT_SUFFIXES = (".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff")


@click.command("extract")
@click.argument("input")
@click.option("--json", "as_json", is_flag=True, help="Print the proposals as JSON.")
def extract_command(input: str, as_json: bool) -> None:
    """Propose a document's metadata (type, number, date, issuer, title, summary, owner and other IDs).

    INPUT is a scan or PDF (OCR runs as in `sohoa ocr`, SOHOA_OCR_ENGINE respected, nothing is kept),
    or the id or code of a stored record (its stored words are read). Typed metadata is never changed.
    """
    from sohoa.extract import extract

    path = Path(input)
    if path.exists() or os.sep in input or path.suffix.lower() in _DOCUMENT_SUFFIXES:
        pages, sizes = _words_of_file(path)
    else:
        pages, sizes = _words_of_record(input)
    result = extract(pages, sizes)
    if as_json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    _print_table(result)


def _words_of_file(path: Path) -> tuple[list[list[dict]], list[tuple[float, float]]]:
    """OCR stages 1-2 only (refuse bad input, recognise pages): no PDF/A is assembled or stored."""
    from sohoa.ocr.pipeline import OcrOptions, plan, recognise_pages

    options = OcrOptions.from_settings()
    planned = plan(path, Path(os.devnull), options)
    pages, sizes = [], []
    for outcome in recognise_pages(planned.tasks, options):
        pages.append(outcome.word_boxes)
        sizes.append((outcome.width_pt, outcome.height_pt))
    return pages, sizes


def _words_of_record(id_or_code: str) -> tuple[list[list[dict]], list[tuple[float, float]]]:
    """The stored words.json and the page sizes of the stored PDF/A, both verified against their SHA-256."""
    import io

    import pikepdf

    from sohoa.archive.storage import ChecksumMismatch, read_verified
    from sohoa.archive.verified import record_mismatch
    from sohoa.cli.common import find_record, open_archive

    archive = open_archive()
    record = find_record(archive, id_or_code)
    objects = {o.name: o for o in record.objects}
    if "words.json" not in objects or "pdfa.pdf" not in objects:
        raise SohoaError(f"record {record.code}: no stored words to read", ExitCode.NOT_FOUND)

    def read(name: str) -> bytes:
        obj = objects[name]
        try:
            return b"".join(read_verified(archive.store, obj.key, obj.sha256))
        except ChecksumMismatch:  # a fixity finding like any other verified read's
            record_mismatch(archive, record, obj.key, "sohoa extract", f"sohoa extract {id_or_code}")
            raise

    try:
        pages = json.loads(read("words.json"))["pages"]
        with pikepdf.open(io.BytesIO(read("pdfa.pdf"))) as pdf:
            sizes = [_upright(page) for page in pdf.pages]
    except (ValueError, KeyError, TypeError, pikepdf.PdfError) as exc:
        raise SohoaError(f"record {record.code}: stored words or PDF/A unreadable ({exc})", ExitCode.DAMAGED) from None
    return pages, sizes


def _upright(page) -> tuple[float, float]:
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    width, height = abs(x1 - x0), abs(y1 - y0)
    return (height, width) if int(page.obj.get("/Rotate", 0)) % 180 else (width, height)


def _print_table(result) -> None:
    rows = []
    if result.doc_type is None and not result.fields and not result.other_ids:
        print("no proposals (no document type, number, date or ID recognised)")
        return
    for name, proposal in result.fields.items():
        rows.append((name, str(proposal.value), proposal.confidence, proposal.page))
    for proposal, name in zip(result.other_ids, result.owners()[1 if "owner_id" in result.fields else 0:]):
        rows.append(("other_id", f"{proposal.value} ({name['name'] or '?'})", proposal.confidence, proposal.page))
    width = max(len(r[0]) for r in rows)
    print(f"{'field':{width}}  {'conf':>5}  {'page':>4}  value")
    for name, text, confidence, page in rows:
        print(f"{name:{width}}  {confidence:5.2f}  {page:>4}  {text}")


COMMANDS = [extract_command]
