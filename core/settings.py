"""Settings from the environment (`SOHOA_*`), with embedded defaults under `SOHOA_DATA_DIR`."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Final

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# A4 at 600 dpi is 35 MP; A0 at 300 dpi is 140 MP. Anything far above is a bomb.
DEFAULT_MAX_PIXELS: Final[int] = 250_000_000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOHOA_", extra="ignore")

    data_dir: Path = Path("./data")
    storage_url: str | None = None
    search_url: str | None = None
    database_url: str | None = None
    broker_url: str | None = None

    ocr_lang: str = "vie"
    tessdata_dir: Path | None = None
    max_pixels: int = Field(DEFAULT_MAX_PIXELS, gt=0)
    jobs: int = Field(default_factory=lambda: os.cpu_count() or 1, gt=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
