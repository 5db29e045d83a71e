"""The fixture of the dossier tests (issue #19 items 1, 2, 4 and issue #18's dossier page): a real app on
embedded backends (SQLite catalog, local store, SQLite FTS5, the null OCR engine), a province P with
districts A and B, users of each, and one citizen whose documents were digitised in both districts.

    DA1 (A)  Giấy khai sinh (component, GKS) + Quyết định (result)   owner OWNER
    DB1 (B)  Giấy phép xây dựng (component, GPXD)                     owner OWNER
    DA2 (A)  sent by the tests through POST /api/dossiers; the birth certificate reused into it
The other modules send dossiers of their own codes, so the session's one app serves them all (the
fixture `dossier_env` is registered in conftest.py; each module names it `env`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

# conftest.py imports this module for the fixture: the app's own imports wait until a test asks for it.

P, A, B = "000.00.00.H36", "000.00.12.H36", "000.00.13.H36"
OWNER = "001204012345"
DA1, DA2, DB1 = f"{A}-240115-0001", f"{A}-240301-0002", f"{B}-240115-0001"
USERS = {"quantri": ("admin", None), "canbo.a": ("official", A), "canbo.b": ("official", B),
         "quet.a": ("scanner", A), "lanhdao.p": ("leader", P)}
BASE = {"procedure_code": "1.001193", "received_on": "2024-01-15", "channel": "direct", "owner_id": OWNER}


class DossierEnv:
    def __init__(self, data: Path, app) -> None:
        self.data, self.app = data, app
        self.clients: list = []
        self.records: dict[str, str] = {}  # name → record id

    @property
    def web(self):
        return self.app.state.sohoa

    @property
    def catalog(self):
        return self.web.catalog

    def client(self):
        from fastapi.testclient import TestClient

        client = TestClient(self.app, raise_server_exceptions=False)
        client.__enter__()
        self.clients.append(client)
        return client

    def login(self, username: str):
        from web_fixtures import PASSWORD, login

        client = self.client()
        login(client, username, PASSWORD)
        return client

    def bearer(self, token: str):
        client = self.client()
        client.headers["Authorization"] = f"Bearer {token}"
        return client


def _ingest(env: DossierEnv, folder: Path, agency: str, dossier: str, doc_type: str, title: str, seed: int,
            kind: str = "component") -> str:
    from sohoa.core.records import Kind
    from sohoa.ingest.runner import IngestFields, ingest_file
    from sohoa.ocr.pipeline import OcrOptions
    from sohoa.testkit import scans

    web = env.web
    source = Path(scans.save_image(scans.make_scan("clean", seed=seed), folder / f"giay-{seed}.jpg", "jpeg"))
    fields = IngestFields(agency=agency, dossier=dossier, owner_id=OWNER, doc_type=doc_type, title=title,
                          kind=Kind(kind), retention="01").validated()
    result = ingest_file(source, fields, web.archive, OcrOptions.from_settings(web.settings, jobs=1, engine="null"),
                         agent="test", index=web.index)
    assert result.status == "stored", result
    return result.record_id


def build(tmp_path_factory) -> DossierEnv:
    from sohoa.core.settings import Settings
    from sohoa.ratios import registry
    from sohoa.ratios.agencies import upsert_agencies
    from sohoa.ratios.csvinput import rows
    from sohoa.web import accounts
    from sohoa.web.app import create_app
    from sohoa.web.config import WebConfig
    from web_fixtures import PASSWORD

    data = tmp_path_factory.mktemp("dossierdata")
    app = create_app(Settings(data_dir=data, jobs=1, stable_seconds=0.5, ocr_engine="null"),
                     WebConfig(tend_seconds=5))
    env = DossierEnv(data, app)
    agencies = (f"code,name,parent_code,level\n{P},Ủy ban nhân dân tỉnh,,province\n"
                f"{A},Ủy ban nhân dân huyện Mỹ Lộc,{P},district\n{B},Ủy ban nhân dân huyện Vụ Bản,{P},district\n")
    assert not upsert_agencies(env.catalog, rows(agencies, ("code", "name", "parent_code", "level"), "t")).rejected
    report = registry.import_rows(env.catalog, [{**BASE, "dossier_code": DA1, "agency_code": A},
                                                {**BASE, "dossier_code": DB1, "agency_code": B}])
    assert report.imported == 2 and not report.rejected, report.rejected
    for name, (role, agency) in USERS.items():
        accounts.add_user(env.catalog, name, role, PASSWORD, agency, full_name=f"Người dùng {name}")
    folder = tmp_path_factory.mktemp("dossierscans")
    env.records["gks"] = _ingest(env, folder, A, DA1, "GKS", "Giấy khai sinh", 141)
    env.records["kq"] = _ingest(env, folder, A, DA1, "QD", "Quyết định cấp phép", 142, "result")
    env.records["gpxd"] = _ingest(env, folder, B, DB1, "GPXD", "Giấy phép xây dựng", 143)
    return env


@pytest.fixture(scope="session")
def dossier_env(tmp_path_factory) -> DossierEnv:
    """One app for every dossier test module (each module works on dossiers of its own codes)."""
    built = build(tmp_path_factory)
    yield built
    for client in built.clients:
        client.__exit__(None, None, None)
