"""The FastAPI application: routers, error pages, security headers, the login-protected OpenAPI docs,
and a background thread that keeps uploads moving (the supervisor's `tend`, then `settle`)."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Final
from urllib.parse import quote

import sohoa
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sohoa.core.settings import Settings, get_settings
from sohoa.web import errors, uploads
from sohoa.web.accounts import Principal
from sohoa.web.config import WebConfig
from sohoa.web.routes import admin, auth, documents, dossiers, jobs, notifications, quarantine, records, reports, review, search, upload
from sohoa.web.security import Throttled, current, is_api, require
from sohoa.web.state import WebState

log = logging.getLogger("sohoa.web")
STATIC: Final = Path(__file__).resolve().parent / "static"
MB: Final = 1024 * 1024
REQUEST_OVERHEAD: Final = MB  # form fields and multipart boundaries on top of the files
UPLOAD_PATHS: Final = frozenset({"/tai-len", "/api/uploads"})  # bodies of scans: the request limit
LOGIN_PATH: Final = "/dang-nhap"
LOGIN_BODY: Final = 64 * 1024  # the login form: a few fields
OTHER_BODY: Final = 32 * MB  # every other body: forms, JSON, CSV imports of the registry and agencies
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
DESCRIPTION: Final = """REST API of sohoa: upload scans, follow them through OCR, search the archive, open an
owner's Kho, reuse records in new dossiers, push the one-stop dossier registry, read the ratios.

Authenticate with `Authorization: Bearer sohoa_…` (an API token from `sohoa users token NAME`), or with
the session cookie of the web pages (then send the page's CSRF token in `X-CSRF-Token` on POST/PUT).
Errors are JSON: `{"error": code, "title": …, "message": …}` with a 4xx/5xx status; never a traceback."""
SECURITY_HEADERS: Final[list[tuple[bytes, bytes]]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),  # the record page frames its own PDF/A, nobody else may frame us
    (b"referrer-policy", b"same-origin"),
]
# Our pages run only our own script file; Swagger UI (/docs) needs its inline start-up script.
CSP: Final = b"default-src 'self'; img-src 'self' data:; object-src 'self'; frame-ancestors 'self'; form-action 'self'"


class SecurityHeaders:
    """A plain ASGI middleware (BaseHTTPMiddleware would buffer the streamed PDF downloads)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path") == "/docs"

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + SECURITY_HEADERS
                if not docs:
                    headers.append((b"content-security-policy", CSP))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


class EmptyQueryDefaults:
    """An empty query parameter (`?depth=` from a form field left blank) means "not given": it is
    dropped before the routes read the query, so every optional field falls back to its default
    instead of failing validation ("depth: Input should be a valid integer"). Forms posted as bodies
    already get this from FastAPI (an empty form field is its default)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            parts = scope["query_string"].split(b"&")
            kept = [part for part in parts if part.partition(b"=")[2]]
            if len(kept) != len(parts):
                scope = {**scope, "query_string": b"&".join(kept)}
        await self.app(scope, receive, send)


class BodyTooLarge(Exception):
    """Raised from `receive` when a body goes over its limit: the parser stops and closes its files."""


def _anonymous(request: Request) -> Response:
    """As errors.py answers NotAuthenticated: 401 for the API, the login page for pages."""
    if is_api(request):
        return JSONResponse({"error": "unauthenticated", "title": errors.HTTP_TITLE_VI[401],
                             "message": "Cần đăng nhập hoặc gửi API token (Authorization: Bearer …)."},
                            status_code=401, headers={"WWW-Authenticate": "Bearer", "Connection": "close"})
    return RedirectResponse(f"/dang-nhap?next={quote(request.url.path, safe='')}", status_code=303,
                            headers={"Connection": "close"})


def _throttled(request: Request, exc: Throttled) -> Response:
    minutes = max(1, -(-exc.seconds // 60))
    return errors.error_response(request, 429, "Quá nhiều lần thử",
                                 f"Đăng nhập sai quá nhiều lần, vui lòng thử lại sau {minutes} phút.", "throttled",
                                 headers={"Retry-After": str(exc.seconds)})


class UploadBudget:
    """Bytes of request bodies in flight per user: concurrent uploads of one user share a budget."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, user: str, size: int) -> bool:
        with self._lock:
            total = self.used.get(user, 0) + size
            if total > self.limit:
                return False
            self.used[user] = total
            return True

    def give_back(self, user: str, size: int) -> None:
        with self._lock:
            left = self.used.get(user, 0) - size
            if left > 0:
                self.used[user] = left
            else:
                self.used.pop(user, None)


class UploadGuard:
    """Every request with a body (POST, PUT, …), before a byte of it is read:

    - who is asking: anonymous → 401 (API) or the login page (pages), a token that may not make
      this call → 403; only the login form itself is open to anonymous senders (and small);
    - a declared Content-Length over the limit → 413 at once;
    - then `receive` is wrapped and counts the bytes as they arrive, with or without a
      Content-Length (chunked): over the request's limit, or over the user's budget shared by
      their concurrent uploads → 413. The multipart parser is stopped by the exception, which
      closes its temporary files; whatever the app answers then is replaced by the 413.
    A plain ASGI middleware: BaseHTTPMiddleware would read the body itself."""

    def __init__(self, app, web: WebState) -> None:
        self.app, self.web = app, web
        self.budget = UploadBudget(web.config.max_user_upload_bytes)

    def _limit(self, path: str) -> int:
        if path in UPLOAD_PATHS:  # and never more than MAX_FILES files of the largest size could need
            config = self.web.config
            return min(config.max_request_bytes, config.max_upload_bytes * uploads.MAX_FILES + REQUEST_OVERHEAD)
        return LOGIN_BODY if path == LOGIN_PATH else OTHER_BODY

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)  # no receive: nothing here may touch the body
        path = scope.get("path", "")
        limit = self._limit(path)
        user = ""
        if path != LOGIN_PATH:
            principal = await current(request)  # kept on request.state: the route does not look again
            throttled = getattr(request.state, "throttled", 0)
            if principal is None and throttled:
                await _throttled(request, Throttled(throttled))(scope, receive, send)
                return
            if principal is None:
                await _anonymous(request)(scope, receive, send)
                return
            refused = principal.refusal(scope["method"], path) if principal.via == "token" else ""
            if refused:
                await errors.error_response(request, 403, errors.HTTP_TITLE_VI[403], refused,
                                            "forbidden")(scope, receive, send)
                return
            user = principal.username
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(request, limit, False)(scope, receive, send)
            return
        await self._guarded(scope, receive, send, request, limit, user)

    def _too_large(self, request, limit: int, budget: bool):
        if budget:
            message = (f"Bạn đang tải lên quá nhiều dữ liệu cùng lúc (tối đa "
                       f"{self.budget.limit // MB} MB cho mọi lần tải lên đang chạy); hãy chờ các lần trước xong.")
        else:
            message = f"Yêu cầu lớn hơn {max(1, limit // MB)} MB; hãy gửi ít tệp hơn mỗi lần."
        return errors.error_response(request, 413, errors.HTTP_TITLE_VI[413], message, "too_large",
                                     headers={"Connection": "close"})

    async def _guarded(self, scope, receive, send, request, limit: int, user: str) -> None:
        counted = taken = 0
        exceeded: list[bool] = []  # [budget?] once the limit is passed
        started = False

        async def counting() -> dict:
            nonlocal counted, taken
            message = await receive()
            if message["type"] == "http.request" and not exceeded:
                size = len(message.get("body", b""))
                counted += size
                if counted > limit:
                    exceeded.append(False)
                elif user and size:
                    if not self.budget.take(user, size):
                        exceeded.append(True)
                    else:
                        taken += size
                if exceeded:
                    raise BodyTooLarge()
            elif exceeded:
                raise BodyTooLarge()
            return message

        async def sending(message) -> None:
            nonlocal started
            if exceeded:  # the app's answer to a broken-off body is replaced by the 413
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await self._too_large(request, limit, exceeded[0])(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting, sending)
        except BodyTooLarge:
            if not started:
                started = True
                await self._too_large(request, limit, exceeded[0] if exceeded else False)(scope, receive, send)
        except Exception:
            if not exceeded:
                raise
            if not started:
                started = True
                await self._too_large(request, limit, exceeded[0])(scope, receive, send)
        finally:
            if taken:
                self.budget.give_back(user, taken)


def _tend_loop(web: WebState, stop: threading.Event) -> None:
    """Send failed or lost uploads to the workers again, and drop upload copies once stored."""
    while not stop.wait(web.config.tend_seconds):
        try:
            if uploads.has_open_items(web):
                web.supervisor().tend()
            uploads.settle(web)
        except Exception:  # noqa: BLE001 - a catalog or broker hiccup must not kill the loop
            log.exception("upload supervisor: will try again")


def create_app(settings: Settings | None = None, config: WebConfig | None = None) -> FastAPI:
    web = WebState.open(settings or get_settings(), config or WebConfig.from_env())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        stop = threading.Event()
        thread = threading.Thread(target=_tend_loop, args=(web, stop), name="sohoa-web-tend", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=30)

    app = FastAPI(title="sohoa", version=sohoa.__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sohoa = web
    errors.install(app)

    @app.exception_handler(Throttled)
    async def throttled(request: Request, exc: Throttled) -> Response:
        return _throttled(request, exc)

    app.add_middleware(UploadGuard, web=web)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(EmptyQueryDefaults)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _mount_swagger_assets(app)
    for module in (auth, upload, search, records, documents, review, jobs, notifications, quarantine, reports, dossiers, admin):
        app.include_router(module.router)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(principal: Annotated[Principal, Depends(require())]) -> JSONResponse:
        return JSONResponse(with_bearer(app.openapi()))

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request, principal: Annotated[Principal, Depends(require())]) -> HTMLResponse:
        assets = "/docs-static" if getattr(app.state, "swagger_assets", False) else None
        kwargs = {"swagger_js_url": f"{assets}/swagger-ui-bundle.js",
                  "swagger_css_url": f"{assets}/swagger-ui.css"} if assets else {}
        if assets:
            kwargs["swagger_favicon_url"] = f"{assets}/favicon-32x32.png"
        return get_swagger_ui_html(openapi_url="/openapi.json", title="sohoa — API", **kwargs)

    return app


def with_bearer(spec: dict) -> dict:
    """Declare the API-token scheme, so Swagger UI's "Authorize" button sends `Authorization: Bearer`."""
    spec.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer", "description": "An API token from `sohoa users token NAME`"}
    spec["security"] = [{"bearer": []}]
    return spec


def _mount_swagger_assets(app: FastAPI) -> None:
    """Swagger UI from the swagger-ui-bundle package: office networks often have no internet (no CDN)."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        app.state.swagger_assets = False
        return
    app.mount("/docs-static", StaticFiles(directory=swagger_ui_path), name="docs-static")
    app.state.swagger_assets = True
