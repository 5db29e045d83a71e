"""`sohoa sign | verify | certify`: the digitising unit's signature on records, checking
signatures, and authenticated electronic copies ("BẢN SAO")."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Optional

import click

from sohoa.cli.common import PathArg, acting_user, find_record, open_archive
from sohoa.core.errors import ExitCode, SohoaError


def _settings():
    from sohoa.core.settings import get_settings

    return get_settings()


@click.command()
@click.argument("records_", metavar="RECORD...", nargs=-1, required=True)
@click.option("--by", "agent", default="sohoa sign", show_default=True, help="Who signs (the events say so).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record on stdout.")
def sign(records_: tuple[str, ...], agent: str, as_json: bool) -> None:
    """Sign stored records with the unit's key (SOHOA_SIGN_P12 or SOHOA_SIGN_PKCS11_LIB): a new
    object signed.pdf per record, its SHA-256 in a new metadata version, and a `signed` event."""
    from sohoa.ingest.signing import sign_record
    from sohoa.sign.keys import require_signer

    settings = _settings()
    archive = open_archive()
    found = [find_record(archive, value) for value in records_]  # every id checked before any work
    with require_signer(settings) as signer:
        for record in found:
            outcome = sign_record(archive, record.id, signer, agent, tsa_url=settings.sign_tsa_url)
            if as_json:
                print(json.dumps(outcome.__dict__, ensure_ascii=False))
            elif outcome.already:
                print(f"{outcome.record_code}: already signed (signed.pdf sha256 {outcome.sha256})")
            else:
                print(f"{outcome.record_code}: signed PAdES {outcome.level} at {outcome.signed_at}, "
                      f"signed.pdf sha256 {outcome.sha256}")


def _report_for(target: str, work: Path):
    """The file itself when TARGET is a file, else the signed PDF/A of the record it names."""
    from sohoa.sign.verify import verify_pdf

    path = Path(target)
    roots = _settings().trust_roots
    if path.is_file():
        return verify_pdf(path, roots)
    if path.suffix.lower() == ".pdf" or "/" in target:
        raise SohoaError(f"{target}: no such file", ExitCode.INPUT_MISSING)
    from sohoa.ingest.signing import signed_copy

    archive = open_archive()
    record = find_record(archive, target)
    report = verify_pdf(signed_copy(archive, record.id, work / "signed.pdf"), roots)
    return report.__class__(f"{record.code} (signed.pdf)", report.signatures, report.error)


def _print_report(report) -> None:
    print(report.summary())
    for check in report.signatures:
        print(f"  {check.field}: {'valid' if check.ok else 'INVALID'}, PAdES {check.level}, signed by {check.unit} "
              f"({check.signer})")
        print(f"    signing time {check.signing_time or '-'}, timestamp {check.timestamp or 'none'}; "
              f"{'covers the whole file' if check.covers_whole_file else 'covers a revision'}; "
              f"chain {'trusted' if check.chain_trusted else 'NOT trusted'}")
        for problem in check.problems:
            print(f"    problem: {problem}")


@click.command()
@click.argument("target", metavar="FILE|RECORD")
@click.option("--json", "as_json", is_flag=True)
def verify(target: str, as_json: bool) -> None:
    """Check the signatures of a PDF (or of a record's signed.pdf): integrity, signer, time,
    timestamp, chain against SOHOA_TRUST_ROOTS, modified after signing. Exit 0 only when valid, else 21."""
    with tempfile.TemporaryDirectory(prefix="sohoa-verify-") as work:
        report = _report_for(target, Path(work))
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report)
    if not report.valid:
        sys.exit(ExitCode.SIGNATURE_INVALID)


@click.command()
@click.argument("record_id", metavar="RECORD")
@click.option("--out", required=True, type=PathArg, help="The certified copy to write.")
@click.option("--as", "as_user", metavar="USER", help="As this web user: only their agency's records; audited.")
def certify(record_id: str, out: Path, as_user: Optional[str]) -> None:
    """An authenticated electronic copy: "BẢN SAO" top right of page 1 and the agency's signature."""
    from sohoa.ingest.signing import certified_copy

    archive = open_archive()
    record = find_record(archive, record_id)
    principal = _may_certify(archive, record, as_user)
    if not out.parent.is_dir():
        raise SohoaError(f"{out.parent}: no such folder", ExitCode.OUTPUT_ERROR)
    info = certified_copy(archive, record.id, _settings(), out)
    if principal is not None:
        from sohoa.web import audit

        audit.write(archive.catalog, principal.username, audit.CERTIFY, record.id,
                    f"cli certify --out {out.name} sha256 {info.sha256}", "cli")
    print(f"{out}: certified copy of {record.code}, PAdES {info.level}, {info.size} bytes, sha256 {info.sha256}")


def _may_certify(archive, record, as_user: Optional[str]):
    """`--as USER`: a user who may view the record (its agency subtree), else NOT_FOUND as for a missing one."""
    if not as_user:
        return None
    from sohoa.web import roles, scope

    principal = acting_user(archive.catalog, as_user, roles.SEARCH, "certify copies of records")
    if not scope.scope_of(archive.catalog, principal).covers(record.agency_code):
        raise SohoaError("no record in your agency's scope with that id", ExitCode.NOT_FOUND)
    return principal


COMMANDS: list = [sign, verify, certify]
