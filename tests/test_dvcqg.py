"""The national-portal view (issue #19 item 2): GET /api/dossiers/{code}?format=dvcqg and `sohoa dossiers
show CODE --format dvcqg` give MaHoSo, NgayTiepNhan, KenhThucHien, HoSoCoThanhPhanSoHoa, TaiLieuNop,
MaKetQua and DuongDanTepTinKetQua from the one mapping file; a changed copy (SOHOA_DVCQG_MAPPING)
changes the output without code; a broken one is a one-line error."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from conftest import run_sohoa
from dossier_fixtures import BASE, DA1, A
from sohoa.archive.reuse import reuse
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.ratios import dvcqg
from sohoa.web import accounts

ONLINE = f"{A}-240310-0004"
DA2 = f"{A}-240301-0006"  # this module's dossier with a reused birth certificate


@pytest.fixture(scope="module")
def env(dossier_env):
    return dossier_env


@pytest.fixture(scope="module")
def official(env):
    client = env.bearer(accounts.create_token(env.catalog, "canbo.a", "kiểm thử"))
    assert client.post("/api/dossiers", json={**BASE, "dossier_code": DA2, "agency_code": A,
                                              "received_on": "2024-03-01", "channel": "postal"}).status_code == 201
    assert client.post("/api/dossiers", json={**BASE, "dossier_code": ONLINE, "agency_code": A,
                                              "received_on": "2024-03-10", "channel": "online"}).status_code == 201
    reuse(env.web.archive, env.records["gks"], DA2, "canbo.a")
    return client


def _cli(env, *args, **extra) -> object:
    return run_sohoa("dossiers", "show", *args, env=dict(os.environ, SOHOA_DATA_DIR=str(env.data),
                                                         SOHOA_PUBLIC_URL="http://testserver", **extra))


def test_fields_of_a_dossier_with_components_and_a_result(env, official):
    link = "http://testserver/api/records/{}/pdfa"
    gks = env.web.catalog.record(env.records["gks"])
    before = official.get(f"/api/dossiers/{DA1}", params={"format": "dvcqg"}).json()
    assert before == {
        "MaHoSo": DA1, "NgayTiepNhan": "20240115000000", "KenhThucHien": 1, "HoSoCoThanhPhanSoHoa": 1,
        "TaiLieuNop": [{"TenTepDinhKem": f"{gks.code}.pdf", "DuongDanTaiXuong": link.format(gks.id),
                        "DuocSoHoa": 1, "DuocTaiSuDung": 0, "DuocLayTuKhoDMQG": 0}],
        "MaKetQua": None, "DuongDanTepTinKetQua": link.format(env.records["kq"]),
    }
    assert official.post(f"/api/dossiers/{DA1}/result", json={"result_issued_on": "2024-01-20", "result_form":
                                                               "electronic", "result_code": "KQ-0001"}).status_code == 200
    after = official.get(f"/api/dossiers/{DA1}", params={"format": "dvcqg"}).json()
    assert after["MaKetQua"] == "KQ-0001" and {k: v for k, v in after.items() if k != "MaKetQua"} == \
        {k: v for k, v in before.items() if k != "MaKetQua"}


def test_reused_online_and_empty_dossiers(env, official):
    reused = official.get(f"/api/dossiers/{DA2}", params={"format": "dvcqg"}).json()
    assert (reused["KenhThucHien"], reused["HoSoCoThanhPhanSoHoa"], reused["DuongDanTepTinKetQua"]) == (3, 1, None)
    assert [(d["DuocTaiSuDung"], d["DuocSoHoa"]) for d in reused["TaiLieuNop"]] == [(1, 1)]
    online = official.get(f"/api/dossiers/{ONLINE}", params={"format": "dvcqg"}).json()
    assert (online["KenhThucHien"], online["HoSoCoThanhPhanSoHoa"], online["TaiLieuNop"]) == (2, 1, [])
    official.post("/api/dossiers", json={**BASE, "dossier_code": ONLINE, "agency_code": A, "received_on": "2024-03-10"})
    assert official.get(f"/api/dossiers/{ONLINE}", params={"format": "dvcqg"}).json()["HoSoCoThanhPhanSoHoa"] == 0


def test_the_cli_prints_the_same_and_follows_a_changed_mapping(env, official, tmp_path):
    api = official.get(f"/api/dossiers/{DA2}", params={"format": "dvcqg"}).json()
    shown = _cli(env, DA2, "--format", "dvcqg")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == api
    mapping = yaml.safe_load(dvcqg.DEFAULT_MAPPING.read_text(encoding="utf-8"))
    mapping["SoHoSo"] = mapping.pop("MaHoSo")
    mapping["KenhThucHien"]["map"]["postal"] = "BuuChinh"
    mapping["NgayTiepNhan"]["format"] = "%d/%m/%Y"
    mapping["TaiLieuNop"]["fields"]["DuongDanTaiXuong"]["template"] = "{base_url}/tai-ve/{record_code}"
    copy = tmp_path / "dvcqg-tinh.yaml"
    copy.write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    changed = json.loads(_cli(env, DA2, "--format", "dvcqg", SOHOA_DVCQG_MAPPING=str(copy)).stdout)
    assert "MaHoSo" not in changed and changed["SoHoSo"] == DA2
    assert (changed["KenhThucHien"], changed["NgayTiepNhan"]) == ("BuuChinh", "01/03/2024")
    code = env.web.catalog.record(env.records["gks"]).code
    assert changed["TaiLieuNop"][0]["DuongDanTaiXuong"] == f"http://testserver/tai-ve/{code}"


def test_cli_json_scope_and_a_broken_mapping(env, official, tmp_path):
    as_official = _cli(env, DA2, "--as", "canbo.a")
    assert as_official.returncode == 0 and json.loads(as_official.stdout)["reused"][0]["from_dossier"] == DA1
    other = _cli(env, DA2, "--as", "canbo.b")
    assert other.returncode == ExitCode.NOT_FOUND and other.stderr.startswith("sohoa: error:")
    broken = tmp_path / "hong.yaml"
    broken.write_text("MaHoSo: {tu: dossier_code}\n", encoding="utf-8")
    failed = _cli(env, DA2, "--format", "dvcqg", SOHOA_DVCQG_MAPPING=str(broken))
    assert failed.returncode == ExitCode.UNSUPPORTED and "field MaHoSo: tu" in failed.stderr
    assert "Traceback" not in failed.stderr and len(failed.stderr.strip().splitlines()) == 1


def test_mapping_expressions():
    view = {"a": {"b": [{"c": "x"}]}, "when": "2024-02-29", "flag": False, "items": [{"n": 1}, {"n": 2}]}
    mapping = {"C": {"from": "a.b.0.c"}, "Missing": {"from": "a.b.5.c", "default": "?"},
               "Day": {"from": "when", "format": "%Y%m%d"}, "Flag": {"from": "flag", "map": {True: 1, False: 0}},
               "Link": {"template": "{base_url}/{a.b.0.c}"}, "NoLink": {"template": "{base_url}/{nope}"},
               "Each": {"each": "items", "fields": {"N": {"from": "n"}, "K": {"value": "k"}}}}
    assert dvcqg.apply(mapping, view, "http://may/") == {
        "C": "x", "Missing": "?", "Day": "20240229", "Flag": 0, "Link": "http://may/x", "NoLink": None,
        "Each": [{"N": 1, "K": "k"}, {"N": 2, "K": "k"}]}
    with pytest.raises(SohoaError, match="needs `fields`"):
        dvcqg._check({"List": {"each": "items"}}, "t")
    assert set(dvcqg.load()) == {"MaHoSo", "NgayTiepNhan", "KenhThucHien", "HoSoCoThanhPhanSoHoa", "TaiLieuNop",
                                 "MaKetQua", "DuongDanTepTinKetQua"}
