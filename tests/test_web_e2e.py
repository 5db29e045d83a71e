"""End to end through a real worker: a generated scan uploaded in the web app goes received → OCR →
stored, is then found by a word typed without diacritics, opened, downloaded byte for byte, reused,
and every view and download shows up in `sohoa audit`."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sohoa.core.settings import Settings
from sohoa.search.model import fold
from sohoa.testkit import scans
from sohoa.web.app import create_app
from sohoa.web.config import WebConfig
from web_fixtures import AGENCY_A, OWNER, add_users, csrf, login
from workers_fixtures import cluster_factory, wait_for  # noqa: F401  (a pytest fixture)

DOSSIER = "000.00.12.H36-240301-0007"


def _poll_upload(client: TestClient, item_id: int, timeout: float) -> tuple[dict, list[str]]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        item = client.get(f"/api/uploads/{item_id}").json()
        if not seen or seen[-1] != item["status"]:
            seen.append(item["status"])
        if item["terminal"] or time.monotonic() > deadline:
            return item, seen
        time.sleep(0.5)


def test_upload_is_stored_by_a_worker_then_searchable_viewable_and_audited(cluster_factory, tmp_path):
    cluster = cluster_factory()
    app = create_app(Settings.from_env(cluster.env), WebConfig(tend_seconds=0.5))
    add_users(app.state.sohoa.catalog)
    cluster.start_worker("web", concurrency=1)
    scan = scans.make_scan("gray200_jpeg", seed=4242)
    source = Path(scans.save_image(scan, tmp_path / "đơn đề nghị.jpg", "jpeg"))

    with TestClient(app) as scanner, TestClient(app) as official:
        assert login(scanner, "quet.a").status_code == 303
        response = scanner.post("/api/uploads", headers={"X-CSRF-Token": csrf(scanner, "/tai-len")},
                                data={"agency": AGENCY_A, "dossier": DOSSIER, "kind": "component",
                                      "doc_type": "DDN", "owner_id": OWNER, "title": "Đơn đề nghị"},
                                files=[("files", (source.name, source.read_bytes(), "image/jpeg"))])
        assert response.status_code == 201, response.text
        item = response.json()["items"][0]
        assert item["status"] == "queued" and item["status_label"] == "Đã nhận, chờ xử lý"
        item, seen = _poll_upload(scanner, item["id"], timeout=240)
        assert item["status"] == "stored", (item, seen, cluster.log("web")[-3000:])
        assert item["pages"] == 1 and item["pages_done"] == 1
        record_id = item["record_id"]
        assert "Đã lưu vào kho" in scanner.get("/tai-len").text

        assert login(official, "canbo").status_code == 303
        word = fold(scan.keywords[2])
        wait_for(lambda: official.get("/api/search", params={"q": word}).json()["total"] > 0, 60,
                 "the stored record in the search index")
        page = official.get("/tra-cuu", params={"q": word})
        assert f"/ban-ghi/{record_id}" in page.text and "<mark>" in page.text
        record_page = official.get(f"/ban-ghi/{record_id}")
        assert record_page.status_code == 200
        assert "Đơn đề nghị" in record_page.text and "Nhận dạng ký tự (OCR)" in record_page.text
        assert official.get(f"/ban-ghi/{record_id}/trang/1.png").status_code == 200
        shown = official.get(f"/api/records/{record_id}").json()
        original = official.get(f"/ban-ghi/{record_id}/goc")
        assert original.content == source.read_bytes()
        assert hashlib.sha256(original.content).hexdigest() == shown["objects"]["original"]["sha256"]
        pdfa = official.get(f"/api/records/{record_id}/pdfa")
        assert hashlib.sha256(pdfa.content).hexdigest() == shown["objects"]["pdfa.pdf"]["sha256"]
        assert pdfa.content.startswith(b"%PDF-")
        reused = official.post(f"/ban-ghi/{record_id}/su-dung-lai", follow_redirects=False,
                               data={"csrf_token": csrf(official), "dossier": "000.00.12.H36-240302-0001"})
        assert reused.status_code == 303

        # The uploaded copy goes once the record is stored and verified; nothing else is deleted.
        upload_copy = Path(app.state.sohoa.uploads_dir)
        wait_for(lambda: not any(p.is_file() for p in upload_copy.rglob("*.jpg")), 30, "the upload copy removed")

    proc = cluster.sohoa("audit", "--record", record_id, "--json")
    assert proc.returncode == 0, proc.stderr
    entries = json.loads(proc.stdout)
    assert {("canbo", "view"), ("canbo", "download-original"), ("canbo", "download-pdfa"), ("canbo", "reuse")} <= {
        (e["username"], e["action"]) for e in entries}
