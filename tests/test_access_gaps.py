"""Issue #13, the gaps left after items 1-3: the job pages and recent uploads are audited, the ratio
dashboard shows the user's agency subtree only, and `sohoa suggest|export --as USER` follow the
scope of `sohoa search --as`. Same two-district fixture as tests/test_access_scope.py (real app,
real SQLite catalog, store and index)."""

from __future__ import annotations

from datetime import timedelta

import test_access_scope as scoped
from sohoa.web import audit
from sohoa.web.models import AuditEntry
from sqlalchemy import update
from test_access_scope import A, B, P

env, uploaded = scoped.env, scoped.uploaded  # the two-district fixture and its uploads (module scope)


def _rows(env, username: str) -> list:
    return audit.entries(env.catalog, username=username, action=audit.LIST, limit=1000)


# --- 1. the job pages and the recent uploads write audit rows ---------------------------------------------------

def test_job_page_and_reports_write_one_row_each_with_the_records(env, uploaded):
    client = env.login("canbo.a")
    before = len(_rows(env, "canbo.a"))
    assert client.get("/lo-so-hoa/upload").status_code == 200
    assert len(_rows(env, "canbo.a")) == before + 1
    for path in ("/lo-so-hoa/upload/bao-cao.csv", "/lo-so-hoa/upload/bao-cao.json", "/api/jobs/upload/report.csv"):
        assert client.get(path).status_code == 200
    rows = _rows(env, "canbo.a")
    assert len(rows) == before + 4
    assert all(row.client for row in rows[:4])
    for row in rows[:4]:  # the duplicate upload of A links A's record: it is named; B's never
        assert env.records[A] in row.record_ids.split() and env.records[B] not in row.record_ids
    assert {row.detail for row in rows[:3]} == {"lô upload: báo cáo .csv", "lô upload: báo cáo .json"}


def test_polled_job_api_writes_one_row_per_ten_minutes(env, uploaded):
    client = env.login("lanhdao.p")
    before = len(_rows(env, "lanhdao.p"))
    for _ in range(3):
        assert client.get("/api/jobs/upload").status_code == 200
    rows = _rows(env, "lanhdao.p")
    assert len(rows) == before + 1
    assert set(rows[0].record_ids.split()) == {env.records[A], env.records[B]}
    with env.catalog.session() as session, session.begin():  # age the row past the window
        session.execute(update(AuditEntry).where(AuditEntry.id == rows[0].id)
                        .values(at=rows[0].at - timedelta(minutes=11)))
    assert client.get("/api/jobs/upload").status_code == 200
    assert len(_rows(env, "lanhdao.p")) == before + 2
    # another user polling is audited on their own
    other = env.login("canbo.b")
    n = len(_rows(env, "canbo.b"))
    other.get("/api/jobs/upload")
    other.get("/api/jobs/upload")
    assert len(_rows(env, "canbo.b")) == n + 1


def test_recent_uploads_on_the_upload_page_are_audited(env, uploaded):
    client = env.login("quet.a")
    before = len(_rows(env, "quet.a"))
    assert client.get("/tai-len").status_code == 200
    rows = _rows(env, "quet.a")
    assert len(rows) == before + 1 and rows[0].detail == "tải lên gần đây"
    assert env.records[B] not in rows[0].record_ids


def test_polled_upload_status_writes_one_row_per_window(env, uploaded):
    client = env.login("quet.a")
    item = uploaded[A]["id"]
    before = len(_rows(env, "quet.a"))
    for path in (f"/api/uploads?ids={item}", f"/api/uploads?ids={item}", f"/api/uploads/{item}"):
        assert client.get(path).status_code == 200
    rows = _rows(env, "quet.a")
    assert len(rows) == before + 1 and rows[0].detail == "tải lên: trạng thái"
    assert rows[0].record_ids.split() == [env.records[A]]  # the record the upload was linked to
    assert client.get(f"/api/uploads/{uploaded[B]['id']}").status_code == 404  # another's upload: nothing
    assert len(_rows(env, "quet.a")) == before + 1


# --- 2. the ratio dashboard: the user's agency subtree -----------------------------------------------------------

def test_ratios_show_only_the_users_subtree(env):
    district = env.login("lanhdao.a")
    mine = district.get("/api/ratios")
    assert mine.status_code == 200
    shown = {row["agency_code"] for row in mine.json()}
    assert shown == {A}
    for path in (f"/api/ratios?agency={B}", f"/api/ratios?agency={P}", f"/bao-cao?agency={B}",
                 f"/bao-cao/bang.csv?agency={B}"):
        refused = district.get(path)
        assert refused.status_code == 404, path
        if "json" in refused.headers.get("content-type", "") or path.startswith("/bao-cao?"):
            assert "phạm vi" in refused.text
    page = district.get("/bao-cao")
    assert page.status_code == 200 and "Ủy ban nhân dân huyện A" in page.text
    assert "Ủy ban nhân dân huyện B" not in page.text
    province = env.login("lanhdao.p")
    assert {row["agency_code"] for row in province.get("/api/ratios").json()} == {P, A, B}
    assert province.get(f"/api/ratios?agency={B}").status_code == 200
    admin = env.login("quantri")
    assert {row["agency_code"] for row in admin.get("/api/ratios").json()} == {P, A, B}


# --- 3. sohoa suggest / export --as USER ------------------------------------------------------------------------

def test_cli_suggest_as_a_user(env):
    import json

    from conftest import run_sohoa
    from test_access_scope import DA3, OWNER

    cli = env.cli_env()
    everything = run_sohoa("suggest", "--owner-id", OWNER, "--json", env=cli)
    assert {h["record_id"] for h in json.loads(everything.stdout)} == set(env.records.values())
    scoped = run_sohoa("suggest", "--owner-id", OWNER, "--as", "canbo.a", "--json", env=cli)
    assert scoped.returncode == 0, scoped.stderr
    assert {h["record_id"] for h in json.loads(scoped.stdout)} == {env.records[A]}
    row = audit.entries(env.catalog, username="canbo.a", action=audit.SUGGEST, limit=1)[0]
    assert row.client == "cli" and row.record_ids.split() == [env.records[A]]
    # a dossier of A for someone else does not open the owner's documents of B
    other = run_sohoa("suggest", "--dossier", DA3, "--owner-id", OWNER, "--as", "canbo.a", "--json", env=cli)
    assert env.records[B] not in other.stdout
    scanner = run_sohoa("suggest", "--owner-id", OWNER, "--as", "quet.a", env=cli)
    assert scanner.returncode == 18


def test_cli_export_as_a_user(env, tmp_path):
    from conftest import run_sohoa
    from test_access_scope import DB1

    cli = env.cli_env()
    hidden = run_sohoa("export", env.records[B], "--as", "canbo.a", "--out", tmp_path / "b", env=cli)
    missing = run_sohoa("export", "khong-co-ban-ghi-nay", "--as", "canbo.a", "--out", tmp_path / "m", env=cli)
    assert hidden.returncode == missing.returncode == 17
    assert hidden.stderr.replace(env.records[B], "X") == missing.stderr.replace("khong-co-ban-ghi-nay", "X")
    assert not (tmp_path / "b").exists()
    dossier = run_sohoa("export", "--dossier", DB1, "--as", "canbo.a", "--out", tmp_path / "d", env=cli)
    assert dossier.returncode == 17 and not (tmp_path / "d").exists()
    before = len(audit.entries(env.catalog, username="lanhdao.p", limit=1000))
    got = run_sohoa("export", env.records[B], "--as", "lanhdao.p", "--out", tmp_path / "p", env=cli)
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "p" / "bagit.txt").is_file()
    rows = audit.entries(env.catalog, username="lanhdao.p", limit=1000)
    assert len(rows) == before + 1 and rows[0].client == "cli" and rows[0].record_ids.split() == [env.records[B]]
