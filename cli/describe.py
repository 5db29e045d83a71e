"""`sohoa describe`: set or confirm a record's metadata (a new metadata version, a `described` event)."""

from __future__ import annotations

import json
from typing import Optional

import click

from sohoa.cli.common import acting_user, find_record, open_archive, open_index

FIELD_LABELS = {
    "doc_type_code": "loại giấy tờ (mã)", "doc_type_name": "loại giấy tờ", "number_symbol": "số, ký hiệu",
    "issued_on": "ngày ban hành", "issuing_agency": "cơ quan ban hành", "title": "tiêu đề",
    "summary": "trích yếu", "owner_id": "số định danh", "owner_name": "họ và tên",
    "date_of_birth": "ngày sinh", "valid_until": "hiệu lực đến", "other_ids": "số định danh khác",
}


@click.command()
@click.argument("record_id")
@click.option("--set", "assignments", multiple=True, metavar="FIELD=VALUE",
              help="Set a field (an empty VALUE clears it); what you set counts as confirmed.")
@click.option("--confirm", is_flag=True, help="Confirm every proposal still waiting for review.")
@click.option("--as", "as_user", metavar="USER", help="As this web user (their agency's records only; audited).")
@click.option("--json", "as_json", is_flag=True)
def describe(record_id: str, assignments: tuple[str, ...], confirm: bool, as_user: Optional[str],
             as_json: bool) -> None:
    """Show, set or confirm a record's metadata (type, number, date, issuer, summary, owner)."""
    from sohoa.core.settings import get_settings
    from sohoa.ingest import describe as describing

    archive = open_archive()
    record = find_record(archive, record_id)
    by = _check_user(archive, record, as_user) if as_user else "sohoa-cli"
    values = describing.parse_assignments(list(assignments))
    if values or confirm:
        names = describing.type_names(describing.catalogue(get_settings().doctypes_file))
        outcome = describing.describe_record(archive, record.id, values, confirm, by, names, open_index())
        if as_user:
            from sohoa.web import audit

            audit.write(archive.catalog, by, audit.DESCRIBE, record.id,
                        "cli describe: " + (", ".join(outcome.changed) or "no change"), "cli")
        record = find_record(archive, record.id)
        if not as_json:
            done = (f"metadata version {outcome.version}: " + ", ".join(outcome.changed)) if outcome.version \
                else "nothing to change"
            print(f"{record.code}: {done}")
    _print(record.metadata_json, as_json)


def _check_user(archive, record, as_user: str) -> str:
    from sohoa.core.errors import ExitCode, SohoaError
    from sohoa.web import roles, scope

    principal = acting_user(archive.catalog, as_user, roles.REUSE, "describe records")
    if not scope.scope_of(archive.catalog, principal).covers(record.agency_code):
        raise SohoaError("no record in your agency's scope with that id", ExitCode.NOT_FOUND)
    return principal.username


def _print(meta: dict, as_json: bool) -> None:
    pending = set(meta.get("unconfirmed") or [])
    disputed = set(meta.get("disagreements") or [])
    if as_json:
        shown = {name: meta.get(name) for name in FIELD_LABELS}
        print(json.dumps({"record_id": meta["record_id"], "record_code": meta["record_code"], "fields": shown,
                          "unconfirmed": sorted(pending), "disagreements": sorted(disputed)},
                         ensure_ascii=False, indent=2, default=str))
        return
    for name, label in FIELD_LABELS.items():
        value = meta.get(name)
        if value in (None, "", []):
            continue
        flag = " (chưa xác nhận)" if name in pending else " (khác với nội dung giấy tờ)" if name in disputed else ""
        print(f"{name:15} {', '.join(value) if isinstance(value, list) else value}{flag}")


COMMANDS = [describe]
