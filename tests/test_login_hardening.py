"""Hardened login and tokens (issue #13 item 4): throttling per account and per address with an
exponential back-off and a Vietnamese "thử lại sau N phút" page (429), an unlock an admin can
give (CLI and page), a bound on concurrent Argon2 hashing (60 parallel logins against a real server,
peak memory measured), the password policy, token expiry and scopes, and sessions and tokens
revoked on a password change."""

from __future__ import annotations

import concurrent.futures
import http.client
import os
import re
import socket
import subprocess
import sys
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from conftest import SOHOA
from fastapi.testclient import TestClient
from sohoa.core.errors import SohoaError
from sohoa.web import accounts, audit
from sohoa.web.models import ApiToken, LoginThrottle
from sqlalchemy import update
from web_fixtures import CSRF_FIELD, PASSWORD, add_users, csrf, login, make_app

RETRY_PAGE = re.compile(r"Đăng nhập sai quá nhiều lần, vui lòng thử lại sau (\d+) phút")


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path / "data")
    add_users(app.state.sohoa.catalog)
    return app


def _client(app) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    client.__enter__()
    return client


def _expire_blocks(catalog) -> None:
    """The back-off has run out (as if its minutes had passed)."""
    with catalog.session() as session, session.begin():
        session.execute(update(LoginThrottle).values(blocked_until=accounts.now() - timedelta(seconds=1)))


def test_hundred_wrong_passwords_then_the_right_one_is_refused_until_the_back_off_expires(app):
    catalog = app.state.sohoa.catalog
    client = _client(app)
    statuses = [login(client, "canbo", f"sai-{n:03d}-mat-khau").status_code for n in range(100)]
    assert statuses[:accounts.ACCOUNT_FREE - 1] == [401] * (accounts.ACCOUNT_FREE - 1)
    assert set(statuses[accounts.ACCOUNT_FREE:]) == {429}
    right = login(client, "canbo")
    assert right.status_code == 429 and "sohoa_session" not in right.cookies
    minutes = int(RETRY_PAGE.search(right.text).group(1))
    assert minutes >= 1 and int(right.headers["retry-after"]) > 0
    # Blocked attempts never reach Argon2: only the free failures were checked.
    assert len(audit.entries(catalog, username="canbo", action=audit.LOGIN_FAILED, limit=500)) == accounts.ACCOUNT_FREE
    assert len(audit.entries(catalog, username="canbo", action=audit.LOGIN_BLOCKED, limit=500)) == 96
    _expire_blocks(catalog)
    assert login(client, "canbo").status_code == 303  # the wait is over: the right password works
    assert accounts.blocked_for(catalog, "canbo") == 0  # and the count starts again


def test_back_off_doubles_and_addresses_are_throttled_too(app):
    catalog = app.state.sohoa.catalog
    waits = [accounts.record_failure(catalog, "lanhdao", "") for _ in range(accounts.ACCOUNT_FREE + 3)]
    assert waits[accounts.ACCOUNT_FREE - 1:] == [60, 120, 240, 480]
    assert 0 < accounts.blocked_for(catalog, "lanhdao") <= 480
    for _ in range(30):  # a 24-hour cap, not an overflow
        wait = accounts.record_failure(catalog, "lanhdao", "")
    assert wait == accounts.ACCOUNT_MAX_DELAY
    # One address guessing many accounts: blocked for every account, the right password included.
    client = _client(app)
    for n in range(accounts.ADDRESS_FREE):
        assert login(client, f"khong-co-{n}", "sai-mat-khau-1").status_code in (401, 429)
    assert login(client, "quantri").status_code == 429
    assert accounts.unlock(catalog, address="testclient") == 1
    assert login(client, "quantri").status_code == 303


def test_an_admin_lifts_the_lockout_from_the_page_and_the_cli(app, tmp_path):
    catalog = app.state.sohoa.catalog
    for _ in range(accounts.ACCOUNT_FREE + 10):
        accounts.record_failure(catalog, "canbo", "10.1.2.3")
    assert accounts.blocked_for(catalog, "canbo") > 3600
    admin = _client(app)
    assert login(admin, "quantri").status_code == 303
    page = admin.get("/quan-tri")
    assert "Bị chặn đăng nhập đến" in page.text and "/quan-tri/nguoi-dung/canbo/mo-chan" in page.text
    lifted = admin.post("/quan-tri/nguoi-dung/canbo/mo-chan", data={"csrf_token": csrf(admin, "/quan-tri")},
                        follow_redirects=False)
    assert lifted.status_code == 303 and accounts.blocked_for(catalog, "canbo") == 0
    assert any(e.detail == "user canbo" for e in audit.entries(catalog, action=audit.UNLOCK))
    assert login(_client(app), "canbo").status_code == 303

    # The same through `sohoa users unlock` on the same database.
    for _ in range(accounts.ACCOUNT_FREE + 1):
        accounts.record_failure(catalog, "canbo", "")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env["SOHOA_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(SOHOA + ["users", "unlock", "canbo"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "login block lifted" in done.stdout, done.stderr
    assert accounts.blocked_for(catalog, "canbo") == 0
    missing = subprocess.run(SOHOA + ["users", "unlock", "khong-co"], env=env, capture_output=True, text=True,
                             timeout=60)
    assert missing.returncode == 17 and len(missing.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("role, password, rule", [
    ("admin", "ngan-11-kt", "at least 12"),
    ("official", "ngan-7!", "at least 8"),
    ("official", "        ", "whitespace"),
    ("admin", " " * 20, "whitespace"),
    ("official", "aaaaaaaa", "different characters"),
    ("admin", "aaaaaaaaaaaaaaaa", "different characters"),
    ("official", "123456a@", "too common"),
    ("official", "matkhau123", "too common"),
    ("official", "MatKhau@123", "too common"),
    ("admin", "change-me-please", "too common"),
    ("official", "Password@123", "too common"),
])
def test_password_policy_refuses(app, role, password, rule):
    with pytest.raises(SohoaError, match=rule):
        accounts.add_user(app.state.sohoa.catalog, "moi.nguoi", role, password,
                          "000.00.12.H36" if role == "scanner" else None)


def test_password_policy_accepts_and_applies_to_changes(app):
    catalog = app.state.sohoa.catalog
    accounts.add_user(catalog, "qt2", "admin", "ba-con-meo-den")  # 14 characters
    accounts.add_user(catalog, "cb2", "official", "meo-den1")  # 8 for the others
    with pytest.raises(SohoaError, match="at least 12"):
        accounts.set_password(catalog, "qt2", "ngan-hon-12")
    with pytest.raises(SohoaError, match="too common"):
        accounts.set_password(catalog, "cb2", "anhyeuem123")
    with pytest.raises(SohoaError, match="too common"):
        accounts.add_user(catalog, "nguyenvana", "official", "nguyenvana")


def test_password_change_revokes_sessions_and_tokens(app):
    catalog = app.state.sohoa.catalog
    browser = _client(app)
    assert login(browser, "canbo").status_code == 303
    token = accounts.create_token(catalog, "canbo", "một cửa")
    machine = _client(app)
    assert machine.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    accounts.set_password(catalog, "canbo", "mat-khau-moi-9876")
    assert machine.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert browser.get("/api/me").status_code == 401


def test_tokens_expire_and_keep_to_their_scope(app, tmp_path):
    catalog = app.state.sohoa.catalog
    client = _client(app)
    token = accounts.create_token(catalog, "canbo")
    row = accounts.list_tokens(catalog, "canbo")[-1]
    assert 89 <= (row.expires_at.replace(tzinfo=None) - accounts.now().replace(tzinfo=None)).days <= 90
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=auth).status_code == 200
    with catalog.session() as session, session.begin():
        session.execute(update(ApiToken).where(ApiToken.id == row.id)
                        .values(expires_at=accounts.now() - timedelta(seconds=1)))
    expired = client.get("/api/me", headers=auth)
    assert expired.status_code == 401 and expired.json()["error"] == "unauthenticated"

    reader = {"Authorization": f"Bearer {accounts.create_token(catalog, 'canbo', read_only=True)}"}
    assert client.get("/api/me", headers=reader).status_code == 200
    posted = client.post("/api/records/khong-co/reuse", json={"dossier": "000.00.12.H36-240115-0002"},
                         headers=reader)
    assert posted.status_code == 403 and "chỉ đọc" in posted.json()["message"]
    upload = client.post("/api/uploads", files={"files": ("a.pdf", b"%PDF-1.4 " * 10, "application/pdf")},
                         headers={**reader, "Authorization": reader["Authorization"]})
    assert upload.status_code == 403

    limited = {"Authorization": "Bearer " + accounts.create_token(catalog, "quantri", prefixes=["/api/uploads"],
                                                                  days=7)}
    assert client.get("/api/uploads", params={"ids": ""}, headers=limited).status_code == 200
    refused = client.get("/api/search", params={"q": "x"}, headers=limited)
    assert refused.status_code == 403 and "/api/uploads" in refused.json()["message"]
    assert client.get("/api/me", headers=limited).status_code == 403

    with pytest.raises(SohoaError, match="outside"):
        accounts.create_token(catalog, "quet.a", agencies=["000.00.13.H36"])  # not their agency
    scoped = accounts.create_token(catalog, "quet.a", agencies=["000.00.12.H36"])
    assert accounts.token_principal(catalog, scoped).token_agencies == ("000.00.12.H36",)

    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env["SOHOA_DATA_DIR"] = str(tmp_path / "data")
    past = subprocess.run(SOHOA + ["users", "token", "canbo", "--expires", "2020-01-01"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert past.returncode == 2 and "has passed" in past.stderr
    made = subprocess.run(SOHOA + ["users", "token", "canbo", "--expires", "30", "--read-only"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    principal = accounts.token_principal(catalog, made.stdout.strip())
    assert principal is not None and principal.read_only


def test_wrong_tokens_from_one_address_get_429_on_the_api(app):
    client = _client(app)
    answers = [client.get("/api/me", headers={"Authorization": f"Bearer sohoa_doan-{n}"}).status_code
               for n in range(accounts.ADDRESS_FREE + 2)]
    assert answers[:accounts.ADDRESS_FREE - 1] == [401] * (accounts.ADDRESS_FREE - 1)
    assert answers[-1] == 429
    wrong = {"Authorization": "Bearer sohoa_doan-tiep"}
    blocked = client.post("/api/uploads", headers=wrong)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert "thử lại sau" in blocked.json()["message"]
    assert client.get("/api/khong-co", headers=wrong).status_code == 401  # an error page, not a 500


# --- a login flood against a real server: memory measured ------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_sixty_parallel_logins_keep_memory_bounded(tmp_path):
    data = tmp_path / "data"
    make_app(data).state.sohoa.catalog.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_DATA_DIR=str(data), SOHOA_WEB_HASH_CONCURRENCY="2", SOHOA_OCR_ENGINE="null")
    port = _free_port()
    subprocess.run(SOHOA + ["users", "add", "canbo", "--role", "official", "--password-stdin"], env=env,
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True, timeout=60)
    server = subprocess.Popen(SOHOA + ["serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "server did not start"
                time.sleep(0.2)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/dang-nhap")
        answer = connection.getresponse()
        form = answer.read().decode()
        cookie = answer.getheader("set-cookie").split(";")[0]
        token = CSRF_FIELD.search(form).group(1)

        def attempt(name: str, password: str) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            body = urlencode({"username": name, "password": password, "csrf_token": token, "next": "/"})
            conn.request("POST", "/dang-nhap", body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
            status = conn.getresponse().status
            conn.close()
            return status

        assert attempt("canbo", PASSWORD) == 303  # warm: one Argon2 hash has run
        baseline = _peak_rss_mb(server.pid)
        with concurrent.futures.ThreadPoolExecutor(60) as pool:
            statuses = list(pool.map(lambda n: attempt(f"khach-{n}", f"doan-mat-khau-{n}"), range(60)))
        peak = _peak_rss_mb(server.pid)
        assert set(statuses) <= {401, 429, 503} and statuses.count(401) >= 2, statuses
        # Two hashing slots of 64 MiB each: far from 60 × 64 MiB (3.8 GB) however the flood lands.
        assert peak - baseline < 2 * 64 + 120, (baseline, peak)
        assert attempt("canbo", PASSWORD) in (303, 429)  # still answering
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return request.getfixturevalue("postgres_url")


def test_concurrent_failures_are_all_counted(url):
    """Eight first failures at once (the row does not exist yet): none is lost, on SQLite and PostgreSQL."""
    import threading

    from sohoa.archive.catalog import Catalog

    catalog = Catalog(url)
    try:
        threads = [threading.Thread(target=accounts.record_failure, args=(catalog, "can.bo", "10.9.8.7"))
                   for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with catalog.session() as session:
            counts = {row.key: row.failures for row in session.query(LoginThrottle)}
        assert counts == {"user:can.bo": 8, "addr:10.9.8.7": 8}
        assert 0 < accounts.blocked_for(catalog, "can.bo") <= 8 * 60 + 1
        assert accounts.blocked_for(catalog, "khac", "10.9.8.7") == 0  # 8 < the address's 20 free failures
        assert accounts.unlock(catalog, "can.bo") == 1 and accounts.blocked_for(catalog, "can.bo") == 0
    finally:
        catalog.dispose()
