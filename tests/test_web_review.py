"""Xác nhận thông tin (issue #14, web): the review queue, the review page with the proposals' boxes,
the confirmation form and JSON call, and the extracted fields on the record page.

Born-digital PDFs (fpdf2, their text layer read as is, no OCR) go through the real `sohoa ingest`
path with nothing typed but the agency and the dossier, so every field is an extraction proposal
waiting for review; one has a typed title the pages contradict. Real SQLite catalog, local store and
FTS5 index; logins and CSRF tokens as a browser has them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from fpdf import FPDF
from sohoa.archive.records import read_stored_record
from sohoa.core.settings import Settings
from sohoa.testkit.fonts import bold_font_path, font_path
from sohoa.web import accounts, audit
from sohoa.web.config import WebConfig
from test_web_browser import ARTIFACTS, browser  # noqa: F401  (a pytest fixture: headless Chromium)
from workers_fixtures import wait_for
from web_fixtures import AGENCY_A, AGENCY_B, CSRF_META, PASSWORD, login

OFFICIAL_B = "canbo.b"
USERS = {"canbo": ("official", AGENCY_A), "quet.a": ("scanner", AGENCY_A), "lanhdao": ("leader", AGENCY_A),
         OFFICIAL_B: ("official", AGENCY_B)}


@dataclass(frozen=True)
class Paper:
    """A Giấy xác nhận tình trạng hôn nhân: the NĐ 30/2020 header and a person."""

    number: str
    date_line: str
    name: str
    born: str
    person_id: str

    def lines(self) -> list[tuple[str, str, bool]]:
        """(left column, right column or "", bold), top to bottom; a line without right is centred."""
        return [("ỦY BAN NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", True),
                ("PHƯỜNG BẾN NGHÉ", "Độc lập - Tự do - Hạnh phúc", True),
                (f"Số: {self.number}", self.date_line, False),
                ("", "", False),
                ("GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", "", True),
                (f"Họ, chữ đệm và tên: {self.name}", "", False),
                (f"Ngày, tháng, năm sinh: {self.born}", "", False),
                (f"Số định danh cá nhân: {self.person_id}", "", False),
                ("Tình trạng hôn nhân: hiện tại chưa đăng ký kết hôn với ai.", "", False)]

    def write(self, path: Path) -> Path:
        pdf = FPDF(unit="mm", format="A4")
        pdf.add_font("Doc", "", font_path("DejaVuSerif"))
        pdf.add_font("Doc", "B", bold_font_path("DejaVuSerif"))
        pdf.add_page()
        y = 22.0
        for left, right, bold in self.lines():
            pdf.set_font("Doc", "B" if bold else "", 12)
            if right:
                for text, centre in ((left, 50.0), (right, 140.0)):
                    pdf.text(centre - pdf.get_string_width(text) / 2, y, text)
            elif bold:
                pdf.text(105 - pdf.get_string_width(left) / 2, y, left)
            elif left:
                pdf.text(25, y, left)
            y += 8.0
        pdf.output(str(path))
        return path


FIRST = Paper("215/XN-UBND", "Quận 1, ngày 10 tháng 01 năm 2024", "NGUYỄN THỊ THU HƯƠNG", "12/04/1990", "079190001234")
SECOND = Paper("318/XN-UBND", "Quận 1, ngày 05 tháng 03 năm 2024", "TRẦN VĂN BÌNH", "20/11/1985", "001085003456")
OTHER_AGENCY = Paper("77/XN-UBND", "Quận 1, ngày 02 tháng 02 năm 2024", "LÊ THỊ MAI", "03/03/1992", "079192004567")


@dataclass
class Env:
    app: object
    ids: dict[str, str] = field(default_factory=dict)  # paper → record id
    clients: list = field(default_factory=list)

    @property
    def web(self):
        return self.app.state.sohoa

    def login(self, username: str):
        from fastapi.testclient import TestClient

        client = TestClient(self.app, raise_server_exceptions=False)
        client.__enter__()
        self.clients.append(client)
        assert login(client, username, PASSWORD).status_code == 303
        return client

    def record(self, name: str):
        return self.web.catalog.record(self.ids[name])


def _ingest(web, paper: Paper, path: Path, agency: str, title: str | None = None) -> str:
    """The `sohoa ingest` path with only the agency, dossier (and maybe a title) typed."""
    from sohoa.ingest.runner import IngestFields, ingest_file
    from sohoa.ocr.pipeline import OcrOptions

    fields = IngestFields(agency=agency, dossier=f"{agency}-240115-0001", title=title, retention="01").validated()
    result = ingest_file(paper.write(path), fields, web.archive,
                         OcrOptions.from_settings(web.settings, jobs=1, engine="null"),
                         agent="test", index=web.index)
    assert result.status == "stored", result
    return result.record_id


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    from sohoa.web.app import create_app

    data = tmp_path_factory.mktemp("reviewdata")
    app = create_app(Settings(data_dir=data, jobs=1, stable_seconds=0.5, ocr_engine="null"),
                     WebConfig(tend_seconds=0.5))
    env = Env(app)
    for name, (role, agency) in USERS.items():
        accounts.add_user(env.web.catalog, name, role, PASSWORD, agency, full_name=f"Người dùng {name}")
    papers = tmp_path_factory.mktemp("papers")
    env.ids["first"] = _ingest(env.web, FIRST, papers / "xac-nhan-1.pdf", AGENCY_A)
    # A typed title the pages contradict: kept, and flagged "khác với nội dung giấy tờ".
    env.ids["second"] = _ingest(env.web, SECOND, papers / "xac-nhan-2.pdf", AGENCY_A, title="Giấy xác nhận cũ")
    env.ids["other"] = _ingest(env.web, OTHER_AGENCY, papers / "xac-nhan-3.pdf", AGENCY_B)
    yield env
    for client in env.clients:
        client.__exit__(None, None, None)


def _token(client, path: str) -> str:
    return CSRF_META.search(client.get(path).text).group(1)


def _form(html: str) -> dict[str, str]:
    """The review form as a browser would send it: every input and the selected option."""
    start = html.index('class="review-form"')
    form = html[start:html.index("</form>", start)]
    values = {name: value for name, value in re.findall(r'<input[^>]*name="([^"]+)" value="([^"]*)"', form)}
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        values[name] = chosen.group(1) if chosen else ""
    return values


def test_stored_records_wait_for_review(env: Env):
    first, second = env.record("first").metadata_json, env.record("second").metadata_json
    assert first["owner_id"] == FIRST.person_id and first["number_symbol"] == FIRST.number
    assert {"owner_id", "owner_name", "number_symbol", "issued_on"} <= set(first["unconfirmed"])
    assert second["title"] == "Giấy xác nhận cũ" and "title" in second["disagreements"]


def test_queue_lists_the_agency_least_certain_first(env: Env):
    canbo = env.login("canbo")
    page = canbo.get("/xac-nhan")
    assert page.status_code == 200 and "Xác nhận thông tin" in page.text
    first, second, other = (env.record(n) for n in ("first", "second", "other"))
    assert first.code in page.text and second.code in page.text and other.code not in page.text
    assert "Giấy xác nhận tình trạng hôn nhân" in page.text and "Số định danh chủ sở hữu" in page.text
    assert "khác với nội dung giấy tờ" in page.text  # the second one's title
    listed = canbo.get("/api/review").json()
    assert listed["total"] == 2
    assert [r["record_id"] for r in listed["records"]] == [
        r.id for r in sorted((first, second), key=lambda r: (r.review_confidence, r.created_at, r.id))]
    assert all(r["doc_type_name"] == "Giấy xác nhận tình trạng hôn nhân" for r in listed["records"])
    percent = f"{min(first.review_confidence, second.review_confidence) * 100:.1f}%".replace(".", ",")
    assert percent in page.text
    rows = audit.entries(env.web.catalog, username="canbo", action=audit.LIST)
    assert rows and set(rows[0].record_ids.split()) == {first.id, second.id}
    # Another agency's official sees only theirs; the first record does not exist for them.
    other_official = env.login(OFFICIAL_B)
    theirs = other_official.get("/api/review").json()
    assert [r["record_id"] for r in theirs["records"]] == [other.id]
    assert other_official.get(f"/xac-nhan/{first.id}").status_code == 404
    token = _token(other_official, "/xac-nhan")
    refused = other_official.post(f"/xac-nhan/{first.id}", data={"csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 404


def test_review_page_shows_the_proposals_over_the_page(env: Env):
    canbo = env.login("canbo")
    second = env.record("second")
    page = canbo.get(f"/xac-nhan/{second.id}")
    assert page.status_code == 200
    assert "chưa xác nhận" in page.text and "khác với nội dung giấy tờ" in page.text
    assert "Trên giấy tờ: Giấy xác nhận tình trạng hôn nhân" in page.text  # the proposed title beside the typed one
    assert re.search(r'<select id="f-doc_type_code" name="doc_type_code" autofocus>', page.text)
    assert _form(page.text)["owner_id"] == SECOND.person_id and _form(page.text)["title"] == "Giấy xác nhận cũ"
    rects = re.findall(r'<rect class="(\w+)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', page.text)
    boxes = {name: tuple(map(float, xywh)) for name, *xywh in rects}
    assert {"number_symbol", "owner_id", "owner_name"} <= set(boxes)
    x, y, w, h = boxes["number_symbol"]
    assert x + w < 50 and y < 20 and 0 < h < 5  # top left of the page, one line high
    assert boxes["owner_id"][1] > boxes["owner_name"][1] > boxes["number_symbol"][1]  # read top to bottom
    image = canbo.get(f"/xac-nhan/{second.id}/trang/1.png")
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image
    import io

    assert Image.open(io.BytesIO(image.content)).width == 900


def test_record_page_has_the_extracted_fields(env: Env):
    canbo = env.login("canbo")
    first = env.record("first")
    page = canbo.get(f"/ban-ghi/{first.id}")
    assert page.status_code == 200
    section = page.text[page.text.index("Thông tin bóc tách"):page.text.index("Đối tượng lưu trữ")]
    assert FIRST.person_id in section and "Nguyễn Thị Thu Hương" in section and "chưa xác nhận" in section
    assert f'href="/xac-nhan/{first.id}"' in section and "<rect" in section
    leader = env.login("lanhdao")  # may look, may not confirm: no link
    assert 'href="/xac-nhan/' not in leader.get(f"/ban-ghi/{first.id}").text.split("Thông tin bóc tách")[1]


def test_scanner_may_not_review(env: Env):
    scanner = env.login("quet.a")
    first = env.record("first")
    assert scanner.get("/xac-nhan").status_code == 403
    token = _token(scanner, "/tai-len")
    refused = scanner.post(f"/xac-nhan/{first.id}", data={"csrf_token": token, "owner_name": "Ai Đó"},
                           follow_redirects=False)
    assert refused.status_code == 403
    assert env.record("first").metadata_json["owner_name"] == "Nguyễn Thị Thu Hương"


def test_invalid_date_is_refused_in_vietnamese_and_writes_nothing(env: Env):
    canbo = env.login("canbo")
    first = env.record("first")
    page = canbo.get(f"/xac-nhan/{first.id}")
    form = {**_form(page.text), "issued_on": "2024-13-45", "owner_name": "Nguyễn Thị Thu Hường"}
    before = read_stored_record(env.web.archive.store, first.prefix).version
    answer = canbo.post(f"/xac-nhan/{first.id}", data=form, follow_redirects=False)
    assert answer.status_code == 400
    assert "Ngày ban hành: “2024-13-45” không phải là ngày hợp lệ" in answer.text
    assert 'value="Nguyễn Thị Thu Hường"' in answer.text  # what was typed is kept on the form
    assert read_stored_record(env.web.archive.store, first.prefix).version == before
    assert env.record("first").metadata_json == first.metadata_json
    no_csrf = canbo.post(f"/xac-nhan/{first.id}", data={k: v for k, v in form.items() if k != "csrf_token"},
                         follow_redirects=False)
    assert no_csrf.status_code == 403 and env.record("first").metadata_json == first.metadata_json


def test_confirm_writes_a_version_and_goes_to_the_next(env: Env):
    canbo = env.login("canbo")
    first, second = env.record("first"), env.record("second")
    before = read_stored_record(env.web.archive.store, first.prefix).version
    form = {**_form(canbo.get(f"/xac-nhan/{first.id}").text), "owner_name": "Nguyễn Thị Thu Hường"}
    answer = canbo.post(f"/xac-nhan/{first.id}", data=form, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/xac-nhan/{second.id}?xong={first.id}"
    following = canbo.get(answer.headers["location"])
    assert f"Đã xác nhận thông tin giấy tờ {first.code}" in following.text and second.code in following.text
    stored = read_stored_record(env.web.archive.store, first.prefix)
    assert stored.version == before + 1 and stored.meta.owner_name == "Nguyễn Thị Thu Hường"
    assert stored.meta.unconfirmed == [] and stored.meta.disagreements == []
    described = [e for e in stored.events if e.action == "described"]
    assert len(described) == 1 and "canbo" in described[0].detail and "owner_name" in described[0].detail
    now = env.record("first")
    assert now.review_confidence is None and now.metadata_json["owner_name"] == "Nguyễn Thị Thu Hường"
    assert now.metadata_json["number_symbol"] == FIRST.number  # confirmed as proposed
    assert [r["record_id"] for r in canbo.get("/api/review").json()["records"]] == [second.id]
    rows = audit.entries(env.web.catalog, username="canbo", action=audit.DESCRIBE, record_id=first.id)
    assert len(rows) == 1 and "owner_name" in rows[0].detail
    hits = canbo.get("/api/search", params={"q": "Hường"}).json()["hits"]
    assert first.id in [hit["record_id"] for hit in hits]


def test_api_describe_sets_and_confirms(env: Env):
    canbo = env.login("canbo")
    second = env.record("second")
    token = _token(canbo, "/xac-nhan")
    bad = canbo.post(f"/api/records/{second.id}/describe", headers={"X-CSRF-Token": token},
                     json={"set": {"date_of_birth": "20/11/1985"}, "confirm": True})
    assert bad.status_code == 400 and "Ngày sinh" in bad.json()["message"]
    assert env.record("second").metadata_json == second.metadata_json
    done = canbo.post(f"/api/records/{second.id}/describe", headers={"X-CSRF-Token": token},
                      json={"set": {"title": "Giấy xác nhận tình trạng hôn nhân"}, "confirm": True})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["version"] == 2 and "title" in body["changed"] and body["unconfirmed"] == []
    assert env.record("second").metadata_json["title"] == "Giấy xác nhận tình trạng hôn nhân"
    assert canbo.get("/api/review").json() == {"total": 0, "records": []}
    assert "Không còn giấy tờ nào chờ xác nhận" in canbo.get("/xac-nhan").text
    assert len(audit.entries(env.web.catalog, username="canbo", action=audit.DESCRIBE, record_id=second.id)) == 1



def test_altered_objects_are_never_shown(env: Env):
    """The other agency's record, its extracted.json and PDF/A altered on disk: 500 in Vietnamese,
    the mismatch recorded, nothing of the altered bytes shown."""
    import os

    other = env.record("other")
    client = env.login(OFFICIAL_B)
    for name in ("extracted.json", "pdfa.pdf"):
        path = env.web.archive.store.root / next(o.key for o in other.objects if o.name == name)
        os.chmod(path, 0o600)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    page = client.get(f"/xac-nhan/{other.id}")
    assert page.status_code == 500 and "SHA-256" in page.text and OTHER_AGENCY.person_id not in page.text
    assert "Traceback" not in page.text
    events = read_stored_record(env.web.archive.store, other.prefix).events
    assert any(e.action == "fixity-checked" and e.outcome != "success" for e in events)


@pytest.mark.servers
def test_keyboard_only_in_a_real_browser(browser, tmp_path: Path):
    """Headless Chromium against `sohoa serve`: the focus starts on the first field, Tab moves, Enter
    confirms and the next record opens; the image loads and the boxes are drawn over it (CSP allows it)."""
    import os
    import socket
    import subprocess
    import sys

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from sohoa.archive.backends import open_archive
    from sohoa.search.backends import open_configured_index

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, SOHOA_DATA_DIR=str(tmp_path / "data"), SOHOA_OCR_ENGINE="null", SOHOA_JOBS="1",
               SOHOA_WEB_PORT=str(port), SOHOA_WEB_HOST="127.0.0.1")
    settings = Settings.from_env(env)
    web = SimpleNamespace(archive=open_archive(settings), index=open_configured_index(settings), settings=settings)
    archive = web.archive
    accounts.add_user(archive.catalog, "canbo", "official", PASSWORD, AGENCY_A, full_name="Cán bộ")
    ids = [_ingest(web, paper, tmp_path / f"{n}.pdf", AGENCY_A) for n, paper in enumerate((FIRST, SECOND))]
    order = [r.id for r in archive.catalog.review_queue()[1]]
    archive.catalog.dispose()
    assert sorted(order) == sorted(ids)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(tmp_path / "serve.log", "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "sohoa", "serve"], env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=log)
    def listening() -> bool:
        assert server.poll() is None, (tmp_path / "serve.log").read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(listening, 60, "sohoa serve", interval=0.3)
        browser.get(f"{base}/dang-nhap")
        browser.find_element(By.NAME, "username").send_keys("canbo")
        browser.find_element(By.NAME, "password").send_keys(PASSWORD + Keys.ENTER)
        wait_for(lambda: bool(browser.find_elements(By.CSS_SELECTOR, ".who")), 10, "the login", interval=0.2)
        browser.get(f"{base}/xac-nhan/{order[0]}")
        assert browser.switch_to.active_element.get_attribute("name") == "doc_type_code"
        browser.switch_to.active_element.send_keys(Keys.TAB)
        assert browser.switch_to.active_element.get_attribute("name") == "number_symbol"
        wait_for(lambda: browser.execute_script("const i = document.querySelector('.page-boxes img');"
                                                "return i && i.complete && i.naturalWidth;") == 900,
                 20, "the page image", interval=0.2)
        box = browser.find_element(By.CSS_SELECTOR, "rect.number_symbol").rect
        image = browser.find_element(By.CSS_SELECTOR, ".page-boxes img").rect
        assert 0 < box["width"] < image["width"] / 2 and box["x"] < image["x"] + image["width"] / 2
        browser.save_screenshot(str(ARTIFACTS / "review.png"))
        browser.switch_to.active_element.send_keys(Keys.ENTER)
        wait_for(lambda: f"/xac-nhan/{order[1]}" in browser.current_url, 20, "the next record", interval=0.2)
        assert "Đã xác nhận thông tin giấy tờ" in browser.find_element(By.CSS_SELECTOR, ".notice").text
        assert browser.switch_to.active_element.get_attribute("name") == "doc_type_code"
    finally:
        server.terminate()
        server.wait(timeout=30)
