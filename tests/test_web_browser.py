"""A real browser (headless Chromium through Selenium and Debian's chromium-driver) against a real
`sohoa serve` and a real `sohoa worker`. A scanner logs in, drops a generated scan into the upload
form and waits until it is stored. An official finds it by a word typed without diacritics, opens
it and reuses it in a new dossier. A leader then sees the reuse ratio change on the dashboard.
Screenshots go to tests/artifacts/web/."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait
from sohoa.archive.backends import open_archive
from sohoa.core.settings import Settings
from sohoa.ratios import agencies, registry
from sohoa.ratios.csvinput import rows
from sohoa.search.model import fold
from sohoa.testkit import scans
from web_fixtures import AGENCIES_CSV, AGENCY_A, OWNER, PASSWORD, add_users
from workers_fixtures import cluster_factory  # noqa: F401  (a pytest fixture)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "web"
# axe-core, fetched by the install step (scripts/install-deps.sh test), never at test time.
AXE = Path(__file__).resolve().parents[1] / ".venv" / "share" / "axe-core" / "axe.min.js"
WIDTHS = {"1366": None, "390": {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}}
BLOCKING = ("serious", "critical")  # axe impacts that fail the test
WIDEST = """const width = arguments[0]; const out = [];
document.querySelectorAll("body *").forEach((e) => {
  const r = e.getBoundingClientRect(); let p = e.parentElement, clipped = false;
  while (p) { if (["auto", "scroll", "hidden"].includes(getComputedStyle(p).overflowX)) { clipped = true; break; } p = p.parentElement; }
  if (r.right > width + 1 && !clipped && out.length < 5) { out.push(e.tagName + "." + e.className + " " + Math.round(r.right)); }
});
return out;"""  # what sticks out past a phone's width, outside any scrolling box
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FIRST = "000.00.12.H36-240115-0001"  # the dossier the scan is uploaded into
SECOND = "000.00.12.H36-240116-0002"  # a later dossier of the same citizen: the scan is reused there


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(env: dict) -> None:
    archive = open_archive(Settings.from_env(env))
    add_users(archive.catalog)
    agencies.upsert_agencies(archive.catalog, rows(AGENCIES_CSV, agencies.COLUMNS, "agencies"))
    report = registry.import_rows(archive.catalog, [
        {"dossier_code": code, "agency_code": AGENCY_A, "procedure_code": "1.001193", "received_on": day,
         "channel": "direct", "owner_id": OWNER} for code, day in ((FIRST, "2024-01-15"), (SECOND, "2024-01-16"))])
    assert report.imported == 2 and not report.rejected
    archive.catalog.dispose()


def axe_violations(driver, source: str) -> list[dict]:
    """axe-core run inside the page: its serious and critical violations (rule, impact, first element).
    Not inside frames: the record page frames the PDF/A in Chromium's own PDF viewer, not our markup."""
    driver.execute_script(source)
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations'], iframes: false}).then(r => done(r.violations.map(v => "
        "({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length, "
        "target: v.nodes.length ? v.nodes[0].target.join(' ') : ''}))), e => done([{id: 'axe-error', "
        "impact: 'critical', help: String(e), nodes: 0, target: ''}]));")
    return [v for v in found if v["impact"] in BLOCKING]


def sweep(driver, base: str, pages: list[str], label: str, source: str) -> dict[str, list[dict]]:
    """Every page at 1366×768 and at 390 px wide: a screenshot, axe, and no sideways scrolling at 390 px."""
    problems: dict[str, list[dict]] = {}
    for width, metrics in WIDTHS.items():
        if metrics:
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        try:
            for path in pages:
                driver.get(base + path)
                name = path.strip("/").replace("/", "_").split("?")[0] or "trang-chu"
                driver.save_screenshot(str(ARTIFACTS / f"a11y-{label}-{name}-{width}.png"))
                found = axe_violations(driver, source)
                wide = driver.execute_script("return document.documentElement.scrollWidth")
                if metrics and wide > metrics["width"]:
                    found.append({"id": "scrolls-sideways", "impact": "serious", "target": f"{wide} px",
                                  "elements": driver.execute_script(WIDEST, metrics["width"])})
                if found:
                    problems[f"{path} @{width}"] = found
        finally:
            if metrics:
                driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return problems


@pytest.fixture
def browser():
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1366,768", "--lang=vi"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def test_browser_upload_search_reuse_and_dashboard(cluster_factory, browser, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    cluster = cluster_factory(web_port=str(port), web_tend_seconds="1")
    _seed(cluster.env)
    cluster.start_worker("browser", concurrency=1)
    with open(cluster.data_dir / "serve.log", "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "sohoa", "serve"], env=cluster.env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    scan = scans.make_scan("gray200_jpeg", seed=9090)
    source = Path(scans.save_image(scan, tmp_path / "giấy xác nhận.jpg", "jpeg"))
    wait = WebDriverWait(browser, 30)

    def shot(name: str) -> None:
        browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))

    def log_in(username: str) -> None:
        browser.delete_all_cookies()
        browser.get(f"{base}/dang-nhap")
        browser.find_element(By.NAME, "username").send_keys(username)
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".who")))

    def reuse_cell() -> str:
        browser.get(f"{base}/bao-cao?period=2024")
        cell = browser.find_element(By.CSS_SELECTOR, f'tr[data-agency="{AGENCY_A}"] td[data-indicator="reuse"]')
        return cell.text

    try:
        deadline = time.monotonic() + 60
        while True:  # the server is up when its login page answers
            try:
                browser.get(f"{base}/dang-nhap")
                if "Đăng nhập" in browser.page_source:
                    break
            except WebDriverException:  # connection refused while uvicorn starts
                pass
            assert server.poll() is None and time.monotonic() < deadline, "sohoa serve did not start"
            time.sleep(0.5)
        shot("01-dang-nhap")

        log_in("lanhdao")
        before = reuse_cell()
        assert before == "0,0% (0/2)", before
        shot("02-bao-cao-truoc")

        log_in("quet.a")
        browser.get(f"{base}/tai-len")
        browser.find_element(By.NAME, "dossier").send_keys(FIRST)
        browser.find_element(By.NAME, "owner_id").send_keys(OWNER)
        browser.find_element(By.NAME, "doc_type").send_keys("GXN")
        browser.find_element(By.NAME, "title").send_keys("Giấy xác nhận")
        browser.find_element(By.ID, "files").send_keys(str(source))
        assert "giấy xác nhận.jpg" in browser.find_element(By.ID, "chosen").text
        shot("03-tai-len")
        browser.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
        WebDriverWait(browser, 240, poll_frequency=1).until(
            lambda d: "Đã lưu vào kho" in d.find_element(By.CSS_SELECTOR, "#upload-status tbody tr").text,
            message=f"upload not stored; worker log: {cluster.log('browser')[-2000:]}")
        assert "giấy xác nhận.jpg" in browser.find_element(By.CSS_SELECTOR, "#upload-status tbody tr").text
        shot("04-da-luu")
        badge = WebDriverWait(browser, 30, poll_frequency=1).until(  # the menu's badge, polled by app.js
            lambda d: d.find_element(By.ID, "notice-badge") if d.find_element(By.ID, "notice-badge").is_displayed()
            else False, message="no notification badge")
        assert badge.text == "1", badge.text
        browser.get(f"{base}/thong-bao")
        assert "Đã lưu vào kho" in browser.find_element(By.ID, "thong-bao").text
        shot("04b-thong-bao")
        browser.get(f"{base}/van-ban")  # the scanner sees what the agency holds: the stored scan
        assert "Giấy xác nhận" in browser.find_element(By.CSS_SELECTOR, "table.documents").text
        shot("04c-van-ban")
        browser.get(f"{base}/can-xu-ly")
        assert browser.find_element(By.TAG_NAME, "h1").text == "Cần xử lý"
        shot("04d-can-xu-ly")

        log_in("canbo")
        query = fold(scan.keywords[2])
        WebDriverWait(browser, 60, poll_frequency=1).until(
            lambda d: d.get(f"{base}/tra-cuu?q={query}") or d.find_elements(By.CSS_SELECTOR, ".hit h3 a"),
            message="the stored record never showed up in the search")
        assert browser.find_elements(By.CSS_SELECTOR, ".hit mark")
        shot("05-tra-cuu")
        browser.find_element(By.CSS_SELECTOR, ".hit h3 a").click()
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "form.reuse")))
        assert "Giấy xác nhận" in browser.find_element(By.TAG_NAME, "h1").text
        shot("06-ban-ghi")
        browser.find_element(By.CSS_SELECTOR, "form.reuse input[name=dossier]").send_keys(SECOND)
        browser.find_element(By.CSS_SELECTOR, "form.reuse button[type=submit]").click()
        confirm = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "form.reuse-confirm button")))
        assert SECOND in browser.find_element(By.TAG_NAME, "main").text  # the confirm step names the dossier
        confirm.click()
        notice = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "p.notice")))
        assert f"Đã sử dụng lại giấy tờ cho hồ sơ {SECOND}." in notice.text
        shot("07-su-dung-lai")

        log_in("lanhdao")
        after = reuse_cell()
        assert after == "50,0% (1/2)", after
        shot("08-bao-cao-sau")

        # Accessibility (issue #18): every page, both widths, as the roles that see it; and the login page.
        source = AXE.read_text(encoding="utf-8")
        browser.set_script_timeout(60)
        log_in("quantri")
        browser.get(f"{base}/tra-cuu?q={query}")
        record = browser.find_element(By.CSS_SELECTOR, ".hit h3 a").get_attribute("href").removeprefix(base)
        problems = sweep(browser, base, [
            "/tai-len", f"/tra-cuu?q={query}", f"/kho?owner_id={OWNER}", "/kho?owner_id=123", record, "/xac-nhan",
            "/lo-so-hoa", "/lo-so-hoa/upload", "/bao-cao?period=2024", "/quan-tri", "/quan-tri/nhat-ky",
            "/quan-tri/thu-tuc", "/quan-tri/toan-ven", "/van-ban", "/can-xu-ly", "/thong-bao", f"/ho-so/{SECOND}",
            record.replace("/ban-ghi/", "/xac-nhan/")], "quantri", source)
        log_in("quet.a")
        problems |= sweep(browser, base, ["/tai-len"], "quet-a", source)
        browser.delete_all_cookies()
        problems |= sweep(browser, base, ["/dang-nhap"], "khach", source)
        assert not problems, problems
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "Traceback" not in (cluster.data_dir / "serve.log").read_text(errors="replace")
