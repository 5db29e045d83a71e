"""`sohoa ingest | fixity | rebuild-catalog | show | get | export`: the archive commands."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Optional

import click

from sohoa.cli.common import PathArg, acting_user, find_record, open_archive, open_index, parse_date
from sohoa.core.errors import ExitCode, SohoaError

@click.command()
@click.argument("files", nargs=-1, required=True, type=PathArg)
@click.option("--agency", help="Agency code (QCVN 102), e.g. 000.00.12.H36.")
@click.option("--dossier", help="Dossier code <agency>-YYMMDD-NNNN.")
@click.option("--procedure", help="Procedure code from the national procedure database.")
@click.option("--kind", type=click.Choice(["component", "result"]), default="component", show_default=True)
@click.option("--doc-type", help="Document-type code (mã loại giấy tờ / kết quả).")
@click.option("--owner-id", help="Owner: 12-digit CCCD or tax code.")
@click.option("--title", help="Document name.")
@click.option("--number", "number_symbol", help="Number and symbol (số, ký hiệu).")
@click.option("--issued-on", help="Issue date YYYY-MM-DD.")
@click.option("--issuer", "issuing_agency", help="Issuing agency.")
@click.option("--summary", help="Summary (trích yếu).")
@click.option("--valid-until", help="Validity end YYYY-MM-DD.")
@click.option("--retention", default="06", show_default=True, help="Retention code 01 (permanent) .. 07.")
@click.option("--by", "scanned_by", help="Scanning staff member.")
@click.option("--split-on-blank", is_flag=True, default=None, help="Also start a new document after a blank page "
              "[SOHOA_SPLIT_ON_BLANK].")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record on stdout.")
def ingest(files, agency, dossier, procedure, kind, doc_type, owner_id, title, number_symbol, issued_on,
           issuing_agency, summary, valid_until, retention, scanned_by, split_on_blank, as_json) -> None:
    """Create one verified record per document of each FILE (synchronously) and print its id and code.

    A FILE holding a whole dossier is split at sohoa cover and separator sheets and at the one-stop
    receipt (sohoa sheets prints the sheets); the sheets are not archived."""
    from sohoa.ingest.runner import IngestFields, Quarantined, ingest_stack
    from sohoa.ocr.pipeline import OcrOptions

    fields = IngestFields(
        agency=agency, dossier=dossier, procedure=procedure, kind=kind, doc_type=doc_type,
        owner_id=owner_id, title=title, number_symbol=number_symbol, issued_on=parse_date(issued_on),
        issuing_agency=issuing_agency, summary=summary, valid_until=parse_date(valid_until),
        retention=retention, scanned_by=scanned_by,
    ).validated()
    from sohoa.core.settings import get_settings
    from sohoa.ingest.signing import check_signing_setup

    check_signing_setup(get_settings())  # a key that cannot be used stops here, before any work (exit 20)
    archive = open_archive()
    index = open_index()
    options = OcrOptions.from_settings()
    failure = 0
    for path in files:
        for result in ingest_stack(path, fields, archive, options, agent=scanned_by or "sohoa ingest", index=index,
                                   split_on_blank=split_on_blank):
            pages = f" (pages {result.page_range})" if getattr(result, "page_range", None) else ""
            if as_json:
                print(json.dumps({k: str(v) if isinstance(v, Path) else v
                                  for k, v in dataclasses.asdict(result).items()}, ensure_ascii=False))
            elif isinstance(result, Quarantined):
                print(f"{path}: not stored: {result.reason}", file=sys.stderr)
            else:
                print(f"{path}{pages}: {result.status} {result.record_id} {result.code}")
            if isinstance(result, Quarantined) and not failure:
                failure = result.exit_code
    if failure:
        sys.exit(failure)


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.option("--repair", is_flag=True, help="Make the catalog say what the stored metadata says; every repair is an event.")
@click.option("--last", is_flag=True, help="Print the last run (full, repair or scheduled slice) and its findings.")
def fixity(as_json: bool, repair: bool, last: bool) -> None:
    """Re-read every object and compare the catalog with the stored metadata both ways; exit 16 on any finding."""
    from sohoa.archive import fixity as fixity_check

    archive = open_archive()
    if last:
        run = fixity_check.last_run(archive)
        if run is None:
            raise SohoaError("no fixity run yet (run sohoa fixity, or let sohoa run / the workers schedule it)",
                             ExitCode.NOT_FOUND)
        shown = fixity_check.run_dict(run)
        if as_json:
            print(json.dumps(shown, ensure_ascii=False, indent=2))
        else:
            print(f"fixity {run.kind} run {run.id}: {run.status}, finished {shown['finished_at']}, "
                  f"{run.checked} of {run.total} records checked, {run.problems} problems, {run.repaired} repaired"
                  + (f"; error: {run.error}" if run.error else ""))
            for finding in run.findings:
                print(f"  {finding['problem']}: {finding['reason']}" + (f" [{finding['note']}]" if finding.get("note") else ""))
        return
    report = fixity_check.check(archive, repair=repair)
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"fixity: {report.records} records, {report.objects} objects, {report.bytes} bytes, "
              f"{len(report.problems)} problems" + (f", {report.repaired} repaired" if repair else ""))
        for problem in report.problems:
            print(f"  {problem.problem}: {problem.reason}" + (f" [{problem.note}]" if problem.note else ""))
    if not report.ok:
        sys.exit(ExitCode.FIXITY_FAILED)


@click.command("rebuild-catalog")
def rebuild_catalog() -> None:
    """Rebuild the catalog database from object storage alone."""
    from sohoa.archive.rebuild import rebuild_report

    report = rebuild_report(open_archive())
    print(f"rebuild-catalog: {report.restored} records restored, {len(report.repaired)} repaired, "
          f"{len(report.skipped)} folders skipped, {len(report.cleaned)} temporaries removed")
    for line in report.repaired:
        print(f"  repaired {line}")
    for line in report.skipped:
        print(f"  skipped {line}", file=sys.stderr)


def _find(archive, record_id: str, as_user: str | None):
    """The record; for `--as USER` a missing one says what a hidden one says (no hint it exists)."""
    try:
        return find_record(archive, record_id)
    except SohoaError:
        if as_user:
            raise SohoaError("no record in your agency's scope with that id", ExitCode.NOT_FOUND) from None
        raise


def _as_user(archive, record, as_user: str | None, action: str, detail: str) -> None:
    """`--as USER`: the record must be in that user's agency subtree (else the same NOT_FOUND as a
    missing record), and the access is written to the audit log as the web would."""
    if not as_user:
        return
    from sohoa.web import audit, roles, scope

    principal = acting_user(archive.catalog, as_user, roles.SEARCH, "view records")
    if not scope.scope_of(archive.catalog, principal).covers(record.agency_code):
        raise SohoaError("no record in your agency's scope with that id", ExitCode.NOT_FOUND)
    audit.write(archive.catalog, principal.username, action, record.id, detail, "cli")


@click.command()
@click.argument("record_id")
@click.option("--json", "as_json", is_flag=True)
@click.option("--as", "as_user", metavar="USER", help="As this web user: only their agency's records; audited.")
def show(record_id: str, as_json: bool, as_user: Optional[str]) -> None:
    """Show a record: metadata, objects with their SHA-256, events."""
    archive = open_archive()
    record = _find(archive, record_id, as_user)
    from sohoa.web import audit

    _as_user(archive, record, as_user, audit.VIEW, "cli show")
    events = archive.catalog.events_of(record.id)
    document = {
        "metadata": record.metadata_json,
        "objects": {o.name: {"key": o.key, "sha256": o.sha256, "size": o.size} for o in record.objects},
        "events": [{"action": e.action, "at": e.at.isoformat(), "agent": e.agent, "tool": e.tool,
                    "tool_version": e.tool_version, "outcome": e.outcome, "detail": e.detail} for e in events],
    }
    if as_json:
        print(json.dumps(document, ensure_ascii=False, indent=2, default=str))
        return
    for key, value in record.metadata_json.items():
        if value not in (None, ""):
            print(f"{key:16} {value}")
    print("objects:")
    for name, info in document["objects"].items():
        print(f"  {name:14} {info['size']:>10}  sha256 {info['sha256']}")
    print("events:")
    for e in document["events"]:
        print(f"  {e['at']}  {e['action']:15} {e['outcome']:8} {e['agent']} / {e['tool']} {e['tool_version']}")


@click.command()
@click.argument("record_id")
@click.option("--out", required=True, type=PathArg, help="File to write.")
@click.option("--original", is_flag=True, help="The original bytes instead of the PDF/A.")
@click.option("--unsigned", is_flag=True, help="The PDF/A as stored before signing (a signed record gives the signed one).")
@click.option("--as", "as_user", metavar="USER", help="As this web user: only their agency's records; audited.")
def get(record_id: str, out: Path, original: bool, unsigned: bool, as_user: Optional[str]) -> None:
    """Download a record's PDF/A (the signed one once signed; or the original), verified against the stored SHA-256."""
    from sohoa.archive.storage import ChecksumMismatch, copy_verified
    from sohoa.archive.verified import record_mismatch
    from sohoa.web import audit

    archive = open_archive()
    record = _find(archive, record_id, as_user)
    _as_user(archive, record, as_user, audit.DOWNLOAD_ORIGINAL if original else audit.DOWNLOAD_PDFA,
             f"cli get --out {out.name}")
    signed = not unsigned and any(o.name == "signed.pdf" for o in record.objects)
    wanted = "original" if original else "signed.pdf" if signed else "pdfa.pdf"
    obj = next(o for o in record.objects if o.name == wanted)
    try:
        copy_verified(archive.store, obj.key, obj.sha256, out)
    except ChecksumMismatch:  # nothing was written; the finding is kept as a fixity event
        record_mismatch(archive, record, obj.key, "sohoa get", f"sohoa get --out {out.name}")
        raise
    print(f"{out}: {obj.size} bytes, sha256 verified")


@click.command()
@click.argument("record_id", required=False)
@click.option("--dossier", help="Export every record of this dossier instead.")
@click.option("--out", required=True, type=PathArg, help="Bag directory to create.")
@click.option("--as", "as_user", metavar="USER",
              help="As this web user: only records of their agency's subtree (others are missing); audited.")
@click.option("--format", "format_", type=click.Choice(["bagit", "mets"]), default="bagit", show_default=True,
              help="bagit: a BagIt bag (carrying METS.xml too); mets: METS.xml with PREMIS beside the files.")
@click.option("--naming", type=click.Choice(["objects", "2025"]), default="objects", show_default=True,
              help="2025: the record's PDF is named CODE_YYYYMMDD_DESC.pdf (code, issue date, ASCII slug of the summary).")
def export(record_id: Optional[str], dossier: Optional[str], out: Path, as_user: Optional[str],
           format_: str = "bagit", naming: str = "objects") -> None:
    """Write a BagIt bag (manifest-sha256, bag-info) or a METS/PREMIS package of a record or a whole dossier."""
    from sohoa.archive.export import export_bag, export_mets, mets_of

    archive = open_archive()
    if bool(record_id) == bool(dossier):
        raise SohoaError("give either a RECORD_ID or --dossier CODE", ExitCode.USAGE)
    seen = None
    if as_user:
        from sohoa.web import roles, scope

        principal = acting_user(archive.catalog, as_user, roles.SEARCH, "view records")
        seen = scope.scope_of(archive.catalog, principal)
    if record_id:
        record = archive.catalog.record(record_id)
        if record is None or (seen is not None and not seen.covers(record.agency_code)):
            raise SohoaError(f"no record {record_id!r}", ExitCode.NOT_FOUND)  # a hidden record is a missing one
        chosen = [record]
    else:
        chosen = [r for r in archive.catalog.records_of_dossier(dossier) if seen is None or seen.covers(r.agency_code)]
        if not chosen:
            raise SohoaError(f"no records in dossier {dossier!r}", ExitCode.NOT_FOUND)
    if format_ == "mets":
        export_mets(archive, list(chosen), out, dossier, naming)
    else:
        export_bag(archive, list(chosen), out, {"METS.xml": mets_of(archive, list(chosen), dossier, naming)}, naming)
    if as_user:
        from sohoa.web import audit

        audit.write(archive.catalog, principal.username, audit.DOWNLOAD_PDFA, None, f"cli export --out {out.name}",
                    "cli", records=[r.id for r in chosen], dossier=dossier)
    print(f"{out}: {'bag' if format_ == 'bagit' else 'METS package'} of {len(chosen)} record(s)")


COMMANDS = [ingest, fixity, rebuild_catalog, show, get, export]
