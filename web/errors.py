"""Every failure becomes a clear Vietnamese page (browsers) or a JSON error (the API); never a traceback.

SohoaError exit codes map to HTTP statuses: NOT_FOUND 404, REFUSED 409, INVALID_CODE and USAGE 400,
input problems 400/413/415, OUTPUT_ERROR (storage unreachable) 503. Anything unexpected is a 500
with a generic message; its traceback goes to the server log only.
"""

from __future__ import annotations

import logging
from typing import Final
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.web import labels
from sohoa.web.names import Names
from sohoa.web.security import CsrfFailed, Forbidden, NotAuthenticated, current, is_api
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("sohoa.web")

STATUS_BY_EXIT: Final[dict[int, int]] = {
    ExitCode.USAGE: 400, ExitCode.INVALID_CODE: 400, ExitCode.INPUT_MISSING: 400, ExitCode.INPUT_EMPTY: 400,
    ExitCode.UNSUPPORTED: 415, ExitCode.DAMAGED: 400, ExitCode.ENCRYPTED: 400, ExitCode.TOO_LARGE: 413,
    ExitCode.NOT_FOUND: 404, ExitCode.REFUSED: 409, ExitCode.OUTPUT_ERROR: 503, ExitCode.FIXITY_FAILED: 500,
}
HTTP_TITLE_VI: Final[dict[int, str]] = {
    400: "Yêu cầu không hợp lệ", 401: "Cần đăng nhập", 403: "Không có quyền truy cập", 404: "Không tìm thấy trang",
    405: "Phương thức không được hỗ trợ", 409: "Thao tác bị từ chối", 413: "Tệp quá lớn",
    415: "Định dạng không được hỗ trợ", 500: "Lỗi hệ thống", 503: "Dịch vụ tạm thời không sẵn sàng",
}
HTTP_MESSAGE_VI: Final[dict[int, str]] = {
    404: "Địa chỉ bạn mở không tồn tại. Hãy quay lại trang chủ.",
    405: "Thao tác này không dùng được theo cách vừa gửi.",
    500: "Đã xảy ra lỗi không mong muốn. Lỗi đã được ghi lại; vui lòng thử lại hoặc báo quản trị hệ thống.",
}


class WebError(Exception):
    """An expected failure with its HTTP status and a message for people, in Vietnamese."""

    def __init__(self, status: int, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def error_response(request: Request, status: int, title: str, message: str, code: str,
                   detail: str = "", headers: dict | None = None) -> Response:
    if is_api(request) or "application/json" in request.headers.get("accept", ""):
        body = {"error": code, "title": title, "message": message}
        if detail:
            body["detail"] = detail
        return JSONResponse(body, status_code=status, headers=headers)
    templates = request.app.state.sohoa.templates
    principal = getattr(request.state, "principal", None)
    try:
        return templates.TemplateResponse(request, "error.html", {
            "title": title, "message": message, "detail": detail, "status": status, "user": principal,
            "csrf": principal.csrf_token if principal else "", "path": request.url.path,
            "names": Names(request.app.state.sohoa.catalog)},
            status_code=status, headers=headers)
    except Exception:  # noqa: BLE001 - the error page itself failed: still no traceback for the user
        log.exception("error page failed")
        return PlainTextResponse(f"{title}. {message}", status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if is_api(request):
            return JSONResponse({"error": "unauthenticated", "title": HTTP_TITLE_VI[401],
                                 "message": "Cần đăng nhập hoặc gửi API token (Authorization: Bearer …)."},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/dang-nhap?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return error_response(request, 403, HTTP_TITLE_VI[403], labels.message_vi(exc.message), "forbidden")

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return error_response(request, 403, "Phiên làm việc không hợp lệ",
                              "Biểu mẫu đã hết hạn hoặc không gửi từ trang của hệ thống (thiếu mã CSRF). "
                              "Hãy tải lại trang rồi thử lại.", "csrf")

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError) -> Response:
        return error_response(request, exc.status, HTTP_TITLE_VI.get(exc.status, "Lỗi"), labels.message_vi(exc.message),
                              exc.code)

    @app.exception_handler(SohoaError)
    async def sohoa_error(request: Request, exc: SohoaError) -> Response:
        status = STATUS_BY_EXIT.get(exc.exit_code, 500)
        title = labels.ERROR_TITLE_VI.get(exc.exit_code, HTTP_TITLE_VI.get(status, "Lỗi"))
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.message)
        return error_response(request, status, title, labels.message_vi(exc.message), exc.exit_code.name.lower())

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path"))
            problems.append(labels.validation_vi(where, str(error.get("type", ""))))
        return error_response(request, 400, HTTP_TITLE_VI[400],
                              "Dữ liệu gửi lên thiếu hoặc sai định dạng.", "invalid", "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        if status in (404, 405) and await current(request) is None:
            return await not_authenticated(request, NotAuthenticated())  # anonymous: not even a 404 page
        message = HTTP_MESSAGE_VI.get(status) or (exc.detail if isinstance(exc.detail, str) else "")
        return error_response(request, status, HTTP_TITLE_VI.get(status, "Lỗi"), message, f"http_{status}",
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(request, 500, HTTP_TITLE_VI[500], HTTP_MESSAGE_VI[500], "internal")
