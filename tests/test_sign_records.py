"""Issue #16, records: `sohoa sign` adds a write-once signed.pdf with its own SHA-256 in a new
metadata version and a `signed` event; `sohoa verify RECORD`; `sohoa certify`; a bad key stops
before any work and stores nothing. Real `sohoa` processes over a local archive."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from archive_checks import catalog_vs_storage, environ, scans, sohoa
from sign_fixtures import P12_PASSWORD
from sohoa.archive import records
from sohoa.archive.backends import open_archive
from sohoa.core.errors import ExitCode
from sohoa.core.settings import Settings


def _ingested(tmp_path: Path, test_pki) -> tuple[dict, str]:
    """A data dir with one ingested record, and the environment of a unit that signs with a P12 file."""
    env = environ(tmp_path / "data", SOHOA_SIGN_P12=str(test_pki.p12["unit"]), SOHOA_SIGN_P12_PASSWORD=P12_PASSWORD,
                  SOHOA_TRUST_ROOTS=str(test_pki.root_pem), SOHOA_SIGN_TSA_URL=test_pki.tsa_url)
    unsigned = {k: v for k, v in env.items() if not k.startswith("SOHOA_SIGN_")}
    [scan] = scans(tmp_path / "in", 1, seed="giay khai sinh")
    stored = sohoa(unsigned, "ingest", scan, "--json")
    assert stored.returncode == 0, stored.stderr
    return env, json.loads(stored.stdout)["record_id"]


@pytest.fixture
def archive_env(tmp_path, test_pki):
    return _ingested(tmp_path, test_pki)


@pytest.fixture(scope="module")
def unsigned_record(tmp_path_factory, test_pki):
    """One record for the tests that must leave it unsigned (bad keys, certified copies)."""
    return _ingested(tmp_path_factory.mktemp("unsigned"), test_pki)


def _archive(env: dict):
    return open_archive(Settings(data_dir=Path(env["SOHOA_DATA_DIR"])))


def test_sign_adds_signed_pdf_in_a_new_version_with_a_signed_event(archive_env):
    env, record_id = archive_env
    signed = sohoa(env, "sign", record_id)
    assert signed.returncode == 0, signed.stderr
    assert "signed PAdES B-LT" in signed.stdout
    archive = _archive(env)
    record = archive.catalog.record(record_id)
    stored = records.read_stored_record(archive.store, record.prefix)
    assert stored.version == 2 and "signed.pdf" in stored.objects and "pdfa.pdf" in stored.objects
    assert [e for e in stored.events if e.action == "signed" and "B-LT" in e.detail]
    assert {o.name for o in record.objects} >= {"signed.pdf", "pdfa.pdf"}
    assert not catalog_vs_storage(archive)
    signed_bytes = archive.store.get(stored.objects["signed.pdf"].key)
    pdfa_bytes = archive.store.get(stored.objects["pdfa.pdf"].key)
    assert signed_bytes[:len(pdfa_bytes)] == pdfa_bytes  # an incremental update of the kept PDF/A
    again = sohoa(env, "sign", record_id)
    assert again.returncode == 0 and "already signed" in again.stdout
    assert records.read_stored_record(archive.store, record.prefix).version == 2
    fixity = sohoa(env, "fixity")
    assert fixity.returncode == 0, fixity.stdout + fixity.stderr
    Path(env["SOHOA_DATA_DIR"], "catalog.db").unlink()  # the catalog lost: storage alone rebuilds it
    rebuilt = sohoa(env, "rebuild-catalog")
    assert rebuilt.returncode == 0, rebuilt.stderr
    archive = _archive(env)
    assert not catalog_vs_storage(archive) and "signed.pdf" in {o.name for o in archive.catalog.record(record_id).objects}
    _signed_is_handed_out(env, record_id, signed_bytes, pdfa_bytes)


def _signed_is_handed_out(env: dict, record_id: str, signed_bytes: bytes, pdfa_bytes: bytes) -> None:
    """`sohoa get`, the web download and the API give the signed PDF/A; --unsigned / ?unsigned=1 the other."""
    out = Path(env["SOHOA_DATA_DIR"]).parent / "lay.pdf"
    assert sohoa(env, "get", record_id, "--out", out).returncode == 0 and out.read_bytes() == signed_bytes
    assert sohoa(env, "get", record_id, "--out", out, "--unsigned").returncode == 0 and out.read_bytes() == pdfa_bytes
    from fastapi.testclient import TestClient
    from web_fixtures import add_users, login

    app = _web_app(env)
    add_users(app.state.sohoa.catalog)
    with TestClient(app) as client:
        login(client, "quantri")
        assert client.get(f"/api/records/{record_id}/pdfa").content == signed_bytes
        assert client.get(f"/api/records/{record_id}/pdfa?unsigned=1").content == pdfa_bytes
        assert client.get(f"/ban-ghi/{record_id}/pdfa?download=true").content == signed_bytes
        page = client.get(f"/ban-ghi/{record_id}").text
        assert "đã ký số" in page and "Tải bản chưa ký" in page and "Ký số" in page
    _web_certify(app, env, record_id)


def test_verify_a_record_and_json(archive_env):
    env, record_id = archive_env
    unsigned = sohoa(env, "verify", record_id)
    assert unsigned.returncode == ExitCode.SIGNATURE_INVALID and "not signed" in unsigned.stderr
    assert sohoa(env, "sign", record_id).returncode == 0
    checked = sohoa(env, "verify", record_id, "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["valid"] and report["signatures"][0]["timestamp"] and report["signatures"][0]["chain_trusted"]
    untrusted = sohoa({k: v for k, v in env.items() if k != "SOHOA_TRUST_ROOTS"}, "verify", record_id)
    assert untrusted.returncode == ExitCode.SIGNATURE_INVALID and "NOT trusted" in untrusted.stdout


BAD = {
    "wrong password": {"SOHOA_SIGN_P12_PASSWORD": "sai-mat-khau"},
    "expired": {"SOHOA_SIGN_P12": "expired"},
    "not yet valid": {"SOHOA_SIGN_P12": "future"},
    "no digitalSignature": {"SOHOA_SIGN_P12": "no_signature_usage"},
    "no token library": {"SOHOA_SIGN_P12": "", "SOHOA_SIGN_PKCS11_LIB": "/khong/co/libtoken.so",
                         "SOHOA_SIGN_KEY_LABEL": "khoa", "SOHOA_SIGN_PIN": "864209"},
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_key_stops_before_any_work_and_stores_nothing(unsigned_record, test_pki, case):
    env, record_id = unsigned_record
    changed = dict(BAD[case])
    if changed.get("SOHOA_SIGN_P12") in test_pki.p12:
        changed["SOHOA_SIGN_P12"] = str(test_pki.p12[changed["SOHOA_SIGN_P12"]])
    bad_env = {k: v for k, v in {**env, **changed}.items() if v != ""}
    failed = sohoa(bad_env, "sign", record_id)
    assert failed.returncode == ExitCode.SIGNING_SETUP, failed.stdout + failed.stderr
    assert failed.stderr.startswith("sohoa: error: ") and failed.stderr.count("\n") == 1, failed.stderr
    for secret in ("sai-mat-khau", P12_PASSWORD, "864209"):
        assert secret not in failed.stderr
    archive = _archive(env)
    record = archive.catalog.record(record_id)
    assert not archive.store.exists(f"{record.prefix}/signed.pdf")
    assert records.read_stored_record(archive.store, record.prefix).version == 1


def test_absent_token_exit_20(archive_env, softhsm_token):
    env, record_id = archive_env
    token_env = {k: v for k, v in env.items() if k not in ("SOHOA_SIGN_P12", "SOHOA_SIGN_P12_PASSWORD")}
    token_env.update(softhsm_token.env(), SOHOA_SIGN_TOKEN_LABEL="token-da-rut-ra")
    failed = sohoa(token_env, "sign", record_id)
    assert failed.returncode == ExitCode.SIGNING_SETUP and "no PKCS#11 token" in failed.stderr, failed.stderr
    token_env.update(SOHOA_SIGN_TOKEN_LABEL=softhsm_token.label)
    signed = sohoa(token_env, "sign", record_id)
    assert signed.returncode == 0, signed.stderr
    assert sohoa(env, "verify", record_id).returncode == 0


def test_certify_writes_a_verified_copy(unsigned_record, tmp_path):
    env, record_id = unsigned_record
    out = tmp_path / "ban-sao.pdf"
    made = sohoa(env, "certify", record_id, "--out", out)
    assert made.returncode == 0, made.stderr
    assert "Signature is Valid." in subprocess.run(["pdfsig", str(out)], capture_output=True, text=True).stdout
    assert sohoa(env, "verify", out).returncode == 0
    from web_fixtures import add_users

    add_users(_archive(env).catalog)
    audited = sohoa(env, "certify", record_id, "--out", tmp_path / "ban-sao-2.pdf", "--as", "quantri")
    assert audited.returncode == 0, audited.stderr
    log = sohoa(env, "audit", "--action", "certify", "--json")
    assert log.returncode == 0 and record_id in log.stdout and "quantri" in log.stdout, log.stdout + log.stderr
    missing = sohoa(env, "certify", "khong-co-ban-ghi", "--out", tmp_path / "x.pdf")
    assert missing.returncode == ExitCode.NOT_FOUND and not (tmp_path / "x.pdf").exists()


def _web_app(env: dict):
    """The web app over the test's data dir, with the unit's key (for certified copies)."""
    from sohoa.web.app import create_app
    from sohoa.web.state import WebConfig

    settings = Settings(data_dir=Path(env["SOHOA_DATA_DIR"]), sign_p12=Path(env["SOHOA_SIGN_P12"]),
                        sign_p12_password=env["SOHOA_SIGN_P12_PASSWORD"])
    return create_app(settings, WebConfig(tend_seconds=0.5))


def _web_certify(app, env: dict, record_id: str) -> None:
    """The record page's "Cấp bản sao điện tử" button: leaders and admins only, a signed copy, audited."""
    from fastapi.testclient import TestClient
    from web_fixtures import csrf, login

    with TestClient(app) as admin, TestClient(app, raise_server_exceptions=False) as official:
        login(admin, "quantri")
        page = admin.get(f"/ban-ghi/{record_id}")
        assert "Cấp bản sao điện tử" in page.text
        copy = admin.post(f"/ban-ghi/{record_id}/ban-sao", data={"csrf_token": csrf(admin, f"/ban-ghi/{record_id}")})
        assert copy.status_code == 200 and copy.content.startswith(b"%PDF"), copy.text[:300]
        assert b"/ETSI.CAdES.detached" in copy.content
        login(official, "canbo")
        refused = official.post(f"/ban-ghi/{record_id}/ban-sao", data={"csrf_token": csrf(official, "/")})
        assert refused.status_code == 403 and "Chỉ lãnh đạo" in refused.text, refused.text[:300]
    log = sohoa(env, "audit", "--action", "certify", "--json")
    assert log.returncode == 0 and record_id in log.stdout and "quantri" in log.stdout, log.stdout + log.stderr




def test_ingest_with_a_key_stores_the_pdfa_and_its_signed_copy_at_once(tmp_path, test_pki):
    env = environ(tmp_path / "data", SOHOA_SIGN_P12=str(test_pki.p12["plain"]), SOHOA_SIGN_P12_PASSWORD=P12_PASSWORD,
                  SOHOA_TRUST_ROOTS=str(test_pki.root_pem))
    first, second = scans(tmp_path / "in", 2, seed="quyet dinh")
    stored = sohoa(env, "ingest", first, "--json")
    assert stored.returncode == 0, stored.stderr
    record_id = json.loads(stored.stdout)["record_id"]
    archive = _archive(env)
    record = archive.catalog.record(record_id)
    kept = records.read_stored_record(archive.store, record.prefix)
    assert kept.version == 1 and {"pdfa.pdf", "signed.pdf"} <= set(kept.objects)
    actions = [e.action for e in kept.events]
    assert "signed" in actions and actions.index("signed") < actions.index("stored")
    assert sohoa(env, "verify", record_id).returncode == 0
    assert not catalog_vs_storage(archive)
    bad = sohoa({**env, "SOHOA_SIGN_P12_PASSWORD": "sai-mat-khau"}, "ingest", second)
    assert bad.returncode == ExitCode.SIGNING_SETUP, bad.stdout + bad.stderr
    assert bad.stderr.startswith("sohoa: error: ") and bad.stderr.count("\n") == 1 and "sai-mat-khau" not in bad.stderr
    assert len(list(records.list_record_prefixes(archive.store))) == 1  # nothing of the second file stored
