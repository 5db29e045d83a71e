"""Issue #18: notifications. A user sees when the files they handed in are stored, already archived
or "Cần xử lý": a count for the menu's badge, a list page that marks them seen, derived from the
job items in their name (nobody else's) and a "seen up to" moment per user."""

from __future__ import annotations

import uuid

import pytest
from sohoa.core.errors import ExitCode
from sohoa.web import audit
from sohoa.workers import jobs
from web_fixtures import AGENCY_A, WebEnv, add_users, make_app


@pytest.fixture(scope="module")
def web_env(tmp_path_factory):
    """The web app and its users; no record is needed (the notices come from job items)."""
    data = tmp_path_factory.mktemp("notices")
    env = WebEnv(data, make_app(data))
    add_users(env.catalog)
    yield env
    for client in env.clients:
        client.__exit__(None, None, None)


def _ended(env, who: str, status: str, name: str) -> int:
    """An item of `who` that ended, as the workers leave it."""
    item = jobs.add_item(env.catalog, "upload", f"/uploads/{uuid.uuid4().hex}/{name}", uuid.uuid4().hex * 2, 10,
                         {"agency": AGENCY_A, "scanned_by": who})
    if status == jobs.STORED:
        jobs.finish(env.catalog, item.id, status, record_id="R" + "0" * 24, record_code=f"{AGENCY_A}-GKS-0001",
                    pages=1)
    else:
        jobs.finish(env.catalog, item.id, status, reason="damaged page", exit_code=int(ExitCode.DAMAGED))
    return item.id


def test_the_badge_counts_my_ended_files_and_the_page_marks_them_seen(web_env):
    scanner, other = web_env.login("quet.a"), web_env.login("quet.b")
    assert scanner.get("/api/notifications/count").json()["unseen"] == 0
    stored = _ended(web_env, "quet.a", jobs.STORED, "giấy khai sinh.jpg")
    broken = _ended(web_env, "quet.a", jobs.QUARANTINED, "sổ hộ khẩu mờ.jpg")
    _ended(web_env, "quet.b", jobs.STORED, "giấy phép xây dựng.pdf")  # someone else's
    jobs.add_item(web_env.catalog, "upload", "/uploads/x/dang-xu-ly.jpg", "ef" * 32, 10,
                  {"agency": AGENCY_A, "scanned_by": "quet.a"})  # still queued: nothing to tell yet
    assert scanner.get("/api/notifications/count").json() == {"unseen": 2, "label": "2"}
    assert other.get("/api/notifications/count").json()["unseen"] == 1

    listed = scanner.get("/api/notifications").json()
    assert [(i["id"], i["unseen"]) for i in listed["items"]][:2] == [(broken, True), (stored, True)]
    assert listed["items"][0]["message"] == "Cần xử lý: Tệp bị hỏng, không đọc được."
    assert listed["items"][1]["message"] == "Đã lưu vào kho"
    assert scanner.get("/api/notifications/count").json()["unseen"] == 2  # reading the API does not mark seen

    before = len(audit.entries(web_env.catalog, username="quet.a", limit=1000))
    page = scanner.get("/thong-bao")
    assert page.status_code == 200 and "<h1>Thông báo</h1>" in page.text
    assert "sổ hộ khẩu mờ.jpg" in page.text and 'href="/can-xu-ly"' in page.text and "giấy phép xây dựng.pdf" not in page.text
    assert page.text.count('class="unseen"') == 2 and 'id="notice-badge"' in page.text
    assert len(audit.entries(web_env.catalog, username="quet.a", limit=1000)) == before + 1  # one row for the page
    assert scanner.get("/api/notifications/count").json()["unseen"] == 0
    assert 'class="unseen"' not in scanner.get("/thong-bao").text

    later = _ended(web_env, "quet.a", jobs.DUPLICATE, "giấy khai sinh (bản 2).jpg")
    assert scanner.get("/api/notifications/count").json()["unseen"] == 1
    marked = scanner.get("/api/notifications", params={"seen": "true"}).json()
    assert marked["items"][0]["id"] == later and marked["items"][0]["unseen"] is True
    assert scanner.get("/api/notifications/count").json()["unseen"] == 0
    assert web_env.client().get("/api/notifications/count").status_code == 401
