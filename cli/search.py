"""`sohoa search | kho | reindex`: find what is already digitised."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Optional

import click

from sohoa.cli.common import acting_user, open_archive, open_catalog, open_index, parse_date
from sohoa.core import codes


@click.command()
@click.argument("query", required=False, default="")
@click.option("--agency", help="Agency code; includes its subordinate agencies.")
@click.option("--procedure", help="Procedure code.")
@click.option("--doc-type", help="Document-type code.")
@click.option("--kind", type=click.Choice(["component", "result"]))
@click.option("--owner-id", help="Owner CCCD or tax code (exact).")
@click.option("--dossier", help="Dossier code (exact).")
@click.option("--from", "issued_from", help="Issued on or after YYYY-MM-DD.")
@click.option("--to", "issued_to", help="Issued on or before YYYY-MM-DD.")
@click.option("--valid-only", is_flag=True, help="Only documents not expired today.")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--size", type=click.IntRange(1, 200), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--as", "as_user", metavar="USER", help="Search as this web user: only their agency's subtree.")
def search(query, agency, procedure, doc_type, kind, owner_id, dossier, issued_from, issued_to, valid_only,
           sort, page, size, as_json, as_user) -> None:
    """Search records by any word (diacritics optional), ID, name, codes and filters."""
    from sohoa.ratios.agencies import subordinates
    from sohoa.search import service
    from sohoa.search.model import SearchQuery

    request = SearchQuery(
        text=query, procedure_code=procedure, doc_type_code=doc_type, kind=kind,
        owner_id=codes.owner_id(owner_id) if owner_id else None,
        dossier_code=codes.dossier_code(dossier) if dossier else None,
        issued_from=parse_date(issued_from), issued_to=parse_date(issued_to),
        valid_on=date.today() if valid_only else None, sort=sort, page=page, size=size,
    )
    catalog = open_catalog()
    agencies = subordinates(catalog, codes.agency_code(agency)) if agency else None
    allowed = _scope(catalog, as_user).as_list()
    if allowed is not None:  # --as: their subtree, narrowed by --agency
        agencies = allowed if agencies is None else [code for code in agencies if code in set(allowed)]
    result = service.search(open_index(), request, agencies)
    if as_json:
        print(result.model_dump_json(indent=2))
        return
    print(f"{result.total} kết quả (results)")
    for number, hit in enumerate(result.hits, start=(page - 1) * size + 1):
        print(f"{number:3}. {hit.record_code}  {hit.title or ''}  [{hit.doc_type_code or '-'}]"
              f"  {hit.owner_id or ''}  {hit.record_id}")
        if hit.snippet:
            print("     " + re.sub(r"</?mark>", "*", hit.snippet))
    for field, counts in result.facets.items():
        if counts:
            print(f"{field}: " + ", ".join(f"{k} ({v})" for k, v in counts.items()))


def _scope(catalog, as_user: str | None):
    """Without --as the CLI is the machine's administrator (everything); with it, that user's scope
    (a role that may not search, e.g. a scanner, is refused as on the web)."""
    from sohoa.web import roles, scope

    if not as_user:
        return scope.EVERYTHING
    principal = acting_user(catalog, as_user, roles.SEARCH, "search records")
    return scope.scope_of(catalog, principal)


@click.command()
@click.argument("owner_id")
@click.option("--dossier", help="A dossier of your agency registered to this owner: every agency's documents.")
@click.option("--as", "as_user", metavar="USER", help="Look up as this web user (audited like the web).")
@click.option("--json", "as_json", is_flag=True)
def kho(owner_id: str, dossier: Optional[str], as_user: Optional[str], as_json: bool) -> None:
    """The owner's Kho: every valid digitised document of a person or organisation."""
    from sohoa.search.service import kho as owner_kho
    from sohoa.web import audit, scope

    catalog = open_catalog()
    owner = codes.owner_id(owner_id)
    agencies, bound = scope.kho_agencies(catalog, _scope(catalog, as_user), owner, dossier)
    groups = owner_kho(open_index(), owner, agencies=agencies)
    if as_user:
        audit.write(catalog, as_user.strip().lower(), audit.KHO, None,
                    f"owner {owner}" + (f", dossier {bound} (all agencies)" if bound else ""), "cli",
                    records=[hit.record_id for hits in groups.values() for hit in hits], dossier=bound)
    if as_json:
        from sohoa.search.service import owner_data

        print(json.dumps({"owner_id": owner, "dossier": bound,
                          "groups": {k: [json.loads(h.model_dump_json()) for h in v] for k, v in groups.items()},
                          "data": owner_data(open_archive(), groups)}, ensure_ascii=False, indent=2, default=str))
        return
    if not groups:
        print(f"{owner_id}: chưa có giấy tờ số hóa còn hiệu lực (no valid digitised documents)")
    for doc_type, hits in groups.items():
        name = hits[0].doc_type_name
        print(f"{name} ({doc_type}):" if name and name != doc_type else f"{doc_type}:")
        for hit in hits:
            print(f"  {hit.issued_on or '':10}  {hit.record_code}  {hit.title or ''}  "
                  f"(hiệu lực đến {hit.valid_until or 'không thời hạn'})")


@click.command()
def reindex() -> None:
    """Rebuild the search index from the catalog and object storage."""
    from sohoa.search.service import reindex as rebuild_index

    index = open_index()
    count = rebuild_index(open_archive(), index)
    print(f"reindex: {count} records indexed into {index.describe()}")


@click.command()
@click.argument("record_id")
@click.option("--dossier", required=True, help="The new dossier the record is reused in.")
@click.option("--by", default="sohoa", show_default=True, help="Official who reuses it.")
@click.option("--as", "as_user", metavar="USER",
              help="Reuse as this web user: a dossier of their subtree (also --by), audited like the web.")
@click.option("--withdraw", is_flag=True,
              help="Withdraw the reuse instead: only the same official (--by/--as), the same day (Vietnam time).")
def reuse(record_id: str, dossier: str, by: str, as_user: Optional[str], withdraw: bool) -> None:
    """Attach an existing record to a new dossier as a reused component (refuses expired documents)."""
    from sohoa.hooks.reuse import reuse as reuse_record  # the reuse and its withdrawal, announced to the webhooks
    from sohoa.hooks.reuse import withdraw as withdraw_reuse
    from sohoa.core.errors import ExitCode, SohoaError
    from sohoa.web import audit, roles, scope

    archive = open_archive()
    other = False
    if as_user:
        principal = acting_user(archive.catalog, as_user, roles.REUSE, "reuse records")
        seen = scope.scope_of(archive.catalog, principal)
        dossier = scope.check_dossier(archive.catalog, seen, dossier)
        record = archive.catalog.record(record_id)
        if record is None or not scope.may_reuse(archive.catalog, seen, record.agency_code, record.owner_id, dossier):
            raise SohoaError(f"no record {record_id!r}", ExitCode.NOT_FOUND)
        other, by = not seen.covers(record.agency_code), principal.username
    if withdraw:
        withdrawn = withdraw_reuse(archive, record_id, dossier, by)
        if as_user:
            audit.write(archive.catalog, by, audit.REUSE_WITHDRAWN, withdrawn.record_id,
                        f"dossier {withdrawn.dossier_code}", "cli", dossier=withdrawn.dossier_code)
        print(f"{withdrawn.record_code} withdrawn from {withdrawn.dossier_code}")
        return
    outcome = reuse_record(archive, record_id, dossier, by)
    if as_user:
        audit.write(archive.catalog, by, audit.REUSE, outcome.record_id,
                    f"dossier {outcome.dossier_code}{' (already linked)' if outcome.already_linked else ''}"
                    f"{' (other agency)' if other else ''}", "cli", dossier=outcome.dossier_code)
    state = "already linked to" if outcome.already_linked else "reused in"
    print(f"{outcome.record_code} {state} {outcome.dossier_code}")


@click.command()
@click.option("--dossier", help="New dossier: its owner's documents not yet in it.")
@click.option("--owner-id", help="Owner CCCD or tax code (when the dossier is not known).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--as", "as_user", metavar="USER",
              help="Suggest as this web user: their subtree (all agencies for their dossier of this owner); audited.")
def suggest(dossier: Optional[str], owner_id: Optional[str], as_json: bool, as_user: Optional[str]) -> None:
    """Digitised documents that can fill a new dossier: what not to ask the citizen for again."""
    from functools import partial

    from sohoa.ratios.registry import owner_of
    from sohoa.search.reuse import suggest as suggest_records

    archive = open_archive()
    agencies, bound, code, owner = None, None, None, None
    if as_user:  # as the web's /api/suggest: the user's scope, crossing agencies only for their dossier
        from sohoa.web import roles, scope

        principal = acting_user(archive.catalog, as_user, roles.REUSE, "reuse records")
        seen = scope.scope_of(archive.catalog, principal)
        code = codes.dossier_code(dossier) if dossier else None
        owner = codes.owner_id(owner_id) if owner_id else (owner_of(archive.catalog, code) if code else None)
        agencies, bound = scope.kho_agencies(archive.catalog, seen, owner, code) if owner else (seen.as_list(), None)
    hits = suggest_records(archive, open_index(), dossier=dossier, owner_id=owner_id,
                           registered_owner=partial(owner_of, archive.catalog), agencies=agencies)
    if as_user:
        from sohoa.web import audit

        audit.write(archive.catalog, principal.username, audit.SUGGEST, None,
                    f"owner {owner}" + (f", dossier {bound} (all agencies)" if bound else ""), "cli",
                    records=[hit.record_id for hit in hits], dossier=bound or code)
    if as_json:
        print(json.dumps([json.loads(h.model_dump_json()) for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        print("không có giấy tờ số hóa phù hợp (nothing to reuse)")
    for hit in hits:
        print(f"{hit.doc_type_code or '-':8} {hit.record_code}  {hit.title or ''}  → sohoa reuse {hit.record_id}"
              f" --dossier {dossier or 'MÃ_HỒ_SƠ'}")


COMMANDS = [search, kho, reindex, reuse, suggest]
