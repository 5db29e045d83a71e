"""Fixtures of the web tests: an app on real embedded backends (SQLite catalog, local store, SQLite FTS5)
in a temporary data folder, users of every role, one record ingested by the `sohoa ingest` code path,
and helpers to log in like a browser."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sohoa.core.settings import Settings
from sohoa.testkit import scans
from sohoa.web import accounts
from sohoa.web.config import WebConfig

AGENCY_ROOT = "000.00.00.H36"
AGENCY_A = "000.00.12.H36"
AGENCY_B = "000.00.13.H36"
OWNER = "001204012345"
DOSSIER = "000.00.12.H36-240115-0001"
PASSWORD = "mat-khau-dai-123"
USERS = {  # username → (role, agency)
    "quantri": ("admin", None),
    "quet.a": ("scanner", AGENCY_A),
    "quet.b": ("scanner", AGENCY_B),
    "canbo": ("official", AGENCY_A),
    "lanhdao": ("leader", AGENCY_ROOT),
}
AGENCIES_CSV = (
    "code,name,parent_code,level\n"
    f"{AGENCY_ROOT},Ủy ban nhân dân tỉnh,,province\n"
    f"{AGENCY_A},Sở Tư pháp,{AGENCY_ROOT},department\n"
    f"{AGENCY_B},Sở Xây dựng,{AGENCY_ROOT},department\n"
)
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class WebEnv:
    data_dir: Path
    app: object
    record_id: str = ""
    keyword: str = ""
    source: Path | None = None
    clients: list[TestClient] = field(default_factory=list)

    @property
    def catalog(self):
        return self.app.state.sohoa.catalog

    def client(self) -> TestClient:
        # Server errors become 500 pages here, as in production, instead of exceptions in the test.
        client = TestClient(self.app, raise_server_exceptions=False)
        client.__enter__()
        self.clients.append(client)
        return client

    def login(self, username: str, password: str = PASSWORD) -> TestClient:
        client = self.client()
        login(client, username, password)
        return client


def login(client: TestClient, username: str, password: str = PASSWORD):
    form = client.get("/dang-nhap")
    token = CSRF_FIELD.search(form.text).group(1)
    return client.post("/dang-nhap", data={"username": username, "password": password, "csrf_token": token,
                                           "next": "/"}, follow_redirects=False)


def csrf(client: TestClient, path: str = "/lo-so-hoa") -> str:
    """The session's CSRF token, as a page hands it to its forms."""
    return CSRF_META.search(client.get(path).text).group(1)


def make_app(data_dir: Path, **config):
    from sohoa.web.app import create_app

    settings = Settings(data_dir=data_dir, jobs=1, stable_seconds=0.5)
    return create_app(settings, WebConfig(tend_seconds=0.5, **config))


def add_users(catalog) -> None:
    for name, (role, agency) in USERS.items():
        accounts.add_user(catalog, name, role, PASSWORD, agency, full_name=f"Người dùng {name}")


def ingest_scan(app, folder: Path, seed: int) -> tuple[str, str, Path]:
    """One record through the synchronous `sohoa ingest` path: (record id, a keyword, the source)."""
    from sohoa.ingest.runner import IngestFields, ingest_file
    from sohoa.ocr.pipeline import OcrOptions

    web = app.state.sohoa
    scan = scans.make_scan("clean", seed=seed)
    source = Path(scans.save_image(scan, folder / "giay-khai-sinh.jpg", "jpeg"))
    fields = IngestFields(agency=AGENCY_A, dossier=DOSSIER, owner_id=OWNER, doc_type="GKS", title="Giấy khai sinh",
                          valid_until=None, retention="01").validated()
    result = ingest_file(source, fields, web.archive, OcrOptions.from_settings(web.settings, jobs=1),
                         agent="test", index=web.index)
    assert result.status == "stored", result
    return result.record_id, scan.keywords[2], source


@pytest.fixture(scope="module")
def web_env(tmp_path_factory) -> WebEnv:
    data = tmp_path_factory.mktemp("webdata")
    app = make_app(data, max_upload_mb=1)
    env = WebEnv(data, app)
    add_users(env.catalog)
    env.record_id, env.keyword, env.source = ingest_scan(app, tmp_path_factory.mktemp("scans"), seed=71)
    yield env
    for client in env.clients:
        client.__exit__(None, None, None)
