"""Issue #18: reuse asks for confirmation, and can be withdrawn the same day by the same official
(a `reuse-withdrawn` event, a metadata version without the dossier, the link stops counting; a
rebuilt catalog agrees). The page, the API and `sohoa reuse --withdraw`."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from conftest import SOHOA
from sohoa.archive import catalog_write, records
from sohoa.archive.rebuild import rebuild
from sohoa.archive.reuse import reuse, withdraw_reuse
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.web import audit
from web_fixtures import csrf, web_env  # noqa: F401  (web_env is a fixture)

FIRST = "000.00.12.H36-261201-0101"
SECOND = "000.00.12.H36-261201-0102"
THIRD = "000.00.12.H36-261201-0103"


def _stored(env):
    archive = env.app.state.sohoa.archive
    return records.read_stored_record(archive.store, archive.catalog.record(env.record_id).prefix)


def test_the_page_asks_before_linking_and_the_same_user_withdraws_the_same_day(web_env):
    official = web_env.login("canbo")
    rid = web_env.record_id
    before = len(audit.entries(web_env.catalog, username="canbo", limit=1000))
    confirm = official.get("/su-dung-lai", params={"ids": rid, "dossier": FIRST})
    assert confirm.status_code == 200
    assert "Xác nhận sử dụng lại" in confirm.text and FIRST in confirm.text and "Sẽ được gắn" in confirm.text
    assert web_env.catalog.reuse_link(rid, FIRST) is None  # nothing written by the confirm step
    assert len(audit.entries(web_env.catalog, username="canbo", limit=1000)) == before + 1  # one row for the page

    done = official.post(f"/ban-ghi/{rid}/su-dung-lai", data={"csrf_token": csrf(official), "dossier": FIRST},
                         follow_redirects=False)
    assert done.status_code == 303 and web_env.catalog.reuse_link(rid, FIRST) is not None
    page = official.get(done.headers["location"]).text
    assert "rut-su-dung-lai" in page and "Rút lại" in page

    # Another user (even an admin) may not withdraw it: 409, a Vietnamese reason, nothing changes.
    admin = web_env.login("quantri")
    refused = admin.post(f"/api/records/{rid}/reuse/withdraw", json={"dossier": FIRST},
                         headers={"X-CSRF-Token": csrf(admin)})
    assert refused.status_code == 409 and "Chỉ người đã sử dụng lại (canbo)" in refused.json()["message"]
    assert "rut-su-dung-lai" not in admin.get(f"/ban-ghi/{rid}").text
    assert web_env.catalog.reuse_link(rid, FIRST) is not None

    gone = official.post(f"/ban-ghi/{rid}/rut-su-dung-lai", data={"csrf_token": csrf(official), "dossier": FIRST},
                         follow_redirects=False)
    assert gone.status_code == 303
    assert f"Đã rút lại việc sử dụng lại giấy tờ cho hồ sơ {FIRST}." in official.get(gone.headers["location"]).text
    assert web_env.catalog.reuse_link(rid, FIRST) is None
    assert rid not in web_env.catalog.records_in_dossier(FIRST)  # the ratios no longer count it
    stored = _stored(web_env)
    assert FIRST not in stored.meta.reused_in
    assert [catalog_write.withdrawn_dossier(e) for e in stored.events if e.action == "reuse-withdrawn"] == [FIRST]
    shown = official.get(f"/api/records/{rid}").json()
    assert "reuse-withdrawn" in [e["action"] for e in shown["events"]] and shown["reused_in"] == []
    rows = audit.entries(web_env.catalog, username="canbo", action=audit.REUSE_WITHDRAWN)
    assert [(row.record_id, row.dossier_code) for row in rows] == [(rid, FIRST)]
    again = official.post(f"/api/records/{rid}/reuse/withdraw", json={"dossier": FIRST},
                          headers={"X-CSRF-Token": csrf(official)})
    assert again.status_code == 404  # nothing left to withdraw


def test_another_day_is_refused_and_a_rebuilt_catalog_agrees(web_env):
    archive = web_env.app.state.sohoa.archive
    rid = web_env.record_id
    reuse(archive, rid, SECOND, "canbo")
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(SohoaError) as late:
        withdraw_reuse(archive, rid, SECOND, "canbo", now=tomorrow)
    assert late.value.exit_code == ExitCode.REFUSED and "trong ngày" in str(late.value)
    # Withdrawn, then reused again, into THIRD: the rebuild restores exactly what the metadata says.
    reuse(archive, rid, THIRD, "canbo")
    withdraw_reuse(archive, rid, THIRD, "canbo")
    reuse(archive, rid, THIRD, "canbo")
    withdraw_reuse(archive, rid, SECOND, "canbo")
    links = sorted(link.dossier_code for link in archive.catalog.reuse_links_of(rid))
    assert links == [THIRD] and _stored(web_env).meta.reused_in == [THIRD]
    restored, skipped = rebuild(archive)
    assert restored >= 1 and skipped == []
    assert sorted(link.dossier_code for link in archive.catalog.reuse_links_of(rid)) == [THIRD]


def test_the_cli_withdraws_for_the_same_user_only(web_env):
    archive = web_env.app.state.sohoa.archive
    rid = web_env.record_id
    dossier = "000.00.12.H36-261201-0104"
    reuse(archive, rid, dossier, "canbo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env["SOHOA_DATA_DIR"] = str(web_env.data_dir)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(SOHOA + ["reuse", rid, "--dossier", dossier, "--withdraw", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    other = run("--as", "quantri")
    assert other.returncode == ExitCode.REFUSED and other.stderr.startswith("sohoa: error: Chỉ người đã sử dụng lại")
    mine = run("--as", "canbo")
    assert mine.returncode == 0, mine.stderr
    assert "withdrawn from" in mine.stdout and archive.catalog.reuse_link(rid, dossier) is None
    assert [row.dossier_code for row in audit.entries(web_env.catalog, action=audit.REUSE_WITHDRAWN, limit=1)] == [dossier]
