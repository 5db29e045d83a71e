"""Who is asking, and may they: session cookie or bearer token, role checks, CSRF.

- Pages use the session cookie set at login. Every state-changing request made with that cookie
  must carry the session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`): another
  site can make a browser send the cookie, but cannot read the token.
- Machines send `Authorization: Bearer sohoa_…`; no cookie is involved, so no CSRF check either.
  A token may be read-only or limited to endpoints (path prefixes): checked here for every route,
  and by the upload guard (web/app.py) before a request body is read.
- Anonymous requests: pages redirect to the login page, the API answers 401. Nothing else is served
  to them (static CSS/JS aside).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Final

from fastapi import Request
from sohoa.web.accounts import Principal, blocked_for, record_failure, session_principal, token_principal
from sohoa.web.state import state
from starlette.concurrency import run_in_threadpool

SESSION_COOKIE: Final = "sohoa_session"
LOGIN_CSRF_COOKIE: Final = "sohoa_login_csrf"  # double-submit token of the login form (no session yet)
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")


class NotAuthenticated(Exception):
    """No valid session or token: the login page (pages) or 401 (API)."""


class Forbidden(Exception):
    """Logged in, but the role (or the agency) does not allow this."""

    def __init__(self, message: str = "Tài khoản của bạn không có quyền thực hiện thao tác này.") -> None:
        super().__init__(message)
        self.message = message


class Throttled(Exception):
    """Too many failed logins or invalid API tokens from this address: 429 with Retry-After."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class CsrfFailed(Exception):
    """A form or call with the session cookie but without the session's CSRF token."""


def is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path == "/openapi.json"


def _lookup(request: Request) -> Principal | None:
    catalog = state(request).catalog
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        principal = token_principal(catalog, header[7:].strip())
        if principal is None:  # a wrong token counts as a failed login of the address
            address = request.client.host if request.client else ""
            wait = blocked_for(catalog, "", address) or record_failure(catalog, "", address)
            if wait:
                request.state.throttled = wait  # require() answers 429; error pages just see no one
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    return session_principal(catalog, cookie) if cookie else None


async def current(request: Request) -> Principal | None:
    """The principal of this request (looked up once, then kept on request.state)."""
    if not hasattr(request.state, "principal"):
        request.state.principal = await run_in_threadpool(_lookup, request)
    return request.state.principal


async def submitted_token(request: Request) -> str:
    token = request.headers.get(CSRF_HEADER, "")
    if not token and request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()  # Starlette caches it: the endpoint's Form() parameters reuse it
        token = str(form.get(CSRF_FIELD) or "")
    return token


async def check_csrf(request: Request, expected: str) -> None:
    token = await submitted_token(request)
    if not expected or not token or not secrets.compare_digest(token, expected):
        raise CsrfFailed()


def require(permission: str | None = None) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the logged-in principal, if their role grants `permission` (None: any role)."""

    async def dependency(request: Request) -> Principal:
        principal = await current(request)
        if principal is None:
            throttled = getattr(request.state, "throttled", 0)
            raise Throttled(throttled) if throttled else NotAuthenticated()
        if request.method not in SAFE_METHODS and principal.via == "session":
            await check_csrf(request, principal.csrf_token)
        if principal.via == "token":
            refused = principal.refusal(request.method, request.url.path)
            if refused:
                raise Forbidden(refused)
        if permission is not None and not principal.can(permission):
            raise Forbidden()
        return principal

    dependency.__name__ = f"require_{permission or 'login'}"
    return dependency
