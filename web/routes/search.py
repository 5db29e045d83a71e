"""Tra cứu: one search box (diacritics optional) with filters, facets and pages; the owner's Kho;
suggestions of what a new dossier can reuse. Calls sohoa.search.service like `sohoa search`/`kho`."""

from __future__ import annotations

import json
import math
import re
from datetime import date
from functools import partial
from html import unescape
from typing import Annotated, Final, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup, escape
from pydantic import BaseModel, Field
from sohoa.core import codes
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ratios.agencies import subordinates
from sohoa.ratios.registry import owner_of
from sohoa.search import service
from sohoa.search.model import EXACT_ID, SearchQuery
from sohoa.search.reuse import suggest
from sohoa.web import audit, labels, roles, scope
from sohoa.web.accounts import Principal
from sohoa.web.names import Names
from sohoa.web.routes import client, form_day, page, refuse_id_lookup
from sohoa.web.security import require
from sohoa.web.state import state

router = APIRouter()
PAGE_SIZE: Final = 10
MARK: Final = re.compile(r"(</?mark>)")


class SearchParams(BaseModel):
    """The filters of `sohoa search`, as query parameters."""

    q: str = Field("", max_length=500, description="Words (diacritics optional), a CCCD/tax code or a dossier code")
    agency: str = Field("", description="Agency code; includes its subordinate agencies")
    procedure: str = ""
    doc_type: str = ""
    kind: Literal["", "component", "result"] = ""
    owner_id: str = ""
    dossier: str = ""
    issued_from: str = Field("", alias="from", description="Issued on or after YYYY-MM-DD")
    issued_to: str = Field("", alias="to", description="Issued on or before YYYY-MM-DD")
    valid_only: bool = False
    sort: Literal["relevance", "date"] = "relevance"
    page: int = Field(1, ge=1, le=10000)
    size: int = Field(PAGE_SIZE, ge=1, le=200)

    model_config = {"populate_by_name": True}


def run_search(request: Request, principal: Principal, params: SearchParams):
    """The same SearchQuery `sohoa search` builds, through the same service.search. A user who may
    only browse (a scanner: is it digitised already?) cannot look a citizen up by ID, and gets hits
    without the owner's ID or the OCR snippet (personal data)."""
    refuse_id_lookup(principal, params.owner_id, params.q)
    browse_only = not principal.can(roles.SEARCH)
    query = SearchQuery(
        text=params.q, procedure_code=params.procedure.strip() or None,
        doc_type_code=params.doc_type.strip() or None, kind=params.kind or None,
        owner_id=codes.owner_id(params.owner_id) if params.owner_id.strip() else None,
        dossier_code=codes.dossier_code(params.dossier) if params.dossier.strip() else None,
        issued_from=form_day(params.issued_from, "từ ngày"), issued_to=form_day(params.issued_to, "đến ngày"),
        valid_on=date.today() if params.valid_only else None, sort=params.sort, page=params.page, size=params.size,
    )
    web = state(request)
    agencies = subordinates(web.catalog, codes.agency_code(params.agency)) if params.agency.strip() else None
    allowed = scope.scope_of(web.catalog, principal).as_list()
    if allowed is not None:  # the user's subtree, narrowed further by the agency filter they chose
        agencies = allowed if agencies is None else [code for code in agencies if code in set(allowed)]
    result = service.search(web.index, query, agencies)
    if browse_only:
        result.hits = [hit.model_copy(update={"owner_id": None, "snippet": ""}) for hit in result.hits]
    return result


def snippet_html(snippet: str) -> Markup:
    """The index's snippet with only its <mark> tags kept: everything else is escaped again here,
    whatever the backend did, so OCR text can never inject markup."""
    parts = MARK.split(snippet)
    return Markup("".join(part if part in ("<mark>", "</mark>") else str(escape(unescape(part))) for part in parts))


def _link(params: SearchParams, **changes) -> str:
    values = {**params.model_dump(by_alias=True), **changes}
    return "/tra-cuu?" + urlencode({k: v for k, v in values.items()
                                    if v not in ("", None, False) and not (k == "page" and v == 1)
                                    and not (k == "size" and v == PAGE_SIZE) and not (k == "sort" and v == "relevance")})


@router.get("/tra-cuu", include_in_schema=False)
def search_page(request: Request, principal: Annotated[Principal, Depends(require(roles.BROWSE))],
                params: Annotated[SearchParams, Query()]) -> Response:
    searched = any(v not in ("", None, False) for k, v in params.model_dump().items()
                   if k not in ("sort", "page", "size"))
    result, error = None, ""
    latest = not searched  # an empty search: the latest records of the user's scope, not nothing
    try:
        result = run_search(request, principal, params.model_copy(update={"sort": "date"}) if latest else params)
        _audit_search(request, principal, params, result)
    except SohoaError as exc:
        if exc.exit_code not in (ExitCode.USAGE, ExitCode.INVALID_CODE):
            raise
        error = labels.message_vi(exc.message)
    pages = math.ceil(result.total / params.size) if result else 0
    return page(request, "search.html", principal, status=400 if error else 200, params=params, result=result,
                error=error, pages=pages, link=lambda **c: _link(params, **c), snippet=snippet_html,
                owner_hint=params.q.strip() if EXACT_ID.match(params.q.strip()) else "",
                can_reuse=principal.can(roles.REUSE), latest=latest,
                can_view=principal.can(roles.SEARCH), agency_choices=_agency_choices(request, principal))


def _agency_choices(request: Request, principal: Principal) -> list[tuple[str, str]]:
    """The agencies of the filter: the user's subtree (admins: all), by name."""
    web = state(request)
    return Names(web.catalog).agency_choices(scope.scope_of(web.catalog, principal).agencies)


@router.get("/api/search", tags=["tra cứu"], summary="Search records (the same query as `sohoa search`)")
def api_search(request: Request, principal: Annotated[Principal, Depends(require(roles.BROWSE))],
               params: Annotated[SearchParams, Query()]) -> Response:
    result = run_search(request, principal, params)
    _audit_search(request, principal, params, result)
    return Response(result.model_dump_json(), media_type="application/json")


def _audit_search(request: Request, principal: Principal, params: SearchParams, result) -> None:
    """One audit row per search: the query and every hit shown (zero hits tell something too)."""
    asked = params.model_dump_json(exclude_defaults=True, by_alias=True)
    audit.write(state(request).catalog, principal.username, audit.SEARCH, None, asked, client(request),
                records=[hit.record_id for hit in result.hits], dossier=params.dossier.strip() or None)


def _kho(request: Request, principal: Principal, owner_id: str, dossier: str = ""):
    """The owner's Kho as this user may see it: their subtree, or every agency when `dossier` is
    a dossier of their subtree registered to this owner (the purpose, written in the audit row)."""
    owner = codes.owner_id(owner_id)
    web = state(request)
    agencies, bound = scope.kho_agencies(web.catalog, scope.scope_of(web.catalog, principal), owner, dossier)
    groups = service.kho(web.index, owner, agencies=agencies)
    detail = f"owner {owner}" + (f", dossier {bound} (all agencies)" if bound else "")
    audit.write(web.catalog, principal.username, audit.KHO, None, detail, client(request),
                records=[hit.record_id for hits in groups.values() for hit in hits], dossier=bound)
    return owner, groups, bound


@router.get("/kho", include_in_schema=False)
def kho_page(request: Request, principal: Annotated[Principal, Depends(require(roles.SEARCH))],
             owner_id: str = "", dossier: str = "") -> Response:
    if not owner_id.strip():
        return page(request, "kho.html", principal, owner="", groups=None, error="", dossier=dossier, bound=None)
    try:
        owner, groups, bound = _kho(request, principal, owner_id, dossier)
    except SohoaError as exc:
        if exc.exit_code != ExitCode.INVALID_CODE:
            raise
        return page(request, "kho.html", principal, status=400, owner=owner_id, groups=None, error=labels.message_vi(exc.message),
                    dossier=dossier, bound=None)
    return page(request, "kho.html", principal, owner=owner, groups=groups, error="", today=date.today(),
                can_reuse=principal.can(roles.REUSE), dossier=dossier, bound=bound)


@router.get("/api/kho/{owner_id}", tags=["tra cứu"],
            summary="The owner's Kho: valid digitised documents grouped by type (as `sohoa kho`)")
def api_kho(request: Request, owner_id: str, principal: Annotated[Principal, Depends(require(roles.SEARCH))],
            dossier: Annotated[str, Query(max_length=100, description="A dossier of your agency registered to this "
                                          "owner: shows the owner's documents of every agency")] = "") -> dict:
    owner, groups, bound = _kho(request, principal, owner_id, dossier)
    return {"owner_id": owner, "dossier": bound, "all_agencies": bound is not None or
            scope.scope_of(state(request).catalog, principal).everything,
            "groups": {k: [json.loads(h.model_dump_json()) for h in v] for k, v in groups.items()}}


@router.get("/api/owners/{owner_id}/data", tags=["sử dụng lại"],
            summary="The owner's confirmed data per document type, to prefill an e-form instead of asking again")
def api_owner_data(request: Request, owner_id: str,
                   principal: Annotated[Principal, Depends(require(roles.SEARCH))],
                   dossier: Annotated[str, Query(max_length=100, description="A dossier of your agency registered to "
                                                 "this owner: data from documents of every agency")] = "") -> dict:
    """As the Kho (the same scope and purpose binding), one audit row naming every record used."""
    owner = codes.owner_id(owner_id)
    web = state(request)
    agencies, bound = scope.kho_agencies(web.catalog, scope.scope_of(web.catalog, principal), owner, dossier)
    data = service.owner_data(web.archive, service.kho(web.index, owner, agencies=agencies))
    audit.write(web.catalog, principal.username, audit.OWNER_DATA, None,
                f"owner {owner}" + (f", dossier {bound} (all agencies)" if bound else ""), client(request),
                records=[entry["record_id"] for entry in data.values()], dossier=bound)
    return {"owner_id": owner, "dossier": bound, "data": data}


@router.get("/api/suggest", tags=["sử dụng lại"],
            summary="Digitised documents a new dossier can reuse instead of asking again (as `sohoa suggest`)")
def api_suggest(request: Request, principal: Annotated[Principal, Depends(require(roles.REUSE))],
                dossier: str = "", owner_id: str = "") -> dict:
    web = state(request)
    seen = scope.scope_of(web.catalog, principal)
    code = codes.dossier_code(dossier) if dossier.strip() else None
    owner = codes.owner_id(owner_id) if owner_id.strip() else (owner_of(web.catalog, code) if code else None)
    agencies, bound = scope.kho_agencies(web.catalog, seen, owner, code) if owner else (seen.as_list(), None)
    hits = suggest(web.archive, web.index, dossier=code, owner_id=owner,
                   registered_owner=partial(owner_of, web.catalog), agencies=agencies)
    audit.write(web.catalog, principal.username, audit.SUGGEST, None,
                f"owner {owner}" + (f", dossier {bound} (all agencies)" if bound else ""), client(request),
                records=[hit.record_id for hit in hits], dossier=bound or code)
    return {"hits": [json.loads(h.model_dump_json()) for h in hits]}
