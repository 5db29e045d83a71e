"""`sohoa users`, `sohoa audit` and `sohoa serve` through the real command."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import SOHOA


def _env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env["SOHOA_DATA_DIR"] = str(tmp_path / "data")
    return env


def sohoa(env: dict, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(SOHOA + list(args), env=env, capture_output=True, text=True, timeout=120, check=False,
                          input=None if password is None else password + "\n")


def test_users_add_list_token_and_errors(tmp_path):
    env = _env(tmp_path)
    added = sohoa(env, "users", "add", "quet.hoa", "--role", "scanner", "--agency", "000.00.12.H36",
                  "--full-name", "Trần Thị Hoa", "--password-stdin", password="mat-khau-rat-dai")
    assert added.returncode == 0, added.stderr
    assert "user quet.hoa added: scanner of 000.00.12.H36" in added.stdout
    listed = json.loads(sohoa(env, "users", "list", "--json").stdout)
    assert listed == [{"username": "quet.hoa", "full_name": "Trần Thị Hoa", "role": "scanner",
                       "agency_code": "000.00.12.H36", "active": True}]
    token = sohoa(env, "users", "token", "quet.hoa", "--label", "máy quét").stdout.strip()
    assert token.startswith("sohoa_") and len(token) > 40
    again = sohoa(env, "users", "add", "quet.hoa", "--role", "official", "--password-stdin", password="mat-khau-khac-1")
    assert again.returncode == 18 and "already exists" in again.stderr
    no_agency = sohoa(env, "users", "add", "quet.x", "--role", "scanner", "--password-stdin", password="12345678")
    assert no_agency.returncode == 2 and "needs --agency" in no_agency.stderr
    short = sohoa(env, "users", "add", "ngan", "--role", "official", "--password-stdin", password="ngan")
    assert short.returncode == 2 and "too short" in short.stderr
    assert sohoa(env, "users", "disable", "khong-co").returncode == 17
    assert "Traceback" not in no_agency.stderr + short.stderr + again.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_over_http_and_views_reach_sohoa_audit(tmp_path):
    env = _env(tmp_path)
    assert sohoa(env, "users", "add", "canbo", "--role", "official", "--password-stdin",
                 password="mat-khau-rat-dai").returncode == 0
    port = _free_port()
    server = subprocess.Popen(SOHOA + ["serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/dang-nhap", timeout=5) as answer:
                    page = answer.read().decode("utf-8")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"sohoa serve did not answer: {server.communicate(timeout=10)}")
                time.sleep(0.3)
        assert "Đăng nhập" in page
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/api/search?q=dat", timeout=5)
        assert refused.value.code == 401
        token = sohoa(env, "users", "token", "canbo").stdout.strip()
        request = urllib.request.Request(f"{base}/api/kho/001204012345", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.loads(answer.read())["groups"] == {}
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert f"http://localhost:{port}/" in out
    assert "Traceback" not in err
    entries = json.loads(sohoa(env, "audit", "--json").stdout)
    assert [(e["username"], e["action"], e["detail"]) for e in entries if e["action"] == "kho"] == [
        ("canbo", "kho", "owner 001204012345")]
    text = sohoa(env, "audit", "--user", "canbo")
    assert text.returncode == 0 and "kho" in text.stdout
    assert sohoa(env, "audit", "--since", "hôm qua").returncode == 2


def _wait_http(url: str, process: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.read().decode("utf-8")
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no answer from {url}: {process.communicate(timeout=30)}")
            time.sleep(0.3)


@pytest.mark.servers  # the embedded broker, the workers and the web app
def test_sohoa_run_starts_the_web_app_as_a_third_process(tmp_path):
    import signal

    env = _env(tmp_path)
    env.update(SOHOA_WEB_PORT=str(_free_port()), SOHOA_JOBS="1")
    process = subprocess.Popen([sys.executable, "-m", "sohoa", "run"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        page = _wait_http(f"http://127.0.0.1:{env['SOHOA_WEB_PORT']}/dang-nhap", process, 90)
        assert "Đăng nhập" in page
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    # The first run's few lines: where things are, the full path of `sohoa`, how to make the first admin;
    # the Celery banner and the access log go to data/logs/, not the terminal.
    assert f"web app        http://localhost:{env['SOHOA_WEB_PORT']}/" in out
    assert f"sohoa command  {Path(sys.executable).parent / 'sohoa'}" in out and "users add quantri --role admin" in out
    assert "celery@" not in out + err and len(out.splitlines()) < 15, out
    assert "Traceback" not in err
    assert (tmp_path / "data" / "logs" / "worker.log").stat().st_size > 0
