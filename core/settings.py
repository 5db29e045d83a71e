"""Settings from the environment (`SOHOA_*`), with embedded defaults under `SOHOA_DATA_DIR`.

A plain pydantic model filled from `os.environ`: pydantic-settings would add
a quarter of a second to every `sohoa` start for nothing we need.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Final, Mapping

from pydantic import BaseModel, Field, ValidationError

from sohoa.core.errors import ExitCode, SohoaError

ENV_PREFIX: Final[str] = "SOHOA_"
# A4 at 600 dpi is 35 MP; A0 at 300 dpi is 140 MP. Anything far above is a bomb.
DEFAULT_MAX_PIXELS: Final[int] = 250_000_000


class Settings(BaseModel):
    data_dir: Path = Path("./data")
    storage_url: str | None = None
    search_url: str | None = None
    search_ca: Path | None = None  # CA certificate (PEM) an https:// search URL is verified with
    database_url: str | None = None
    broker_url: str | None = None  # redis://host:6379/0; unset = an embedded broker under data_dir
    result_url: str | None = None  # Celery result backend; unset = the broker's Redis, or files under data_dir
    inbox_dir: Path | None = None  # hot folder; unset = data_dir/inbox (done/ and quarantine/ beside it)
    # Who "scanned" what the hot folder takes in: its configured operator, never a sidecar's scanned_by.
    hotfolder_operator: str = Field("hot-folder", min_length=1, max_length=64)

    # Workers: a task whose worker died comes back after the visibility timeout (Redis);
    # a file is quarantined after max_attempts failed runs.
    visibility_timeout: int = Field(3600, gt=0)
    pages_per_task: int = Field(4, gt=0)
    max_attempts: int = Field(3, gt=0)
    task_retries: int = Field(10, ge=0)
    stuck_seconds: int = Field(1800, gt=0)
    stable_seconds: float = Field(5.0, ge=0)
    # Scheduled fixity (workers/schedule.py): every record is checked once per interval, a slice at a time.
    fixity_interval: int = Field(604800, gt=0)

    ocr_lang: str = "vie"
    ocr_engine: str = "tesseract"  # or "null", or module:attribute (ocr/engines.py)
    tessdata_dir: Path | None = None
    max_pixels: int = Field(DEFAULT_MAX_PIXELS, gt=0)
    max_pages: int = Field(2000, gt=0)  # pages in one file; more is quarantined (split it)
    # Decoded bytes of one page (pixels × channels) a worker may hold: keeps each under 1 GB.
    max_page_bytes: int = Field(220_000_000, gt=0)  # A3 at 600 dpi in colour is 209 MB
    jobs: int = Field(default_factory=lambda: os.cpu_count() or 1, gt=0)

    # Extraction (extract/): an admin's own document types, merged over the built-in catalogue.
    doctypes_file: Path | None = None
    extract: bool = True  # propose metadata read off the pages (never overrides typed values)

    # Stack splitting (split/): a blank page also starts a new document.
    split_on_blank: bool = False

    # Signing (sign/): PKCS#12 file, or a PKCS#11 token (USB token, HSM); unset = records unsigned.
    sign_p12: Path | None = None
    sign_p12_password: str | None = Field(None, repr=False)
    sign_pkcs11_lib: Path | None = None
    sign_token_label: str | None = None
    sign_key_label: str | None = None
    sign_pin: str | None = Field(None, repr=False)
    sign_pin_file: Path | None = None
    sign_tsa_url: str | None = None  # RFC 3161 timestamp server: PAdES B-T
    trust_roots: Path | None = None  # PEM file or folder of the CA certificates `sohoa verify` trusts

    # The one-stop system (ratios/dvcqg.py): the national-portal field mapping (unset = the shipped
    # ratios/data/dvcqg.yaml) and the address download links start with (`sohoa dossiers show`).
    dvcqg_mapping: Path | None = None
    public_url: str = "http://localhost:8000"

    # Webhooks out (hooks/): receivers are added with `sohoa webhooks add`. An attempt gives up
    # after webhook_timeout s; the next waits webhook_backoff s, doubling up to webhook_backoff_max;
    # after webhook_max_attempts the delivery is `failed` (kept: `sohoa webhooks redeliver`).
    webhook_timeout: float = Field(10.0, gt=0)
    webhook_backoff: float = Field(30.0, gt=0)
    webhook_backoff_max: float = Field(21600.0, gt=0)
    webhook_max_attempts: int = Field(20, gt=0)
    webhook_poll: float = Field(10.0, gt=0)  # how often beat or the embedded loop looks for due deliveries

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        environ = os.environ if environ is None else environ
        values = {
            name: environ[ENV_PREFIX + name.upper()]
            for name in cls.model_fields
            if environ.get(ENV_PREFIX + name.upper())
        }
        try:
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = ENV_PREFIX + str(first["loc"][0]).upper()
            raise SohoaError(f"invalid setting {name}: {first['msg']}", ExitCode.USAGE) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
