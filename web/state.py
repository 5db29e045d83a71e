"""What every request needs, opened once per process: settings, archive, search index, the
supervisor that hands uploads to the workers, and the templates."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import sohoa
from fastapi import Request
from fastapi.templating import Jinja2Templates
from sohoa.archive.backends import Archive, open_archive
from sohoa.archive.catalog import Catalog
from sohoa.core.settings import Settings
from sohoa.search.backends import open_configured_index
from sohoa.search.model import SearchIndex
from sohoa.core.records import VIETNAM  # the offices' time zone (cli/web.py takes it from here too)
from sohoa.web import labels, roles
from sohoa.web.config import WebConfig

TEMPLATES: Final = Path(__file__).resolve().parent / "templates"


@dataclass
class WebState:
    settings: Settings
    config: WebConfig
    archive: Archive
    index: SearchIndex
    templates: Jinja2Templates
    _supervisor: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: Settings, config: WebConfig) -> WebState:
        return cls(settings, config, open_archive(settings), open_configured_index(settings), make_templates())

    @property
    def catalog(self) -> Catalog:
        return self.archive.catalog

    @property
    def uploads_dir(self) -> Path:
        return self.settings.data_dir.resolve() / "uploads"

    @property
    def cache_dir(self) -> Path:
        return self.settings.data_dir.resolve() / "web-cache"

    def supervisor(self):
        """Created on first use: pages that never upload need no broker connection."""
        with self._lock:
            if self._supervisor is None:
                from sohoa.workers.app import create_app, sender
                from sohoa.workers.supervisor import Supervisor

                self._supervisor = Supervisor(self.archive, sender(create_app(self.settings)), self.settings)
            return self._supervisor


def state(request: Request) -> WebState:
    return request.app.state.sohoa


def _date(value: date | str | None) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    return f"{value:%d/%m/%Y}"


def _datetime(value: datetime | str | None) -> str:
    """One time zone on every page: Vietnam (+07:00), dd/mm/yyyy HH:MM:SS; ISO text (metadata) too."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite gives naive UTC back
    return f"{aware.astimezone(VIETNAM):%d/%m/%Y %H:%M:%S}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%".replace(".", ",")


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    text = f"{value:,.1f}" if isinstance(value, float) and not float(value).is_integer() else f"{int(value):,}"
    return text.replace(",", " ").replace(".", ",")  # Vietnamese: comma decimals, spaced thousands


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.filters.update(vndate=_date, vndatetime=_datetime, percent=_percent, number=_number,
                       vnperiod=labels.period_vi, eventdetail=labels.event_detail_vi, batch=labels.batch_vi,
                       tool=labels.tool_vi, auditdetail=labels.audit_detail_vi, vnmessage=labels.message_vi,
                       language=labels.language_vi)
    env.globals.update(VERSION=sohoa.__version__, STATUS_VI=labels.STATUS_VI, KIND_VI=labels.KIND_VI,
                       EVENT_VI=labels.EVENT_VI, LEVEL_VI=labels.LEVEL_VI, RETENTION_VI=labels.RETENTION_VI,
                       OUTCOME_VI=labels.OUTCOME_VI, FIELD_VI=labels.FIELD_VI, FACET_VI=labels.FACET_VI,
                       ROLE_VI=roles.LABELS_VI)
    return templates
