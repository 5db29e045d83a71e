"""Routes, one module per page. Each module serves its HTML page(s) and the matching /api endpoints,
both calling the same functions (and the same ones the CLI calls), so the page, the API and
`sohoa …` cannot drift apart."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.search.model import EXACT_ID
from sohoa.web import roles
from sohoa.web.accounts import Principal
from sohoa.web.names import Names
from sohoa.web.state import state


def page(request: Request, template: str, principal: Principal | None, status: int = 200,
         **context: Any) -> HTMLResponse:
    """A server-rendered page with the user, the CSRF token, the menu and `names` (codes → names) in its context."""
    web = state(request)
    return web.templates.TemplateResponse(request, template, {
        "user": principal, "csrf": principal.csrf_token if principal else "", "path": request.url.path,
        "names": Names(web.catalog), **context}, status_code=status)


def client(request: Request) -> str:
    """Who is on the other end, for the audit log."""
    return request.client.host if request.client else ""


def form_day(value: str, what: str) -> date | None:
    """An optional YYYY-MM-DD field of a form or query: empty is None, anything else a Vietnamese 400."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise SohoaError(f"{what}: {value!r} không phải ngày dạng YYYY-MM-DD", ExitCode.USAGE) from None


def refuse_id_lookup(principal: Principal, owner_id: str, text: str = "") -> None:
    """A user who may only browse (a scanner: is it digitised already?) cannot look a citizen up by
    ID, neither with the owner filter nor with an ID typed as the query."""
    if not principal.can(roles.SEARCH) and (owner_id.strip() or EXACT_ID.match(text.strip())):
        raise SohoaError("Tài khoản quét số hóa không tra cứu theo số định danh của công dân.", ExitCode.USAGE)
