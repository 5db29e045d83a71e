"""The web app and REST API on real embedded backends: login, roles, CSRF, uploads, search, the record
page, downloads, the audit log, reuse, jobs, the ratio dashboard, and error pages."""

from __future__ import annotations

import hashlib

import pytest
from sohoa.web import accounts, audit
from web_fixtures import (  # noqa: F401  (web_env is a fixture)
    AGENCIES_CSV,
    AGENCY_A,
    AGENCY_B,
    DOSSIER,
    OWNER,
    PASSWORD,
    csrf,
    login,
    web_env,
)

PAGES = ["/tai-len", "/tra-cuu", "/kho", "/lo-so-hoa", "/bao-cao", "/quan-tri", "/quan-tri/nhat-ky", "/docs"]
PNG_HEAD = b"\x89PNG\r\n\x1a\n"


def _png(path) -> bytes:
    return path.read_bytes()


# --- anonymous -------------------------------------------------------------------------------------

def test_anonymous_gets_only_the_login_page(web_env):
    client = web_env.client()
    for path in PAGES + ["/", f"/ban-ghi/{web_env.record_id}", f"/ban-ghi/{web_env.record_id}/goc", "/khong-co"]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/dang-nhap"), path
    page = client.get("/dang-nhap")
    assert page.status_code == 200
    assert "Đăng nhập" in page.text and "Mật khẩu" in page.text and 'lang="vi"' in page.text
    assert web_env.record_id not in page.text


def test_anonymous_api_calls_get_401(web_env):
    client = web_env.client()
    for method, path in [("get", "/api/search?q=dat"), ("get", f"/api/records/{web_env.record_id}"),
                         ("get", f"/api/records/{web_env.record_id}/pdfa"), ("get", f"/api/kho/{OWNER}"),
                         ("get", "/api/jobs"), ("get", "/api/ratios"), ("get", "/openapi.json"),
                         ("post", "/api/uploads"), ("post", "/api/dossiers/import"), ("get", "/api/nothing")]:
        response = getattr(client, method)(path)
        assert response.status_code == 401, path
        assert response.json()["error"] == "unauthenticated"
        assert response.headers["www-authenticate"] == "Bearer"


# --- login, logout, CSRF ---------------------------------------------------------------------------

def test_login_sets_a_session_and_logout_ends_it(web_env):
    client = web_env.client()
    response = login(client, "canbo")
    assert response.status_code == 303 and response.headers["location"] == "/tra-cuu"
    cookie = client.cookies.get("sohoa_session")
    assert cookie and "httponly" in response.headers["set-cookie"].lower()
    assert client.get("/api/me").json()["role"] == "official"
    token = csrf(client)
    assert client.post("/dang-xuat", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    # The old cookie is dead on the server, not merely dropped by this browser.
    stale = web_env.client()
    stale.cookies.set("sohoa_session", cookie)
    assert stale.get("/api/me").status_code == 401
    kinds = [e.action for e in audit.entries(web_env.catalog, username="canbo", limit=5)]
    assert audit.LOGOUT in kinds and audit.LOGIN in kinds


def test_wrong_password_is_refused_and_audited(web_env):
    client = web_env.client()
    response = login(client, "canbo", "sai-mat-khau")
    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.text
    assert client.get("/api/me").status_code == 401
    assert login(client, "khong-ton-tai", PASSWORD).status_code == 401  # same answer for an unknown user
    failed = audit.entries(web_env.catalog, action=audit.LOGIN_FAILED, limit=10)
    assert {"canbo", "khong-ton-tai"} <= {e.username for e in failed}


def test_disabled_user_cannot_log_in(web_env):
    accounts.add_user(web_env.catalog, "tam.nghi", "official", PASSWORD)
    client = web_env.login("tam.nghi")
    assert client.get("/api/me").status_code == 200
    accounts.set_active(web_env.catalog, "tam.nghi", False)
    assert client.get("/api/me").status_code == 401  # the open session ended with the account
    assert login(web_env.client(), "tam.nghi").status_code == 401


def test_csrf_is_required_on_forms_and_cookie_api_calls(web_env):
    client = web_env.client()
    client.get("/dang-nhap")
    forged = client.post("/dang-nhap", data={"username": "canbo", "password": PASSWORD, "csrf_token": "x"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    client = web_env.login("canbo")
    # A form posted from elsewhere carries the cookie but not the token.
    response = client.post(f"/ban-ghi/{web_env.record_id}/su-dung-lai", data={"dossier": "000.00.12.H36-250101-0009"})
    assert response.status_code == 403 and "Phiên làm việc không hợp lệ" in response.text
    response = client.post(f"/api/records/{web_env.record_id}/reuse", json={"dossier": "000.00.12.H36-250101-0009"})
    assert response.status_code == 403 and response.json()["error"] == "csrf"
    response = client.post("/dang-xuat", data={"csrf_token": "wrong"})
    assert response.status_code == 403
    assert client.get("/api/me").status_code == 200  # still logged in: the forged logout did nothing


# --- roles -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("username, allowed, denied", [
    ("quet.a", ["/tai-len", "/lo-so-hoa", "/tra-cuu", "/van-ban", "/can-xu-ly"],
     ["/kho", "/bao-cao", "/quan-tri", "/ban-ghi/{rid}"]),
    ("canbo", ["/tra-cuu", "/kho", "/lo-so-hoa", "/ban-ghi/{rid}"], ["/tai-len", "/bao-cao", "/quan-tri"]),
    ("lanhdao", ["/bao-cao", "/tra-cuu", "/lo-so-hoa"], ["/tai-len", "/quan-tri", "/quan-tri/nhat-ky"]),
    ("quantri", PAGES + ["/ban-ghi/{rid}"], []),
])
def test_role_matrix_for_pages(web_env, username, allowed, denied):
    client = web_env.login(username)
    for path in allowed:
        response = client.get(path.format(rid=web_env.record_id))
        assert response.status_code == 200, (username, path, response.text[:300])
    for path in denied:
        response = client.get(path.format(rid=web_env.record_id))
        assert response.status_code == 403, (username, path)
        assert "Không có quyền truy cập" in response.text


def test_role_matrix_for_the_api(web_env):
    scanner, official, leader = web_env.login("quet.a"), web_env.login("canbo"), web_env.login("lanhdao")
    assert scanner.get("/api/search?q=giay").status_code == 200  # their agency's, to avoid scanning twice
    assert scanner.get("/api/records").status_code == 403
    assert scanner.get(f"/api/records/{web_env.record_id}/original").status_code == 403
    assert official.get("/api/ratios?period=2024").status_code == 403
    assert leader.post(f"/api/records/{web_env.record_id}/reuse", json={"dossier": DOSSIER},
                       headers={"X-CSRF-Token": csrf(leader)}).status_code == 403
    assert official.get("/api/users").status_code == 403
    assert scanner.get("/api/audit").status_code == 403
    assert official.get("/api/search?q=giay").status_code == 200


def test_admin_manages_users_from_the_page(web_env):
    admin = web_env.login("quantri")
    token = csrf(admin, "/quan-tri")
    response = admin.post("/quan-tri/nguoi-dung", data={
        "csrf_token": token, "username": "moi.vao", "full_name": "Nguyễn Văn Mới", "role": "scanner",
        "agency": AGENCY_B, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303
    page = admin.get(response.headers["location"]).text
    assert "Đã tạo tài khoản." in page and "Nguyễn Văn Mới" in page and "Cán bộ số hóa" in page
    newcomer = web_env.login("moi.vao")
    assert newcomer.get("/api/me").json()["agency_code"] == AGENCY_B
    bad = admin.post("/quan-tri/nguoi-dung", data={"csrf_token": token, "username": "thieu.co.quan",
                                                   "role": "scanner", "password": PASSWORD})
    assert bad.status_code == 400 and "Cán bộ số hóa cần được gán cơ quan" in bad.text
    response = admin.post("/quan-tri/nguoi-dung/moi.vao/trang-thai", data={"csrf_token": token, "active": "false"},
                          follow_redirects=False)
    assert response.status_code == 303
    assert newcomer.get("/api/me").status_code == 401
    token_page = admin.post("/quan-tri/nguoi-dung/canbo/token", data={"csrf_token": token, "label": "một cửa"})
    assert token_page.status_code == 200 and "chỉ hiển thị một lần" in token_page.text


# --- API tokens --------------------------------------------------------------------------------------

def test_api_token_authenticates_machines_and_can_be_revoked(web_env):
    token = accounts.create_token(web_env.catalog, "canbo", "hệ thống một cửa")
    client = web_env.client()
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/me", headers=headers).json()
    assert me["username"] == "canbo" and me["via"] == "token"
    # No cookie, so no CSRF token is needed for a POST.
    response = client.post(f"/api/records/{web_env.record_id}/reuse", headers=headers,
                           json={"dossier": "000.00.12.H36-250102-0001"})
    assert response.status_code == 200, response.text
    assert client.get("/api/me", headers={"Authorization": "Bearer sohoa_wrong"}).status_code == 401
    token_id = next(t.id for t in accounts.list_tokens(web_env.catalog, "canbo") if t.label == "hệ thống một cửa")
    accounts.revoke_token(web_env.catalog, token_id)
    assert client.get("/api/me", headers=headers).status_code == 401


# --- uploads: access and bad input -------------------------------------------------------------------

def _upload(client, files, **fields):
    return client.post("/api/uploads", data={"kind": "component", **fields}, files=files,
                       headers={"X-CSRF-Token": csrf(client, "/tai-len")})


def test_scanner_uploads_for_own_agency_only(web_env):
    scanner = web_env.login("quet.a")
    scan = web_env.source.read_bytes()
    other = _upload(scanner, [("files", ("hs.jpg", scan, "image/jpeg"))], agency=AGENCY_B)
    assert other.status_code == 403 and AGENCY_B in other.json()["message"]
    other_dossier = _upload(scanner, [("files", ("hs.jpg", scan, "image/jpeg"))], dossier="000.00.13.H36-240115-0001")
    assert other_dossier.status_code == 403
    own = _upload(scanner, [("files", ("giấy khai sinh.jpg", scan, "image/jpeg"))], agency=AGENCY_A, owner_id=OWNER)
    assert own.status_code == 201, own.text
    item = own.json()["items"][0]
    assert item["name"] == "giấy khai sinh.jpg"
    # The same bytes are already archived: the item ends at once as a duplicate of that record.
    assert item["status"] == "duplicate" and item["record_id"] == web_env.record_id
    assert scanner.get(f"/api/uploads/{item['id']}").json()["status_label"] == "Đã có trong kho (trùng)"
    # Another scanner cannot follow it.
    assert web_env.login("quet.b").get(f"/api/uploads/{item['id']}").status_code == 404
    page = scanner.get("/tai-len").text
    assert "giấy khai sinh.jpg" in page and "Kéo và thả tệp vào đây" in page


def test_upload_bad_input_gets_a_clear_4xx(web_env):
    scanner = web_env.login("quet.a")
    cases = [
        ([("files", ("thu.txt", b"khong phai anh", "text/plain"))], {}, 415, "không phải tệp PDF, TIFF, JPEG hoặc PNG"),
        ([("files", ("rong.pdf", b"", "application/pdf"))], {}, 400, "tệp rỗng"),
        ([("files", ("to.png", PNG_HEAD + b"\0" * (1024 * 1024 + 10), "image/png"))], {}, 413, "giới hạn 1 MB"),
        ([("files", ("a.jpg", web_env.source.read_bytes(), "image/jpeg"))], {"dossier": "HS-SAI"}, 400,
         "Mã hồ sơ 'HS-SAI' không hợp lệ"),
        ([("files", ("a.jpg", web_env.source.read_bytes(), "image/jpeg"))], {"owner_id": "12345"}, 400, "cần số CCCD 12 chữ số"),
        ([], {}, 400, "Chưa chọn tệp nào"),
    ]
    for files, fields, status, words in cases:
        response = _upload(scanner, files or None, agency=AGENCY_A, **fields)
        assert response.status_code == status, (words, response.text)
        body = response.json()
        assert words in body["message"] and "Traceback" not in response.text
    # Nothing refused was kept.
    uploads = web_env.data_dir / "uploads"
    kept = [p.name for p in uploads.rglob("*") if p.is_file()] if uploads.exists() else []
    assert not {"thu.txt", "rong.pdf", "to.png"} & set(kept)


def test_upload_form_without_javascript_redirects_to_the_status_list(web_env):
    scanner = web_env.login("quet.a")
    token = csrf(scanner, "/tai-len")
    response = scanner.post("/tai-len", data={"csrf_token": token, "agency": AGENCY_A, "kind": "component"},
                            files=[("files", ("lan-2.jpg", web_env.source.read_bytes(), "image/jpeg"))],
                            follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/tai-len?items=")
    assert "lan-2.jpg" in scanner.get(response.headers["location"]).text


# --- search, Kho, record page, downloads, audit ----------------------------------------------------

def test_search_without_diacritics_highlights_and_facets(web_env):
    from sohoa.search.model import fold

    official = web_env.login("canbo")
    page = official.get("/tra-cuu", params={"q": fold(web_env.keyword)})
    assert page.status_code == 200
    assert f"/ban-ghi/{web_env.record_id}" in page.text and "<mark>" in page.text
    assert "Loại giấy tờ" in page.text and "GKS" in page.text and "1 kết quả" in page.text
    api = official.get("/api/search", params={"q": fold(web_env.keyword)}).json()
    assert [h["record_id"] for h in api["hits"]] == [web_env.record_id]
    assert api["facets"]["doc_type_code"] == {"GKS": 1}
    filtered = official.get("/api/search", params={"q": fold(web_env.keyword), "doc_type": "KHAC"}).json()
    assert filtered["total"] == 0
    owner = official.get("/tra-cuu", params={"q": OWNER}).text
    assert f"/kho?owner_id={OWNER}" in owner
    bad = official.get("/tra-cuu", params={"dossier": "khong-hop-le"})
    assert bad.status_code == 400 and "Mã hồ sơ &#39;khong-hop-le&#39; không hợp lệ" in bad.text
    assert official.get("/api/search", params={"from": "15/01/2024"}).status_code == 400


def test_kho_lists_the_owner_documents_and_is_audited(web_env):
    official = web_env.login("canbo")
    page = official.get("/kho", params={"owner_id": OWNER})
    assert page.status_code == 200 and "Giấy khai sinh" in page.text and "Không thời hạn" in page.text
    assert "<h2>Giấy khai sinh</h2>" in page.text and "<h2>GKS</h2>" not in page.text  # names, not codes
    api = official.get(f"/api/kho/{OWNER}").json()
    assert [h["record_id"] for h in api["groups"]["GKS"]] == [web_env.record_id]
    assert official.get("/api/kho/123").status_code == 400
    assert any(e.detail == f"owner {OWNER}" for e in audit.entries(web_env.catalog, username="canbo",
                                                                  action=audit.KHO))


def test_record_page_downloads_match_and_are_audited(web_env):
    official = web_env.login("canbo")
    rid = web_env.record_id
    page = official.get(f"/ban-ghi/{rid}")
    assert page.status_code == 200
    for words in ("Giấy khai sinh", "Thông tin giấy tờ", "Số định danh chủ sở hữu", "Lịch sử xử lý",
                  "Sử dụng lại", "Tải PDF/A", "Tải bản gốc", "Lưu trữ", "Vĩnh viễn", f"/ban-ghi/{rid}/trang/1.png"):
        assert words in page.text, words
    thumb = official.get(f"/ban-ghi/{rid}/trang/1.png")
    assert thumb.status_code == 200 and thumb.content.startswith(PNG_HEAD)
    assert official.get(f"/ban-ghi/{rid}/trang/99.png").status_code == 404
    shown = official.get(f"/api/records/{rid}").json()
    assert shown["metadata"]["owner_id"] == OWNER
    assert [e["action"] for e in shown["events"]][:1] == ["ingested"]
    pdfa = official.get(f"/ban-ghi/{rid}/pdfa?download=true")
    assert pdfa.status_code == 200 and pdfa.headers["content-type"] == "application/pdf"
    assert "attachment" in pdfa.headers["content-disposition"]
    assert hashlib.sha256(pdfa.content).hexdigest() == shown["objects"]["pdfa.pdf"]["sha256"]
    inline = official.get(f"/ban-ghi/{rid}/pdfa")
    assert inline.headers["content-disposition"].startswith("inline")
    original = official.get(f"/api/records/{rid}/original")
    assert original.content == web_env.source.read_bytes()
    assert hashlib.sha256(original.content).hexdigest() == original.headers["x-sohoa-sha256"]
    actions = {e.action for e in audit.entries(web_env.catalog, username="canbo", record_id=rid, limit=50)}
    assert {audit.VIEW, audit.VIEW_PDF, audit.DOWNLOAD_PDFA, audit.DOWNLOAD_ORIGINAL} <= actions
    admin = web_env.login("quantri")
    log = admin.get("/api/audit", params={"record": rid, "user": "canbo"}).json()
    assert {"view", "download-pdfa", "download-original"} <= {row["action"] for row in log}
    assert "Tải bản gốc" in admin.get("/quan-tri/nhat-ky", params={"record": rid}).text


def test_reuse_from_the_record_page_and_the_api(web_env):
    official = web_env.login("canbo")
    rid = web_env.record_id
    new = "000.00.12.H36-250301-0042"
    response = official.post(f"/ban-ghi/{rid}/su-dung-lai", data={"csrf_token": csrf(official), "dossier": new},
                             follow_redirects=False)
    assert response.status_code == 303
    page = official.get(response.headers["location"]).text
    assert f"Đã sử dụng lại giấy tờ cho hồ sơ {new}." in page and "Đã sử dụng lại trong hồ sơ" in page
    again = official.post(f"/api/records/{rid}/reuse", json={"dossier": new}, headers={"X-CSRF-Token": csrf(official)})
    assert again.status_code == 200 and again.json()["already_linked"] is True
    bad = official.post(f"/ban-ghi/{rid}/su-dung-lai", data={"csrf_token": csrf(official), "dossier": "sai"})
    assert bad.status_code == 400 and "Mã không hợp lệ" in bad.text
    missing = official.post("/api/records/Rkhongco/reuse", json={"dossier": new}, headers={"X-CSRF-Token": csrf(official)})
    assert missing.status_code == 404
    events = official.get(f"/api/records/{rid}").json()["events"]
    assert [e["agent"] for e in events if e["action"] == "reused" and new in e["detail"]] == ["canbo"]
    suggestions = official.get("/api/suggest", params={"dossier": "000.00.12.H36-250301-0043", "owner_id": OWNER})
    assert [h["record_id"] for h in suggestions.json()["hits"]] == [rid]


def test_reuse_of_an_expired_document_is_refused(web_env, tmp_path):
    from datetime import date

    from sohoa.ingest.runner import IngestFields, ingest_file
    from sohoa.ocr.pipeline import OcrOptions
    from sohoa.testkit import scans

    web = web_env.app.state.sohoa
    source = scans.save_image(scans.make_scan("clean", seed=72), tmp_path / "het-han.png", "png")
    fields = IngestFields(agency=AGENCY_A, owner_id=OWNER, doc_type="CCCD", title="Căn cước cũ",
                          valid_until=date(2020, 1, 1)).validated()
    result = ingest_file(source, fields, web.archive, OcrOptions.from_settings(web.settings, jobs=1), index=web.index)
    official = web_env.login("canbo")
    response = official.post(f"/api/records/{result.record_id}/reuse", json={"dossier": "000.00.12.H36-250301-0050"},
                             headers={"X-CSRF-Token": csrf(official)})
    assert response.status_code == 409
    assert response.json()["title"] == "Thao tác bị từ chối" and "hết hiệu lực" in response.json()["message"]


# --- jobs -----------------------------------------------------------------------------------------

def test_jobs_page_and_api_show_the_uploads(web_env):
    scanner = web_env.login("quet.a")
    _upload(scanner, [("files", ("lo.jpg", web_env.source.read_bytes(), "image/jpeg"))], agency=AGENCY_A)
    rows = {row["job"]: row for row in scanner.get("/api/jobs").json()}
    assert rows["upload"]["files"] >= 1 and rows["upload"]["duplicate"] >= 1
    page = scanner.get("/lo-so-hoa").text
    assert "Lô số hóa" in page and 'href="/lo-so-hoa/upload"' in page and "Tiến độ" in page
    detail = scanner.get("/lo-so-hoa/upload").text
    assert "lo.jpg" in detail and "Đã có trong kho (trùng)" in detail and "Tải báo cáo CSV" in detail
    report = scanner.get("/lo-so-hoa/upload/bao-cao.csv")
    assert report.status_code == 200 and report.text.startswith("path,status,record_id")
    assert scanner.get("/api/jobs/upload").json()["items"][0]["status"] == "duplicate"
    assert scanner.get("/lo-so-hoa/khong-co").status_code == 404


# --- ratios dashboard and the registry ------------------------------------------------------------------

def test_registry_import_and_ratio_dashboard(web_env):
    admin = web_env.login("quantri")
    imported = admin.post("/api/agencies/import", content=AGENCIES_CSV.encode(),
                          headers={"Content-Type": "text/csv", "X-CSRF-Token": csrf(admin)})
    assert imported.status_code == 200 and imported.json()["imported"] == 3, imported.text
    token = accounts.create_token(web_env.catalog, "canbo", "một cửa")
    machine = web_env.client()
    dossiers = [
        {"dossier_code": DOSSIER, "agency_code": AGENCY_A, "procedure_code": "1.001193", "received_on": "2024-01-15",
         "channel": "direct", "owner_id": OWNER},
        {"dossier_code": "000.00.12.H36-240116-0002", "agency_code": AGENCY_A, "procedure_code": "1.001193",
         "received_on": "2024-01-16", "channel": "online", "owner_id": OWNER},
        {"dossier_code": "000.00.13.H36-240116-0001", "agency_code": "SAI", "procedure_code": "x",
         "received_on": "2024-01-16", "channel": "direct", "owner_id": OWNER},
    ]
    response = machine.post("/api/dossiers/import", json={"dossiers": dossiers},
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["imported"] == 2 and [r["line"] for r in body["rejected"]] == [3]
    wrong = machine.post("/api/dossiers/import", content=b"khong,phai\n1,2\n",
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"})
    assert wrong.status_code == 415 and "dòng tiêu đề phải là dossier_code" in wrong.json()["message"]
    assert machine.post("/api/dossiers/import", content=b"[1, 2]", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"}).status_code == 400

    leader = web_env.login("lanhdao")

    def reuse_rate() -> float:
        rows = leader.get("/api/ratios", params={"period": "2024", "agency": AGENCY_A}).json()
        return rows[0]["reuse"]["rate"]

    before = reuse_rate()
    official = web_env.login("canbo")
    reused = official.post(f"/api/records/{web_env.record_id}/reuse", json={"dossier": "000.00.12.H36-240116-0002"},
                           headers={"X-CSRF-Token": csrf(official)})
    assert reused.status_code == 200
    assert reuse_rate() > before
    page = leader.get("/bao-cao", params={"period": "2024"})
    assert page.status_code == 200
    for words in ("Tỷ lệ số hóa hồ sơ", "Tỷ lệ tái sử dụng dữ liệu số hóa", "Sở Tư pháp", "Ủy ban nhân dân tỉnh",
                  "Kỳ báo cáo", "Tải bảng CSV", "/bao-cao/bieu-do.svg?period=2024"):
        assert words in page.text, words
    chart = leader.get("/bao-cao/bieu-do.svg", params={"period": "2024"})
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert "Tỷ lệ tái sử dụng" in chart.text
    table = leader.get("/bao-cao/bang.csv", params={"period": "2024"})
    assert table.headers["content-type"].startswith("text/csv")
    lines = table.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("agency_code,agency_name") and any(line.startswith(AGENCY_A) for line in lines)
    bad = leader.get("/bao-cao", params={"period": "2024-13"})
    assert bad.status_code == 400 and "Kỳ báo cáo &#39;2024-13&#39; không hợp lệ" in bad.text
    assert leader.get("/api/ratios", params={"period": "sai"}).status_code == 400
    png = leader.get("/api/ratios/chart.png", params={"period": "2024"})
    assert png.content.startswith(PNG_HEAD)


def test_admin_sets_targets(web_env):
    admin = web_env.login("quantri")
    response = admin.put("/api/targets", json={"targets": {"reuse": "70"}}, headers={"X-CSRF-Token": csrf(admin)})
    assert response.status_code == 200 and response.json()["reuse"]["target"] == pytest.approx(0.70)
    bad = admin.put("/api/targets", json={"targets": {"khong-co": "70"}}, headers={"X-CSRF-Token": csrf(admin)})
    assert bad.status_code == 400
    page = admin.post("/quan-tri/chi-tieu", data={"csrf_token": csrf(admin), "reuse": "150"})
    assert page.status_code == 400 and "cần một tỷ lệ phần trăm" in page.text


# --- errors and the API description ---------------------------------------------------------------------

def test_error_pages_are_vietnamese_without_traceback(web_env, monkeypatch):
    official = web_env.login("canbo")
    missing = official.get("/ban-ghi/Rkhongcobanghinay")
    assert missing.status_code == 404
    assert "Không tìm thấy" in missing.text and "Không có bản ghi" in missing.text and "Traceback" not in missing.text
    unknown = official.get("/trang-khong-co")
    assert unknown.status_code == 404 and "Không tìm thấy trang" in unknown.text
    assert official.get("/api/records/Rkhong").json()["error"] == "not_found"
    invalid = official.get("/api/records", params={"limit": "nhieu"})
    assert invalid.status_code == 400 and invalid.json()["title"] == "Yêu cầu không hợp lệ"

    from sohoa.web import records

    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(records, "events", broken)
    crashed = official.get(f"/ban-ghi/{web_env.record_id}")
    assert crashed.status_code == 500
    assert "Lỗi hệ thống" in crashed.text
    assert "Traceback" not in crashed.text and "secret internal detail" not in crashed.text


def test_openapi_documents_every_endpoint_behind_login(web_env):
    token = accounts.create_token(web_env.catalog, "canbo")
    client = web_env.client()
    spec = client.get("/openapi.json", headers={"Authorization": f"Bearer {token}"}).json()
    for path in ("/api/uploads", "/api/uploads/{item_id}", "/api/search", "/api/kho/{owner_id}", "/api/records",
                 "/api/records/{record_id}", "/api/records/{record_id}/pdfa", "/api/records/{record_id}/original",
                 "/api/records/{record_id}/reuse", "/api/suggest", "/api/dossiers/import", "/api/ratios",
                 "/api/jobs", "/api/jobs/{name}", "/api/users", "/api/audit", "/api/targets", "/api/agencies/import"):
        assert path in spec["paths"], path
    assert not any(path.startswith("/tra-cuu") for path in spec["paths"])  # pages are not API
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    docs = web_env.login("canbo").get("/docs")
    assert docs.status_code == 200 and "/docs-static/swagger-ui-bundle.js" in docs.text
    assert client.get("/docs-static/swagger-ui-bundle.js").status_code == 200  # served locally, no CDN


def test_pages_carry_security_headers_and_csp(web_env):
    page = web_env.client().get("/dang-nhap")
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self': no inline script
    assert page.headers["x-content-type-options"] == "nosniff"


def test_a_request_larger_than_every_allowed_upload_is_refused_before_parsing(web_env):
    scanner = web_env.login("quet.a")
    from sohoa.web.uploads import MAX_FILES

    size = (MAX_FILES + 2) * 1024 * 1024  # this app allows 1 MB per file
    response = scanner.post("/api/uploads", content=b"x" * size, headers={
        "Content-Type": "multipart/form-data; boundary=abc", "X-CSRF-Token": csrf(scanner, "/tai-len")})
    assert response.status_code == 413 and response.json()["error"] == "too_large"
