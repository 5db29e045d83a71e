"""Open the configured object store and catalog (embedded defaults under SOHOA_DATA_DIR)."""

from __future__ import annotations

from dataclasses import dataclass

from sohoa.archive.catalog import Catalog
from sohoa.archive.storage import ObjectStore
from sohoa.archive.stores import open_store
from sohoa.core import private
from sohoa.core.settings import Settings, get_settings


@dataclass
class Archive:
    store: ObjectStore
    catalog: Catalog


def storage_url(settings: Settings) -> str:
    return settings.storage_url or (settings.data_dir.resolve() / "objects").as_uri()


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    private.make_dir(settings.data_dir)  # 0700 when we create it
    return f"sqlite:///{settings.data_dir.resolve() / 'catalog.db'}"


def open_archive(settings: Settings | None = None) -> Archive:
    settings = settings or get_settings()
    return Archive(open_store(storage_url(settings)), Catalog(database_url(settings)))
