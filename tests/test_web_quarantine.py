"""Issue #18: "Cần xử lý", the quarantine page. Quarantined upload items and files in the hot
folder's quarantine/ appear to the users of their agency scope with the reason in Vietnamese; the
file downloads; "Bỏ qua" keeps the file and records who, when and why; "Thử lại" sends it through
the upload pipeline again with fixed fields (a new upload item of the user)."""

from __future__ import annotations

import shutil
import uuid

from sohoa.core.errors import ExitCode
from sohoa.core.hashing import sha256_file
from sohoa.workers import jobs
from test_web_vietnamese import leaks, visible
from web_fixtures import AGENCY_A, AGENCY_B, OWNER, csrf, web_env  # noqa: F401  (web_env is a fixture)

HOT_PDF = "%PDF-1.4\n% hồ sơ xây dựng bị hỏng\n".encode()


def _quarantined_upload(env, name: str = "giấy khai sinh hỏng.jpg") -> int:
    """A quarantined upload of quet.a, as the workers leave one: the copy kept in DATA/uploads."""
    copy = env.app.state.sohoa.uploads_dir / "2026-12-01" / uuid.uuid4().hex / name
    copy.parent.mkdir(parents=True)
    shutil.copyfile(env.source, copy)
    sha, size = sha256_file(copy)
    item = jobs.add_item(env.catalog, "upload", str(copy), sha, size,
                         {"agency": AGENCY_A, "owner_id": "079199001234", "kind": "component", "scanned_by": "quet.a"})
    jobs.finish(env.catalog, item.id, jobs.QUARANTINED, reason="owner_id 079199001234: not on the pages",
                exit_code=int(ExitCode.INVALID_CODE))
    return item.id


def _hot_folder_file(env) -> None:
    folder = env.data_dir / "quarantine" / AGENCY_B
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ho-so-xay-dung.pdf").write_bytes(HOT_PDF)
    (folder / "ho-so-xay-dung.pdf.error.txt").write_text(
        "Tệp: ho-so-xay-dung.pdf\nLý do: Tệp bị hỏng, không đọc được.\n\nFile: ho-so-xay-dung.pdf\n", encoding="utf-8")


def test_each_agency_sees_its_own_quarantined_files_with_the_reason(web_env):
    upload_id = _quarantined_upload(web_env)
    _hot_folder_file(web_env)
    scanner_a, scanner_b = web_env.login("quet.a"), web_env.login("quet.b")
    page_a = scanner_a.get("/can-xu-ly")
    assert page_a.status_code == 200 and "<h1>Cần xử lý</h1>" in page_a.text
    assert "giấy khai sinh hỏng.jpg" in page_a.text and "ho-so-xay-dung.pdf" not in page_a.text
    assert "Mã cơ quan, mã hồ sơ hoặc thông tin kèm theo không hợp lệ." in page_a.text and "Thử lại" in page_a.text
    assert not leaks(visible(page_a.text))  # the technical detail stays in <code>, the page reads in Vietnamese
    page_b = scanner_b.get("/can-xu-ly").text
    assert "ho-so-xay-dung.pdf" in page_b and "Tệp bị hỏng, không đọc được." in page_b
    assert "giấy khai sinh hỏng.jpg" not in page_b
    admin = web_env.login("quantri").get("/api/quarantine").json()
    assert {"giấy khai sinh hỏng.jpg", "ho-so-xay-dung.pdf"} <= {row["name"] for row in admin}
    official = web_env.login("canbo").get("/can-xu-ly").text  # sees A's files, may not resend them
    assert "giấy khai sinh hỏng.jpg" in official and "/thu-lai" not in official
    # The upload status speaks the clerk's word too.
    assert scanner_a.get(f"/api/uploads/{upload_id}").json()["status_label"] == "Cần xử lý"

    hot = next(row for row in scanner_b.get("/api/quarantine").json() if row["name"] == "ho-so-xay-dung.pdf")
    assert scanner_b.get(f"/can-xu-ly/{hot['id']}/tep").content == HOT_PDF
    assert scanner_a.get(f"/can-xu-ly/{hot['id']}/tep").status_code == 404  # another agency's: as if missing


def test_dismiss_keeps_the_file_and_records_who_and_why(web_env):
    _hot_folder_file(web_env)
    scanner = web_env.login("quet.b")
    hot = next(row for row in scanner.get("/api/quarantine").json() if row["name"] == "ho-so-xay-dung.pdf")
    token = csrf(scanner, "/can-xu-ly")
    assert scanner.post(f"/can-xu-ly/{hot['id']}/bo-qua", data={"csrf_token": token, "reason": " "}).status_code == 400
    done = scanner.post(f"/can-xu-ly/{hot['id']}/bo-qua", follow_redirects=False,
                        data={"csrf_token": token, "reason": "Bản quét trùng, đã quét lại bản rõ hơn"})
    assert done.status_code == 303
    page = scanner.get(done.headers["location"]).text
    assert "Đã bỏ qua tệp (tệp vẫn được lưu giữ)." in page and "Bản quét trùng, đã quét lại bản rõ hơn" in page
    item = jobs.get(web_env.catalog, hot["id"])
    assert (item.handled, item.handled_by) == (jobs.DISMISSED, "quet.b") and item.handled_at is not None
    assert (web_env.data_dir / "quarantine" / AGENCY_B / "ho-so-xay-dung.pdf").read_bytes() == HOT_PDF
    assert hot["id"] not in [row["id"] for row in scanner.get("/api/quarantine").json()]
    again = scanner.post(f"/api/quarantine/{hot['id']}/dismiss", json={"reason": "lần nữa"},
                         headers={"X-CSRF-Token": token})
    assert again.status_code == 409


def test_retry_with_fixed_fields_goes_through_the_upload_pipeline(web_env):
    upload_id = _quarantined_upload(web_env, "giấy khai sinh (2).jpg")
    scanner = web_env.login("quet.a")
    token = csrf(scanner, "/can-xu-ly")
    other = web_env.login("quet.b")
    assert other.post(f"/can-xu-ly/{upload_id}/thu-lai", data={"csrf_token": csrf(other, "/can-xu-ly"),
                                                               "owner_id": OWNER}).status_code == 404
    bad = scanner.post(f"/can-xu-ly/{upload_id}/thu-lai", data={"csrf_token": token, "owner_id": "12345"})
    assert bad.status_code == 400  # checked like the upload form; nothing sent
    assert jobs.get(web_env.catalog, upload_id).handled is None
    done = scanner.post(f"/can-xu-ly/{upload_id}/thu-lai", data={"csrf_token": token, "owner_id": OWNER,
                                                                 "agency": AGENCY_A, "kind": "component"},
                        follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/can-xu-ly?done=retried"
    old = jobs.get(web_env.catalog, upload_id)
    assert (old.handled, old.handled_by) == (jobs.RETRIED, "quet.a") and old.retry_item_id
    new = jobs.get(web_env.catalog, old.retry_item_id)
    assert new.job_name == "upload" and new.fields["owner_id"] == OWNER and new.fields["scanned_by"] == "quet.a"
    assert new.status == jobs.DUPLICATE  # the same bytes are archived already: found at submit, no OCR
    assert "Đã thử lại" in scanner.get("/can-xu-ly").text
