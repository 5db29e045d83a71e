"""The dossier API (issue #19 item 1): one dossier upserted with the registry import's validation
(201 / 200, every wrong field a 422 naming it in Vietnamese), its result, the dossier view (components,
results, reuse and where from, what the owner's Kho holds that it lacks), machine-role tokens limited
to these endpoints and their agencies, and the agency scope (another agency's dossier: 404 to read,
403 to write). Real app, SQLite catalog, local store and index (tests/dossier_fixtures.py)."""

from __future__ import annotations

import os

import pytest
from conftest import run_sohoa
from dossier_fixtures import BASE, DA1, DA2, DB1, OWNER, A, B
from sohoa.archive.reuse import reuse
from sohoa.core.errors import SohoaError
from sohoa.ratios import registry
from sohoa.web import accounts, audit

NEW = {**BASE, "dossier_code": DA2, "agency_code": A, "received_on": "2024-03-01"}


@pytest.fixture(scope="module")
def env(dossier_env):
    return dossier_env


@pytest.fixture(scope="module")
def official(env):
    return env.bearer(accounts.create_token(env.catalog, "canbo.a", "kiểm thử"))


@pytest.fixture(scope="module")
def machine(env):
    return env.bearer(accounts.create_token(env.catalog, "canbo.a", "hệ thống một cửa", machine=True, agencies=[A]))


@pytest.fixture(scope="module")
def created(env, official):
    """DA2 sent through the API, then the birth certificate of DA1 reused into it."""
    first = official.post("/api/dossiers", json=NEW)
    assert first.status_code == 201, first.text
    reuse(env.web.archive, env.records["gks"], DA2, "canbo.a")
    return first.json()


def test_upsert_is_idempotent_on_the_code(env, official, created):
    assert created["created"] is True and created["dossier"]["dossier_code"] == DA2
    again = official.post("/api/dossiers", json=NEW)
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["dossier"] == created["dossier"]
    changed = official.post("/api/dossiers", json={**NEW, "channel": "online", "components": 3,
                                                   "electronic_components": "1", "exempt_desk": 1})
    assert changed.status_code == 200
    entry = registry.entry_of(env.catalog, DA2)
    assert (entry.channel, entry.components, entry.electronic_components, entry.exempt_desk) == ("online", 3, 1, 1)
    assert official.post("/api/dossiers", json=NEW).status_code == 200  # back as it was
    rows = audit.entries(env.catalog, username="canbo.a", action=audit.DOSSIER_WRITE, limit=10)
    assert rows and rows[0].dossier_code == DA2 and "cập nhật" in rows[0].detail


# (field changed, its value, the field the 422 names, words of the Vietnamese message)
INVALID = [
    ("dossier_code", "", "dossier_code", "bắt buộc"),
    ("dossier_code", "HS-1", "dossier_code", "mã hồ sơ"),
    ("dossier_code", f"{A}-241340-0001", "dossier_code", "YYMMDD"),
    ("agency_code", "12.H36", "agency_code", "mã cơ quan"),
    ("procedure_code", "", "procedure_code", "mã thủ tục"),
    ("procedure_code", "x" * 65, "procedure_code", "64 ký tự"),
    ("received_on", "", "received_on", "ngày tiếp nhận"),
    ("received_on", "15/01/2024", "received_on", "YYYY-MM-DD"),
    ("channel", "fax", "channel", "kênh tiếp nhận"),
    ("channel", "", "channel", "bắt buộc"),
    ("owner_id", "12345", "owner_id", "CCCD"),
    ("result_form", "paper", "result_issued_on", "cả hai"),
    ("result_issued_on", "2024-03-05", "result_form", "cả hai"),
    ("result_code", "KQ-1", "result_code", "ngày trả kết quả"),
    ("components", "-1", "components", "số thành phần hồ sơ"),
    ("exempt_secret", "ba", "exempt_secret", "số tài liệu mật"),
    ("exempt_other", "99999", "exempt_other", "10000"),
    ("ma_ho_so", "x", "ma_ho_so", "không được hỗ trợ"),
    ("channel", ["direct"], "channel", "giá trị đơn"),
]


@pytest.mark.parametrize("field,value,named,words", INVALID, ids=[f"{i[0]}={i[1]!s:.12}" for i in INVALID])
def test_every_validation_error_is_a_422_naming_the_field(env, official, field, value, named, words):
    response = official.post("/api/dossiers", json={**NEW, "dossier_code": f"{A}-240302-0009", field: value})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == named and words in body["message"], body
    assert registry.entry_of(env.catalog, f"{A}-240302-0009") is None


def test_cross_field_and_body_errors(env, official):
    later = official.post("/api/dossiers", json={**NEW, "result_issued_on": "2024-02-01", "result_form": "paper"})
    assert later.status_code == 422 and later.json()["field"] == "result_issued_on"
    assert "trước ngày tiếp nhận" in later.json()["message"]
    many = official.post("/api/dossiers", json={**NEW, "components": 2, "electronic_components": 2, "exempt_desk": 1})
    assert many.status_code == 422 and many.json()["field"] == "components"
    unknown = official.post("/api/dossiers", json={**NEW, "agency_code": "000.00.99.H36",
                                                   "dossier_code": "000.00.99.H36-240301-0001"})
    assert unknown.status_code == 403  # an agency outside the caller's subtree is refused before validation
    admin = env.bearer(accounts.create_token(env.catalog, "quantri"))
    missing = admin.post("/api/dossiers", json={**NEW, "agency_code": "000.00.99.H36",
                                                "dossier_code": "000.00.99.H36-240301-0001"})
    assert missing.status_code == 422 and "danh mục cơ quan" in missing.json()["message"]
    mismatch = admin.post("/api/dossiers", json={**NEW, "agency_code": B})  # an A code filed under B
    assert mismatch.status_code == 422 and mismatch.json()["field"] == "agency_code"
    assert "không thuộc cơ quan" in mismatch.json()["message"]
    text = official.post("/api/dossiers", content=b"not json", headers={"Content-Type": "application/json"})
    assert text.status_code == 422 and "JSON" in text.json()["message"]
    listed = official.post("/api/dossiers", json=[NEW])
    assert listed.status_code == 422


def test_result_is_recorded_and_checked(env, official, created):
    path = f"/api/dossiers/{DA2}/result"
    bad = official.post(path, json={"result_issued_on": "2024-03-09", "result_form": "email"})
    assert bad.status_code == 422 and bad.json()["field"] == "result_form"
    early = official.post(path, json={"result_issued_on": "2024-02-09", "result_form": "paper"})
    assert early.status_code == 422 and early.json()["field"] == "result_issued_on"
    empty = official.post(path, json={"result_code": "KQ-1"})
    assert empty.status_code == 422 and empty.json()["field"] == "result_issued_on"
    done = official.post(path, json={"result_issued_on": "2024-03-09", "result_form": "electronic",
                                     "result_code": "000.00.12.H36-240301-0002-KQ1"})
    assert done.status_code == 200, done.text
    entry = registry.entry_of(env.catalog, DA2)
    assert (str(entry.result_issued_on), entry.result_form, entry.result_code) == \
        ("2024-03-09", "electronic", "000.00.12.H36-240301-0002-KQ1")
    assert official.post(f"/api/dossiers/{A}-240101-0077/result",
                         json={"result_issued_on": "2024-03-09", "result_form": "paper"}).status_code == 404
    assert official.post(f"/api/dossiers/{DB1}/result",
                         json={"result_issued_on": "2024-03-09", "result_form": "paper"}).status_code == 404


def test_view_lists_components_results_reuse_and_the_kho(env, official, created):
    view = official.get(f"/api/dossiers/{DA1}").json()
    assert [d["record_id"] for d in view["components"]] == [env.records["gks"]]
    assert [d["record_id"] for d in view["results"]] == [env.records["kq"]]
    assert view["digitised"] == {"components": True, "result": True} and view["owner_id"] == OWNER
    assert view["components"][0]["link"] == f"/ban-ghi/{env.records['gks']}"
    new = official.get(f"/api/dossiers/{DA2}").json()
    assert new["components"] == [] and new["results"] == []
    (reused,) = new["reused"]
    assert (reused["record_id"], reused["from_dossier"], reused["from_agency"], reused["reused_by"]) == \
        (env.records["gks"], DA1, A, "canbo.a")
    assert new["digitised"]["components"] is True  # a reused record counts as a digitised component
    # The owner's Kho, every agency (the dossier is the purpose): B's building permit and A's decision; not
    # the birth certificate the dossier already has.
    assert {hit["record_id"] for hit in new["kho"]} == {env.records["gpxd"], env.records["kq"]}
    assert new["kho_all_agencies"] is True
    row = audit.entries(env.catalog, username="canbo.a", action=audit.DOSSIER, limit=1)[0]
    assert row.dossier_code == DA2 and env.records["gpxd"] in row.record_ids.split()


def test_another_agency_is_a_404_to_read_and_a_403_to_write(env, official):
    assert official.get(f"/api/dossiers/{DB1}").status_code == 404
    assert official.get(f"/api/dossiers/{A}-240101-0077").status_code == 404  # the same answer as missing
    assert official.get("/api/dossiers/khong-phai-ma").status_code == 404
    other = official.post("/api/dossiers", json={**BASE, "dossier_code": f"{B}-240301-0005", "agency_code": B})
    assert other.status_code == 403 and "phạm vi" in other.json()["message"]
    leader = env.login("lanhdao.p")  # the province's leader sees both districts
    assert leader.get(f"/api/dossiers/{DB1}").status_code == 200
    scanner = env.login("quet.a")
    assert scanner.get(f"/api/dossiers/{DA1}").status_code == 403


def test_machine_tokens_reach_the_dossier_api_of_their_agencies_only(env, machine, created):
    body = {**BASE, "dossier_code": f"{A}-240305-0003", "agency_code": A, "received_on": "2024-03-05"}
    assert machine.post("/api/dossiers", json=body).status_code == 201
    assert machine.post(f"/api/dossiers/{body['dossier_code']}/result",
                        json={"result_issued_on": "2024-03-06", "result_form": "paper"}).status_code == 200
    assert machine.get(f"/api/dossiers/{DA2}?format=dvcqg").status_code == 200
    assert machine.get(f"/api/dossiers/{DB1}").status_code == 404
    assert machine.post("/api/dossiers", json={**body, "dossier_code": f"{B}-240305-0003",
                                                "agency_code": B}).status_code == 403
    for method, path in (("get", "/api/search?q=giay"), ("get", f"/api/kho/{OWNER}"), ("get", "/api/records"),
                         ("post", "/api/dossiers/import"), ("get", "/tra-cuu"), ("get", f"/ho-so/{DA1}"),
                         ("get", "/api/ratios"), ("post", f"/api/records/{env.records['gks']}/reuse")):
        refused = getattr(machine, method)(path)
        assert refused.status_code == 403, (path, refused.status_code)
        assert "Token máy" in (refused.json()["message"] if path.startswith("/api/") else refused.text)


def test_machine_tokens_need_agencies(env, tmp_path):
    with pytest.raises(SohoaError, match="needs --agency"):
        accounts.create_token(env.catalog, "canbo.a", machine=True)
    with pytest.raises(SohoaError, match="outside"):
        accounts.create_token(env.catalog, "canbo.a", machine=True, agencies=[B])
    made = run_sohoa("users", "token", "canbo.a", "--machine", "--agency", A, "--label", "một cửa",
                     env=dict(os.environ, SOHOA_DATA_DIR=str(env.data)))
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    principal = accounts.token_principal(env.catalog, token)
    assert principal.machine and principal.token_agencies == (A,) and not principal.can("search")
