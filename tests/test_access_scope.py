"""Agency scope and the purpose-bound Kho (issue #13, items 1-2): the role × agency matrix.

Two districts A and B under one province P; a scanner, an official and a leader in each, a leader of
the province, an official without an agency and an admin. One citizen (OWNER) has a document filed
in A and one filed in B. Each test replays what an attacker of the issue tried, on the real app
(TestClient), a real SQLite catalog, the local store and the SQLite index; records are ingested
through `sohoa ingest`'s code path with the null OCR engine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_sohoa
from sohoa.core.settings import Settings
from sohoa.testkit import scans
from sohoa.web import accounts, audit
from sohoa.web.config import WebConfig
from web_fixtures import PASSWORD, csrf, login

P = "000.00.00.H36"
A = "000.00.12.H36"
B = "000.00.13.H36"
OWNER = "001204012345"
OTHER_OWNER = "079199001234"
DA1, DA2, DA3, DA4 = (f"{A}-240115-0001", f"{A}-240201-0002", f"{A}-240201-0003", f"{A}-240301-0004")
DB1, DB2 = f"{B}-240115-0001", f"{B}-240201-0002"
USERS = {  # username → (role, agency)
    "quantri": ("admin", None),
    "quet.a": ("scanner", A), "canbo.a": ("official", A), "lanhdao.a": ("leader", A),
    "quet.b": ("scanner", B), "canbo.b": ("official", B), "lanhdao.b": ("leader", B),
    "lanhdao.p": ("leader", P), "canbo.none": ("official", None),
}
SEES = {  # who may search, and the agencies whose records they see
    "quantri": {A, B}, "lanhdao.p": {A, B}, "canbo.a": {A}, "lanhdao.a": {A},
    "canbo.b": {B}, "lanhdao.b": {B}, "canbo.none": set(),
}


class Env:
    def __init__(self, data: Path, app) -> None:
        self.data, self.app = data, app
        self.clients = []
        self.records: dict[str, str] = {}  # agency → record id
        self.codes: dict[str, str] = {}
        self.sources: dict[str, Path] = {}

    @property
    def catalog(self):
        return self.app.state.sohoa.catalog

    def client(self):
        from fastapi.testclient import TestClient

        client = TestClient(self.app, raise_server_exceptions=False)
        client.__enter__()
        self.clients.append(client)
        return client

    def login(self, username: str):
        client = self.client()
        login(client, username, PASSWORD)
        return client

    def cli_env(self) -> dict:
        return dict(os.environ, SOHOA_DATA_DIR=str(self.data), SOHOA_JOBS="1", SOHOA_OCR_ENGINE="null")


def _ingest(app, folder: Path, agency: str, dossier: str, title: str, seed: int) -> tuple[str, str, Path]:
    from sohoa.ingest.runner import IngestFields, ingest_file
    from sohoa.ocr.pipeline import OcrOptions

    web = app.state.sohoa
    source = Path(scans.save_image(scans.make_scan("clean", seed=seed), folder / f"giay-{seed}.jpg", "jpeg"))
    fields = IngestFields(agency=agency, dossier=dossier, owner_id=OWNER, doc_type="GKS", title=title,
                          retention="01").validated()
    result = ingest_file(source, fields, web.archive, OcrOptions.from_settings(web.settings, jobs=1, engine="null"),
                         agent="test", index=web.index)
    assert result.status == "stored", result
    return result.record_id, result.code, source


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    from sohoa.ratios import registry
    from sohoa.ratios.agencies import upsert_agencies
    from sohoa.ratios.csvinput import rows
    from sohoa.web.app import create_app

    data = tmp_path_factory.mktemp("scopedata")
    app = create_app(Settings(data_dir=data, jobs=1, stable_seconds=0.5, ocr_engine="null"),
                     WebConfig(tend_seconds=0.5, max_upload_mb=2))
    env = Env(data, app)
    agencies = (f"code,name,parent_code,level\n{P},Ủy ban nhân dân tỉnh,,province\n"
                f"{A},Ủy ban nhân dân huyện A,{P},district\n{B},Ủy ban nhân dân huyện B,{P},district\n")
    assert not upsert_agencies(env.catalog, rows(agencies, ("code", "name", "parent_code", "level"), "test")).rejected
    base = {"procedure_code": "1.001193", "received_on": "2024-01-15", "channel": "direct"}
    report = registry.import_rows(env.catalog, [
        {**base, "dossier_code": DA1, "agency_code": A, "owner_id": OWNER},
        {**base, "dossier_code": DA2, "agency_code": A, "owner_id": OWNER},  # A handles OWNER again
        {**base, "dossier_code": DA3, "agency_code": A, "owner_id": OTHER_OWNER},  # someone else's
        {**base, "dossier_code": DB1, "agency_code": B, "owner_id": OWNER},
        {**base, "dossier_code": DB2, "agency_code": B, "owner_id": OWNER},
    ])
    assert report.imported == 5 and not report.rejected, report.rejected
    for name, (role, agency) in USERS.items():
        accounts.add_user(env.catalog, name, role, PASSWORD, agency, full_name=f"Người dùng {name}")
    folder = tmp_path_factory.mktemp("scans")
    for agency, dossier, title, seed in ((A, DA1, "Giấy khai sinh", 131), (B, DB1, "Giấy phép xây dựng", 132)):
        env.records[agency], env.codes[agency], env.sources[agency] = _ingest(app, folder, agency, dossier, title, seed)
    yield env
    for client in env.clients:
        client.__exit__(None, None, None)


def _agencies_of(env: Env, record_ids) -> set[str]:
    return {env.catalog.record(rid).agency_code for rid in record_ids}


# --- 1. lists, search, facets --------------------------------------------------------------------------------

@pytest.mark.parametrize("username", sorted(SEES))
def test_lists_search_and_facets_stay_in_the_users_subtree(env, username):
    client = env.login(username)
    expected = SEES[username]
    listed = client.get("/api/records", params={"limit": 200})
    assert listed.status_code == 200
    assert {r["agency_code"] for r in listed.json()["records"]} == expected
    assert listed.json()["total"] == len(expected)
    found = client.get("/api/search", params={"q": OWNER})
    assert found.status_code == 200
    result = found.json()
    assert _agencies_of(env, [h["record_id"] for h in result["hits"]]) == expected
    assert result["total"] == len(expected)
    # the facets count only what they may see: no other agency's numbers
    assert set(result["facets"].get("agency_code", {})) == expected
    assert sum(result["facets"].get("doc_type_code", {}).values()) == len(expected)
    # asking for the other district explicitly does not widen it
    other = client.get("/api/search", params={"q": OWNER, "agency": B}).json()
    assert _agencies_of(env, [h["record_id"] for h in other["hits"]]) == expected & {B}
    page = client.get("/tra-cuu", params={"q": OWNER})
    assert page.status_code == 200
    for agency in (A, B):
        assert (env.codes[agency] in page.text) == (agency in expected)


def test_api_tokens_have_their_users_scope(env):
    token = accounts.create_token(env.catalog, "canbo.b", "máy huyện B")
    machine = env.client()
    bearer = {"Authorization": f"Bearer {token}"}
    found = machine.get("/api/search", params={"q": OWNER}, headers=bearer).json()
    assert [h["record_id"] for h in found["hits"]] == [env.records[B]] and found["total"] == 1
    assert machine.get(f"/api/records/{env.records[A]}", headers=bearer).status_code == 404
    assert _kho_records(machine.get(f"/api/kho/{OWNER}", headers=bearer)) == {env.records[B]}
    assert _kho_records(machine.get(f"/api/kho/{OWNER}", params={"dossier": DB2}, headers=bearer)) == set(
        env.records.values())


def test_scanners_search_only_their_agency(env):
    """Issue #18: scanners may look up what their agency has digitised (not to scan it twice), within
    their subtree; the record list API, record pages and the Kho stay closed to them."""
    scanner = env.login("quet.a")
    found = scanner.get("/api/search", params={"q": "Giấy"})  # both records say it; B is another agency's
    assert found.status_code == 200 and [h["record_id"] for h in found.json()["hits"]] == [env.records[A]]
    assert scanner.get("/api/search", params={"q": OWNER}).status_code == 400  # not a lookup of citizens
    assert scanner.get("/api/records").status_code == 403
    assert scanner.get(f"/api/kho/{OWNER}").status_code == 403
    assert scanner.get(f"/ban-ghi/{env.records[A]}").status_code == 403


# --- 1. record pages, thumbnails, downloads: another agency's record is a 404 ---------------------------------

RECORD_PATHS = ("/ban-ghi/{id}", "/ban-ghi/{id}/trang/1.png", "/ban-ghi/{id}/pdfa", "/ban-ghi/{id}/pdfa?download=true",
                "/ban-ghi/{id}/goc", "/api/records/{id}", "/api/records/{id}/pdfa", "/api/records/{id}/original")


@pytest.mark.parametrize("username", sorted(SEES))
def test_record_pages_and_downloads_of_another_agency_are_404(env, username):
    client = env.login(username)
    for agency in (A, B):
        record_id = env.records[agency]
        for path in RECORD_PATHS:
            response = client.get(path.format(id=record_id))
            if agency in SEES[username]:
                assert response.status_code == 200, (username, path, response.text[:300])
            else:
                assert response.status_code == 404, (username, path)
                assert env.codes[agency] not in response.text  # not even a hint it exists
    missing = client.get("/api/records/khong-co-ban-ghi-nay")
    hidden = client.get(f"/api/records/{env.records[B]}")
    if B not in SEES[username]:
        assert missing.json().keys() == hidden.json().keys()


# --- 1. jobs and their reports ---------------------------------------------------------------------------------

def _upload(client, path: Path, **fields):
    with path.open("rb") as handle:
        return client.post("/api/uploads", data=fields, files=[("files", (path.name, handle, "image/jpeg"))],
                           headers={"X-CSRF-Token": csrf(client, "/tai-len")})


@pytest.fixture(scope="module")
def uploaded(env):
    """One duplicate upload by each district's scanner, into a new dossier of their own district."""
    items = {}
    for agency, user, dossier in ((A, "quet.a", f"{A}-240401-0005"), (B, "quet.b", f"{B}-240401-0005")):
        response = _upload(env.login(user), env.sources[agency], agency=agency, dossier=dossier)
        assert response.status_code == 201, response.text
        items[agency] = response.json()["items"][0]
    return items


@pytest.mark.parametrize("username,agencies", [("quet.a", {A}), ("canbo.b", {B}), ("lanhdao.p", {A, B}),
                                                ("quantri", {A, B})])
def test_jobs_and_reports_show_only_the_users_files(env, uploaded, username, agencies):
    client = env.login(username)
    job = client.get("/api/jobs/upload")
    assert job.status_code == 200
    body = job.json()
    shown = {item["id"] for item in body["items"]}
    assert shown >= {uploaded[a]["id"] for a in agencies}
    assert not shown & {uploaded[a]["id"] for a in {A, B} - agencies}
    summary = next(row for row in client.get("/api/jobs").json() if row["job"] == "upload")
    assert summary["files"] == len(body["items"])
    report = client.get("/api/jobs/upload/report.csv")
    assert report.status_code == 200
    page = client.get("/lo-so-hoa/upload")
    for agency in {A, B} - agencies:
        assert env.codes[agency] not in report.text and env.codes[agency] not in page.text
        assert env.records[agency] not in report.text and env.records[agency] not in page.text
    html_report = client.get("/lo-so-hoa/upload/bao-cao.json")
    assert html_report.status_code == 200
    assert {item["record_id"] for item in html_report.json()["items"]} <= {env.records[a] for a in agencies} | {None}


def test_an_agency_without_files_in_a_job_does_not_see_the_job(env, uploaded):
    nobody = env.login("canbo.none")
    assert nobody.get("/api/jobs/upload").status_code == 404
    assert nobody.get("/api/jobs/upload/report.csv").status_code == 404
    assert all(row["job"] != "upload" for row in nobody.get("/api/jobs").json())
    listing = nobody.get("/lo-so-hoa")
    assert listing.status_code == 200 and 'href="/lo-so-hoa/upload"' not in listing.text
    assert nobody.get("/lo-so-hoa/upload").status_code == 404
    assert 'href="/lo-so-hoa/upload"' in env.login("canbo.a").get("/lo-so-hoa").text


# --- 2. the purpose-bound Kho ------------------------------------------------------------------------------------

def _kho_records(response) -> set[str]:
    return {hit["record_id"] for hits in response.json()["groups"].values() for hit in hits}


def test_kho_without_a_dossier_shows_only_the_users_scope(env):
    official = env.login("canbo.a")
    response = official.get(f"/api/kho/{OWNER}")
    assert response.status_code == 200
    assert _kho_records(response) == {env.records[A]}
    assert response.json()["dossier"] is None


@pytest.mark.parametrize("dossier", [DB2, DA3, "000.00.12.H36-991231-9999", "khong-phai-ma"])
def test_kho_with_a_dossier_that_is_not_the_users_for_this_owner_stays_in_scope(env, dossier):
    """B's dossier of the citizen, A's dossier of someone else, an unregistered code, garbage."""
    official = env.login("canbo.a")
    response = official.get(f"/api/kho/{OWNER}", params={"dossier": dossier})
    assert response.status_code == 200
    assert _kho_records(response) == {env.records[A]}
    assert official.get(f"/ban-ghi/{env.records[B]}", params={"dossier": dossier}).status_code == 404


def test_kho_with_the_users_dossier_of_this_owner_crosses_agencies_and_is_audited(env):
    official = env.login("canbo.a")
    response = official.get(f"/api/kho/{OWNER}", params={"dossier": DA2})
    assert response.status_code == 200
    assert _kho_records(response) == {env.records[A], env.records[B]}
    assert response.json()["dossier"] == DA2
    rows = audit.entries(env.catalog, username="canbo.a", action=audit.KHO, limit=1)
    assert DA2 in rows[0].detail and OWNER in rows[0].detail
    page = official.get("/kho", params={"owner_id": OWNER, "dossier": DA2})
    assert page.status_code == 200 and env.codes[B] in page.text and "Theo hồ sơ" in page.text
    assert official.get("/kho", params={"owner_id": OWNER}).text.count(env.codes[B]) == 0
    # the record page, its thumbnail and its PDF/A follow the same purpose, audited with the dossier
    record = official.get(f"/ban-ghi/{env.records[B]}", params={"dossier": DA2})
    assert record.status_code == 200 and env.codes[B] in record.text
    assert official.get(f"/ban-ghi/{env.records[B]}/trang/1.png", params={"dossier": DA2}).status_code == 200
    assert official.get(f"/ban-ghi/{env.records[B]}/pdfa", params={"dossier": DA2}).status_code == 200
    viewed = audit.entries(env.catalog, username="canbo.a", record_id=env.records[B], action=audit.VIEW, limit=1)
    assert DA2 in viewed[0].detail
    # B's official has no dossier of the citizen in A: A's dossier gives them nothing more
    other = env.login("canbo.b")
    assert _kho_records(other.get(f"/api/kho/{OWNER}", params={"dossier": DA2})) == {env.records[B]}


def test_owner_data_follows_the_kho_rules_and_is_audited(env):
    """Issue #14, 6: the owner's data for an e-form, scoped and purpose-bound like the Kho."""
    official = env.login("canbo.a")
    own = official.get(f"/api/owners/{OWNER}/data")
    assert own.status_code == 200
    assert {entry["record_id"] for entry in own.json()["data"].values()} == {env.records[A]}
    bound = official.get(f"/api/owners/{OWNER}/data", params={"dossier": DA2})
    kho = official.get(f"/api/kho/{OWNER}", params={"dossier": DA2}).json()["groups"]
    data = bound.json()["data"]
    assert set(data) == set(kho)  # one entry per document type: its newest valid document
    assert {entry["record_id"] for entry in data.values()} == {hits[0]["record_id"] for hits in kho.values()}
    for entry in data.values():
        assert entry["fields"].get("owner_id", OWNER) == OWNER  # typed; never another person's
    row = audit.entries(env.catalog, username="canbo.a", action=audit.OWNER_DATA, limit=1)[0]
    assert DA2 in row.detail and row.dossier_code == DA2
    assert set(row.record_ids.split()) >= {entry["record_id"] for entry in data.values()}
    assert official.get("/api/owners/12345/data").status_code == 400
    other = env.login("canbo.b").get(f"/api/owners/{OWNER}/data").json()["data"]
    assert {e["record_id"] for e in other.values()} == {env.records[B]}


def test_cli_kho_and_search_as_a_user(env):
    cli = env.cli_env()
    scoped = run_sohoa("kho", OWNER, "--as", "canbo.a", "--json", env=cli)
    assert scoped.returncode == 0, scoped.stderr
    assert {h["record_id"] for hits in json.loads(scoped.stdout)["groups"].values() for h in hits} == {env.records[A]}
    bound = run_sohoa("kho", OWNER, "--dossier", DA2, "--as", "canbo.a", "--json", env=cli)
    assert bound.returncode == 0, bound.stderr
    assert {h["record_id"] for hits in json.loads(bound.stdout)["groups"].values() for h in hits} == set(env.records.values())
    row = audit.entries(env.catalog, username="canbo.a", action=audit.KHO, limit=1)[0]
    assert DA2 in row.detail and row.client == "cli" and row.dossier_code == DA2
    found = run_sohoa("search", OWNER, "--as", "canbo.b", "--json", env=cli)
    assert found.returncode == 0, found.stderr
    assert [h["record_id"] for h in json.loads(found.stdout)["hits"]] == [env.records[B]]
    everything = run_sohoa("search", OWNER, "--json", env=cli)  # without --as: the machine's administrator
    assert json.loads(everything.stdout)["total"] == 2
    scanner = run_sohoa("search", OWNER, "--as", "quet.a", "--json", env=cli)
    assert scanner.returncode == 18 and "may not search" in scanner.stderr
    unknown = run_sohoa("kho", OWNER, "--as", "khong.co", env=cli)
    assert unknown.returncode == 2


# --- 2/3. reuse across agencies ---------------------------------------------------------------------------------

def _reuse(client, record_id: str, dossier: str):
    return client.post(f"/api/records/{record_id}/reuse", json={"dossier": dossier},
                       headers={"X-CSRF-Token": csrf(client, "/tra-cuu")})


def test_reuse_into_another_agencys_dossier_is_403(env):
    official = env.login("canbo.a")
    for record, dossier in ((env.records[B], DB2), (env.records[A], DB2), (env.records[A], f"{B}-240501-0009")):
        response = _reuse(official, record, dossier)
        assert response.status_code == 403, response.text
        assert f"Hồ sơ {dossier} không thuộc cơ quan {A}" in response.json()["message"]
        assert env.catalog.reuse_link(record, dossier) is None


def test_reuse_of_another_agencys_record_needs_the_owners_dossier(env):
    official = env.login("canbo.a")
    refused = _reuse(official, env.records[B], DA3)  # A's dossier, but of another citizen
    assert refused.status_code == 404 and env.codes[B] not in refused.text
    assert env.catalog.reuse_link(env.records[B], DA3) is None
    allowed = _reuse(official, env.records[B], DA2)  # A's dossier of this citizen
    assert allowed.status_code == 200, allowed.text
    assert env.catalog.reuse_link(env.records[B], DA2) is not None
    row = audit.entries(env.catalog, username="canbo.a", action=audit.REUSE, limit=1)[0]
    assert DA2 in row.detail and "other agency" in row.detail
    # B's staff are not told where else A took their record: the link, the event, the metadata
    other = env.login("canbo.b")
    shown = other.get(f"/api/records/{env.records[B]}").json()
    assert DA2 not in json.dumps(shown)
    assert DA2 not in other.get(f"/ban-ghi/{env.records[B]}").text
    assert DA2 not in json.dumps(other.get("/api/records").json())
    admin = env.login("quantri")
    assert DA2 in [link["dossier_code"] for link in admin.get(f"/api/records/{env.records[B]}").json()["reused_in"]]


def test_suggest_follows_the_same_purpose(env):
    official = env.login("canbo.a")
    hits = lambda **params: {h["record_id"] for h in official.get("/api/suggest", params=params).json()["hits"]}
    assert hits(owner_id=OWNER) == {env.records[A]}
    assert hits(dossier=DA1) == {env.records[B]}  # A's dossier of the citizen: B's document, A's is in it already
    assert hits(dossier=DB1) == {env.records[A]}  # B's dossier gives A's staff nothing of B


def test_cli_reuse_as_a_user(env):
    cli = env.cli_env()
    refused = run_sohoa("reuse", env.records[A], "--dossier", DB2, "--as", "canbo.a", env=cli)
    assert refused.returncode == 18 and DB2 in refused.stderr
    hidden = run_sohoa("reuse", env.records[B], "--dossier", DA3, "--as", "canbo.a", env=cli)
    assert hidden.returncode == 17
    done = run_sohoa("reuse", env.records[A], "--dossier", DA3, "--as", "canbo.a", env=cli)
    assert done.returncode == 0, done.stderr
    assert env.catalog.reuse_link(env.records[A], DA3).by == "canbo.a"


# --- 3. registry imports -------------------------------------------------------------------------------------------

def test_registry_rows_of_another_agency_are_refused_per_row(env):
    from sohoa.ratios.models import Dossier

    token = accounts.create_token(env.catalog, "canbo.a", "một cửa huyện A")
    machine = env.client()  # no session: the token alone
    base = {"procedure_code": "1.001193", "received_on": "2024-03-01", "channel": "online", "owner_id": OWNER}
    response = machine.post("/api/dossiers/import", headers={"Authorization": f"Bearer {token}"}, json=[
        {**base, "dossier_code": f"{A}-240301-0100", "agency_code": A},
        {**base, "dossier_code": f"{B}-240301-0100", "agency_code": B},
        {**base, "dossier_code": f"{B}-240301-0101", "agency_code": A},  # B's code filed as A's
        {**base, "dossier_code": DB1, "agency_code": B, "channel": "online"},  # changing B's dossier
    ])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["imported"] == 1
    assert [row["line"] for row in body["rejected"]] == [2, 3, 4]
    assert all("ngoài phạm vi" in row["reason"] for row in body["rejected"])
    with env.catalog.session() as session:
        assert session.get(Dossier, f"{B}-240301-0100") is None
        assert session.get(Dossier, DB1).channel == "direct"


# --- 3. uploads stay in scope -------------------------------------------------------------------------------------

def test_upload_into_another_agencys_dossier_is_403(env, tmp_path):
    scanner = env.login("quet.a")
    source = Path(scans.save_image(scans.make_scan("clean", seed=140), tmp_path / "a.jpg", "jpeg"))
    for fields in ({"agency": A, "dossier": DB1}, {"agency": A, "dossier": f"{B}-240601-0001"},
                   {"agency": B, "dossier": DB1}):
        response = _upload(scanner, source, **fields)
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "forbidden" and "không" in response.json()["message"]
    assert not list((env.data / "uploads").rglob("a.jpg"))


def test_duplicate_upload_links_without_revealing_the_other_agencys_record(env):
    scanner = env.login("quet.a")
    response = _upload(scanner, env.sources[B], agency=A, dossier=DA4)  # bytes B archived already
    assert response.status_code == 201, response.text
    item = response.json()["items"][0]
    assert item["status"] == "duplicate"
    assert item["record_id"] is None and item["record_code"] is None
    assert item["status_label"] == "Đã có trong kho, đã liên kết vào hồ sơ"
    assert env.records[B] not in response.text and env.codes[B] not in response.text
    followed = scanner.get(f"/api/uploads/{item['id']}")
    assert env.records[B] not in followed.text and env.codes[B] not in followed.text
    assert env.records[B] not in scanner.get("/tai-len").text
    link = env.catalog.reuse_link(env.records[B], DA4)  # a counted reuse, by the uploader
    assert link is not None and link.by == "quet.a"
    linked = audit.entries(env.catalog, username="quet.a", action=audit.REUSE, limit=1)[0]
    assert linked.dossier_code == DA4 and linked.record_id == env.records[B]
    # B's scanner uploading the same bytes again sees its own record as usual
    own = _upload(env.login("quet.b"), env.sources[B], agency=B, dossier=f"{B}-240701-0001")
    assert own.json()["items"][0]["record_id"] == env.records[B]


def test_scanned_by_cannot_be_forged_from_the_form(env, tmp_path):
    from sohoa.workers import jobs

    scanner = env.login("quet.a")
    source = Path(scans.save_image(scans.make_scan("clean", seed=141), tmp_path / "b.jpg", "jpeg"))
    response = _upload(scanner, source, agency=A, dossier=f"{A}-240801-0001", scanned_by="quantri")
    assert response.status_code == 201, response.text
    item = jobs.get(env.catalog, response.json()["items"][0]["id"])
    assert item.fields["scanned_by"] == "quet.a"


def test_a_sidecar_cannot_name_who_scanned(tmp_path):
    """Hot folder: `{"scanned_by": "admin1"}` in a sidecar is ignored; the operator configured by
    SOHOA_HOTFOLDER_OPERATOR (default "hot-folder") is who scanned."""
    from sohoa.archive.backends import open_archive
    from sohoa.workers import jobs
    from sohoa.workers.hotfolder import Folders, HotFolder
    from sohoa.workers.supervisor import Supervisor

    for environ, expected in (({}, "hot-folder"), ({"SOHOA_HOTFOLDER_OPERATOR": "may.quet.1"}, "may.quet.1")):
        data = tmp_path / expected
        config = Settings.from_env({"SOHOA_DATA_DIR": str(data), **environ})
        sent: list[int] = []
        supervisor = Supervisor(open_archive(config), lambda item_id, *queue, sent=sent: sent.append(item_id), config)
        folders = Folders.under(data)
        folder = folders.inbox / A / DA1
        folder.mkdir(parents=True)
        scan = Path(scans.save_image(scans.make_scan("clean", seed=150), folder / "giay.jpg", "jpeg"))
        scan.with_name("giay.jpg.json").write_text(json.dumps({"scanned_by": "admin1"}), encoding="utf-8")
        HotFolder(supervisor, folders, stable_seconds=0, operator=config.hotfolder_operator).scan()
        [item] = jobs.items(supervisor.archive.catalog, "watch")
        assert item.fields["scanned_by"] == expected and sent == [item.id]


def test_cli_show_and_get_as_a_user(env, tmp_path):
    cli = env.cli_env()
    hidden = run_sohoa("show", env.records[B], "--as", "canbo.a", env=cli)
    missing = run_sohoa("show", "khong-co-ban-ghi-nay", "--as", "canbo.a", env=cli)
    assert hidden.returncode == missing.returncode == 17
    assert hidden.stderr.replace(env.records[B], "X") == missing.stderr.replace("khong-co-ban-ghi-nay", "X")
    assert env.codes[B] not in hidden.stdout + hidden.stderr
    shown = run_sohoa("show", env.records[A], "--as", "canbo.a", "--json", env=cli)
    assert shown.returncode == 0 and json.loads(shown.stdout)["metadata"]["record_id"] == env.records[A]
    refused = run_sohoa("get", env.records[B], "--as", "canbo.a", "--out", tmp_path / "b.pdf", env=cli)
    assert refused.returncode == 17 and not (tmp_path / "b.pdf").exists()
    got = run_sohoa("get", env.records[B], "--as", "lanhdao.p", "--out", tmp_path / "b.pdf", env=cli)
    assert got.returncode == 0 and (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")
    row = audit.entries(env.catalog, username="lanhdao.p", record_id=env.records[B], limit=1)[0]
    assert row.action == audit.DOWNLOAD_PDFA and row.client == "cli"
