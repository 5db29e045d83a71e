"""Log in, log out, the home redirect, and /api/me.

A login goes through the throttle (web/accounts.py): a blocked account or address gets 429 and the
Vietnamese "thử lại sau N phút" page before any password is hashed. At most LOGIN_QUEUE logins wait
for a hashing slot; more are answered 503 at once, so a flood neither exhausts memory nor holds
every worker thread."""

from __future__ import annotations

import math
import secrets
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sohoa.web import accounts, audit, roles
from sohoa.web.accounts import Principal
from sohoa.web.config import first_admin_command
from sohoa.web.routes import client, page
from sohoa.web.security import LOGIN_CSRF_COOKIE, SESSION_COOKIE, CsrfFailed, current, require
from sohoa.web.state import state
from starlette.concurrency import run_in_threadpool

router = APIRouter()
LOGIN_QUEUE: Final = 32  # logins waiting for a hashing slot; more are refused (503)
BUSY_RETRY: Final = 5  # seconds
_waiting = 0  # logins in flight (the event loop is single-threaded: a plain counter suffices)
HOME_BY_ROLE: Final[dict[str, str]] = {
    roles.SCANNER: "/tai-len", roles.OFFICIAL: "/tra-cuu", roles.LEADER: "/bao-cao", roles.ADMIN: "/tra-cuu",
}


def safe_next(target: str | None) -> str:
    """Only a path of this site: an open redirect would let a phishing link borrow our login page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    principal = await current(request)
    if principal is None:
        return RedirectResponse("/dang-nhap", status_code=303)
    return RedirectResponse(HOME_BY_ROLE.get(principal.role, "/lo-so-hoa"), status_code=303)


def _login_page(request: Request, next_path: str, error: str = "", status: int = 200,
                headers: dict[str, str] | None = None) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    # No account yet (a fresh install): say how the first administrator is made, on the machine itself.
    first_run = not accounts.list_users(state(request).catalog)
    response = page(request, "login.html", None, status=status, login_csrf=token, next=next_path, error=error,
                    first_admin=first_admin_command() if first_run else "")
    response.headers.update(headers or {})
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=state(request).config.secure_cookies, path="/dang-nhap")
    return response


@router.get("/dang-nhap", include_in_schema=False)
async def login_form(request: Request, next: str = "/") -> Response:
    if await current(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, safe_next(next))


@router.post("/dang-nhap", include_in_schema=False)
async def login(request: Request, username: Annotated[str, Form(max_length=200)] = "",
                password: Annotated[str, Form(max_length=1000)] = "",
                csrf_token: Annotated[str, Form(max_length=200)] = "",
                next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        raise CsrfFailed()
    web = state(request)
    global _waiting
    if _waiting >= LOGIN_QUEUE:
        return _login_page(request, safe_next(next), "Máy chủ đang bận, vui lòng thử lại sau giây lát.",
                           status=503, headers={"Retry-After": str(BUSY_RETRY)})
    _waiting += 1
    try:
        outcome = await run_in_threadpool(accounts.login, web.catalog, username, password, client(request))
    except accounts.Busy:
        return _login_page(request, safe_next(next), "Máy chủ đang bận, vui lòng thử lại sau giây lát.",
                           status=503, headers={"Retry-After": str(BUSY_RETRY)})
    finally:
        _waiting -= 1
    user = outcome.user
    who = username.strip().lower()[:64] or "?"
    if outcome.retry_after:
        await run_in_threadpool(audit.write, web.catalog, who, audit.LOGIN_BLOCKED, None,
                                f"retry after {outcome.retry_after} s", client(request))
        minutes = max(1, math.ceil(outcome.retry_after / 60))
        return _login_page(request, safe_next(next),
                           f"Đăng nhập sai quá nhiều lần, vui lòng thử lại sau {minutes} phút.", status=429,
                           headers={"Retry-After": str(outcome.retry_after)})
    if user is None:
        await run_in_threadpool(audit.write, web.catalog, who, audit.LOGIN_FAILED, None, "", client(request))
        return _login_page(request, safe_next(next), "Tên đăng nhập hoặc mật khẩu không đúng.", status=401)
    token = await run_in_threadpool(accounts.create_session, web.catalog, user)
    await run_in_threadpool(audit.write, web.catalog, user.username, audit.LOGIN, None, "", client(request))
    target = safe_next(next)
    response = RedirectResponse(target if target != "/" else HOME_BY_ROLE.get(user.role, "/"), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=web.config.secure_cookies,
                        max_age=accounts.SESSION_HOURS * 3600, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/dang-nhap")
    return response


@router.post("/dang-xuat", include_in_schema=False)
async def logout(request: Request, principal: Annotated[Principal, Depends(require())]) -> Response:
    web = state(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_in_threadpool(accounts.end_session, web.catalog, token)
    await run_in_threadpool(audit.write, web.catalog, principal.username, audit.LOGOUT, None, "", client(request))
    response = RedirectResponse("/dang-nhap", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/api/me", tags=["tài khoản"], summary="The user behind this session or token")
def me(principal: Annotated[Principal, Depends(require())]) -> dict:
    return {"username": principal.username, "full_name": principal.full_name, "role": principal.role,
            "agency_code": principal.agency_code, "via": principal.via,
            "permissions": sorted(roles.GRANTS.get(principal.role, ()))}
