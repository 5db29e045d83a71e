"""The FastAPI application: routers, error pages, security headers, the login-protected OpenAPI docs,
and a background thread that keeps uploads moving (the supervisor's `tend`, then `settle`)."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Final

import sohoa
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sohoa.core.settings import Settings, get_settings
from sohoa.web import errors, uploads
from sohoa.web.accounts import Principal
from sohoa.web.config import WebConfig
from sohoa.web.routes import admin, auth, jobs, records, reports, search, upload
from sohoa.web.security import require
from sohoa.web.state import WebState

log = logging.getLogger("sohoa.web")
STATIC: Final = Path(__file__).resolve().parent / "static"
REQUEST_OVERHEAD: Final = 1024 * 1024  # form fields and multipart boundaries on top of the files
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


class BodyLimit:
    """Refuses a request whose declared size exceeds what an upload may be, before anything is
    parsed: multipart parsing would otherwise spool all of it to disk first."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            declared = dict(scope.get("headers", [])).get(b"content-length", b"0")
            if declared.isdigit() and int(declared) > self.limit:
                from starlette.requests import Request

                request = Request(scope, receive)
                response = errors.error_response(
                    request, 413, errors.HTTP_TITLE_VI[413],
                    f"Yêu cầu lớn hơn {self.limit // (1024 * 1024)} MB; hãy gửi ít tệp hơn mỗi lần.", "too_large")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
    app.add_middleware(BodyLimit, limit=web.config.max_upload_bytes * uploads.MAX_FILES + REQUEST_OVERHEAD)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _mount_swagger_assets(app)
    for module in (auth, upload, search, records, jobs, reports, admin):
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
