"""Every page a person reads is Vietnamese (issue #18): the pages are crawled as each role with data
present (a stored record with its events, a reuse, agencies, a hot-folder and an upload job, a
rejected input) and their visible text must not hold English words that leaked from codes, event
details, error messages or agency levels. Names are shown where codes were (facets, Kho, record)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sohoa.ratios import agencies, registry
from sohoa.ratios.csvinput import rows
from sohoa.core.errors import ExitCode
from sohoa.web import labels
from sohoa.workers import jobs
from web_fixtures import AGENCIES_CSV, AGENCY_A, DOSSIER, OWNER, USERS, csrf, web_env  # noqa: F401

SECOND = "000.00.12.H36-240116-0002"
PAGES = ["/", "/tai-len", "/tra-cuu", "/tra-cuu?q=giấy", "/tra-cuu?q=giấy&doc_type=GKS", "/kho",
         f"/kho?owner_id={OWNER}", "/kho?owner_id=12345", "/tra-cuu?dossier=HS-SAI", "/xac-nhan", "/lo-so-hoa",
         "/lo-so-hoa/watch", "/lo-so-hoa/upload", "/bao-cao", "/bao-cao?period=2024", "/bao-cao?period=2024&by=month",
         "/bao-cao?period=2024-13", "/quan-tri", "/quan-tri/nhat-ky", "/quan-tri/thu-tuc", "/quan-tri/toan-ven",
         "/van-ban", "/thong-bao", "/can-xu-ly", f"/ho-so/{SECOND}"]  # issue #18: the lists (H3), a dossier (H4)
# English that leaked into pages before (issue #18), as whole words; case matters where a Vietnamese
# word could share the letters.
ENGLISH = re.compile(r"\b(success|failure|pages|OCR'd|lang vie|province|department|district|commune|permanent|"
                     r"other|watch|upload|already linked|invalid|expected|Input should|dossier|bytes|not found|"
                     r"no record|agency|required|error|warning|stored|queued|running|quarantined|duplicate)\b")
DECIMAL_POINT_PERCENT = re.compile(r"\d+\.\d+ ?%")


class VisibleText(HTMLParser):
    """The text a reader sees: text nodes outside script, style, code and hidden elements."""

    SKIP = frozenset({"script", "style", "code", "datalist", "template"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag in self.SKIP or "hidden" in a:
            self.skipping.append(tag)
        if not self.skipping and tag in ("input", "img") and (a.get("placeholder") or a.get("alt")):
            self.parts.append(a.get("placeholder") or a.get("alt") or "")

    def handle_endtag(self, tag) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data) -> None:
        if not self.skipping:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def leaks(text: str) -> list[str]:
    # Codes carry English-looking letters only as parts of codes (000.00.12.H36, SHA-256 digests), never
    # as words; the technical names of tools (tesseract, pikepdf) and file names are not in the list.
    return sorted({m.group(0) for m in ENGLISH.finditer(text)} | set(DECIMAL_POINT_PERCENT.findall(text)))


@pytest.fixture(scope="module")
def with_data(web_env):
    catalog = web_env.catalog
    agencies.upsert_agencies(catalog, rows(AGENCIES_CSV, agencies.COLUMNS, "agencies"))
    registry.import_rows(catalog, [
        {"dossier_code": code, "agency_code": AGENCY_A, "procedure_code": "1.001193", "received_on": day,
         "channel": "direct", "owner_id": OWNER} for code, day in ((DOSSIER, "2024-01-15"), (SECOND, "2024-01-16"))])
    from sohoa.ratios.procedures import upsert_procedures

    upsert_procedures(catalog, rows("code,name,field\n1.001193,Đăng ký khai sinh,Hộ tịch\n",
                                    ("code", "name", "field"), "procedures"))
    for name, source in (("watch", "/srv/quet"), ("upload", "web")):
        jobs.ensure_job(catalog, name, source)
    refused = jobs.add_item(catalog, "watch", f"{AGENCY_A}/{DOSSIER}/giay-to.pdf", "ab" * 32, 1000,
                            {"agency": AGENCY_A, "dossier": DOSSIER, "owner_id": "123"})
    jobs.finish(catalog, refused.id, jobs.QUARANTINED, reason="invalid owner ID '123': expected a 12-digit CCCD",
                exit_code=int(ExitCode.INVALID_CODE))
    official = web_env.login("canbo")
    token = csrf(official)
    first = official.post(f"/api/records/{web_env.record_id}/reuse", json={"dossier": SECOND},
                          headers={"X-CSRF-Token": token})
    assert first.status_code < 400, first.text[:300]
    return web_env


def test_the_english_list_catches_what_leaked_before():
    assert leaks("Kết quả: success · 2 pages, 2 OCR'd, lang vie · (permanent) · 50.0%") == \
        ["50.0%", "OCR'd", "lang vie", "pages", "permanent", "success"]
    assert leaks("Thành công · 2 trang · Vĩnh viễn · 50,0% · 000.00.12.H36 · Giấy khai sinh") == []


@pytest.mark.parametrize("username", list(USERS))
def test_every_page_reads_in_vietnamese(with_data, username):
    client = with_data.login(username)
    seen = 0
    for path in PAGES + [f"/ban-ghi/{with_data.record_id}", f"/xac-nhan/{with_data.record_id}"]:
        response = client.get(path)
        if response.status_code in (403, 404) and "Không" in response.text and path not in (
                f"/ban-ghi/{with_data.record_id}",):
            continue  # not this role's page (the refusal itself is Vietnamese, checked below)
        text = visible(response.text)
        assert not leaks(text), (username, path, leaks(text), [text[max(0, m.start() - 150):m.end() + 50] for m in ENGLISH.finditer(text)][:2])
        seen += 1
    assert seen >= 4, (username, seen)


def test_names_not_codes_on_the_pages(with_data):
    client = with_data.login("canbo")
    search = visible(client.get("/tra-cuu", params={"q": "giấy"}).text)
    assert "Giấy khai sinh (1)" in search and "Sở Tư pháp (1)" in search and "GKS (1)" not in search
    kho = visible(client.get("/kho", params={"owner_id": OWNER}).text)
    assert "tính đến ngày" in kho
    record = visible(client.get(f"/ban-ghi/{with_data.record_id}").text)
    assert "Sở Tư pháp" in record and "Vĩnh viễn" in record or "10 năm" in record
    assert "Thành công" in record and "Z " not in record
    admin = visible(with_data.login("quantri").get("/quan-tri").text)
    assert "Sở, ban, ngành" in admin and "Cấp tỉnh" in admin
    chart = with_data.login("lanhdao").get("/bao-cao/bieu-do.svg", params={"period": "2024"}).text
    assert "50,0%" in chart and not DECIMAL_POINT_PERCENT.search(chart)  # as the table writes it
    watch = with_data.login("quantri").get("/lo-so-hoa/watch").text  # a refused file: its reason in Vietnamese,
    assert labels.reason_vi(int(ExitCode.INVALID_CODE)) in visible(watch)  # the English detail marked as such
    assert "Chi tiết kỹ thuật:" in watch and "<code class=\"detail\">invalid owner ID" in watch.replace("&#39;", "'")
    jobs_page = visible(with_data.login("quantri").get("/lo-so-hoa").text)
    assert labels.batch_vi("watch") in jobs_page and labels.batch_vi("upload") in jobs_page


def test_error_messages_are_vietnamese_for_the_web_only():
    message = "invalid owner ID '12345': expected a 12-digit CCCD, a 9-digit CMND or a tax code (10 or 10-3 digits)"
    assert labels.message_vi(message).startswith("Số định danh '12345' không hợp lệ")
    assert labels.validation_vi("depth", "int_parsing") == "Số cấp hiển thị: phải là số nguyên"
    assert labels.event_detail_vi("2 pages, 2 OCR'd, lang vie") == "2 trang, 2 trang nhận dạng ký tự, ngôn ngữ tiếng Việt"
    assert labels.audit_detail_vi("dossier X (already linked)") == "hồ sơ X (đã gắn từ trước)"
    # whole words only: no "trangs", and a login such as upload.bot is kept as it is
    assert labels.audit_detail_vi("thumbnail of page 3, 2 pages, user upload.bot") == \
        "ảnh thu nhỏ của trang 3, 2 trang, tài khoản upload.bot"


def test_procedure_catalogue_from_the_admin_page_and_the_cli(with_data, tmp_path):
    import os
    import subprocess
    import sys

    admin = with_data.login("quantri")
    csv_text = "code,name,field\n1.004227,Đăng ký kết hôn,Hộ tịch\n,Thiếu mã,Hộ tịch\n"
    page = admin.post("/quan-tri/thu-tuc", data={"csrf_token": csrf(admin, "/quan-tri")},
                      files={"file": ("thu-tuc.csv", csv_text.encode(), "text/csv")})
    text = visible(page.text)
    assert page.status_code == 200 and "Đã nhập 1 thủ tục" in text and "Dòng 3: Mã thủ tục" in text
    assert "Đăng ký kết hôn" in text and "Đăng ký khai sinh" in text and not leaks(text)
    api = admin.post("/api/procedures/import", content="code,name,field\n1.004228,Đăng ký khai tử,Hộ tịch\n",
                     headers={"Content-Type": "text/csv", "X-CSRF-Token": csrf(admin, "/quan-tri")})
    assert api.status_code == 200 and api.json()["imported"] == 1, api.text
    upload = with_data.login("quet.a").get("/tai-len").text  # the searchable list: names shown, codes sent

    assert '<option value="1.004227" label="Đăng ký kết hôn — Hộ tịch">' in upload
    assert '<option value="GKS" label="Giấy khai sinh">' in upload
    # The CLI imports the same catalogue (a data folder of its own).
    csv_file = tmp_path / "thu-tuc.csv"
    csv_file.write_text("code,name,field\n2.000001,Cấp phiếu lý lịch tư pháp,Lý lịch tư pháp\n", encoding="utf-8")
    env = {**os.environ, "SOHOA_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "sohoa", "procedures", "import", str(csv_file)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "1 imported" in done.stdout, done.stderr
    listed = subprocess.run([sys.executable, "-m", "sohoa", "procedures", "list"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert "2.000001" in listed.stdout and "Cấp phiếu lý lịch tư pháp" in listed.stdout
