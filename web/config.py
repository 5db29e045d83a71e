"""Settings of the web app (`SOHOA_WEB_*`, `SOHOA_MAX_UPLOAD_MB`, `SOHOA_MAX_REQUEST_MB`,
`SOHOA_MAX_USER_UPLOAD_MB`), read from the environment.

Kept apart from core/settings.py: only `sohoa serve` needs them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from pydantic import BaseModel, Field, ValidationError
from sohoa.core.errors import ExitCode, SohoaError

DEFAULT_HOST: Final = "127.0.0.1"  # the office PC itself; set SOHOA_WEB_HOST=0.0.0.0 to serve the LAN
DEFAULT_PORT: Final = 8000
ENV: Final[dict[str, str]] = {
    "host": "SOHOA_WEB_HOST", "port": "SOHOA_WEB_PORT", "max_upload_mb": "SOHOA_MAX_UPLOAD_MB",
    "secure_cookies": "SOHOA_WEB_SECURE_COOKIES", "tend_seconds": "SOHOA_WEB_TEND_SECONDS",
    "trusted_proxies": "SOHOA_WEB_TRUSTED_PROXIES",
    "max_request_mb": "SOHOA_MAX_REQUEST_MB", "max_user_upload_mb": "SOHOA_MAX_USER_UPLOAD_MB",
}


class WebConfig(BaseModel):
    host: str = DEFAULT_HOST
    port: int = Field(DEFAULT_PORT, gt=0, lt=65536)
    max_upload_mb: int = Field(200, gt=0)  # per file; a 300-page colour scan at 200 dpi is ~150 MB
    secure_cookies: bool = False  # set to 1 behind HTTPS so the session cookie never travels in clear
    # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the client:
    # behind one, the audit log and login throttling see the browser's address, not the proxy's.
    trusted_proxies: str = ""
    tend_seconds: float = Field(10.0, gt=0)  # how often failed uploads are sent to the workers again
    max_request_mb: int = Field(1024, gt=0)  # one upload request, all its files, counted as the bytes arrive
    max_user_upload_mb: int = Field(2048, gt=0)  # one user's uploads in flight at once, together

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def max_request_bytes(self) -> int:
        return self.max_request_mb * 1024 * 1024

    @property
    def max_user_upload_bytes(self) -> int:
        return self.max_user_upload_mb * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebConfig:
        environ = os.environ if environ is None else environ
        values = {name: environ[var] for name, var in ENV.items() if environ.get(var)}
        try:
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise SohoaError(f"invalid setting {ENV[str(first['loc'][0])]}: {first['msg']}", ExitCode.USAGE) from None


def sohoa_command() -> str:
    """How to call `sohoa` on this machine: the script beside this Python (the venv's, which is not
    on PATH after `make run`), else this Python with `-m sohoa`."""
    script = Path(sys.executable).parent / "sohoa"
    return str(script.absolute()) if script.exists() else f"{sys.executable} -m sohoa"


def first_admin_command() -> str:
    """The command that creates the first administrator (it asks for the password)."""
    return f'{sohoa_command()} users add quantri --role admin --full-name "Nguyễn Văn A"'
