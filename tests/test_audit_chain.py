"""The audit log is complete and tamper-evident (issue #13 item 3): one row per response that carries
personal data (search hits, suggest, thumbnails, Kho, record lists), hash-chained rows that
`sohoa audit --verify` checks (an edited, deleted or truncated row is named, exit 16), no fork
under concurrent writers, and `sohoa audit` output that a forged user name cannot split."""

from __future__ import annotations

import os
import subprocess
import threading

import pytest
from alembic import command
from alembic.config import Config
from conftest import SOHOA
from fastapi.testclient import TestClient
from sohoa.archive.catalog import Catalog
from sohoa.core.db import MIGRATIONS, make_engine
from sohoa.ratios import agencies
from sohoa.ratios.csvinput import rows
from sohoa.web import accounts, audit
from sqlalchemy import text
from web_fixtures import AGENCIES_CSV, AGENCY_A, CSRF_FIELD, DOSSIER, OWNER, PASSWORD, ingest_scan, login, make_app


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return request.getfixturevalue("postgres_url")


def _sohoa(data_dir, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env["SOHOA_DATA_DIR"] = str(data_dir)
    return subprocess.run(SOHOA + list(args), env=env, capture_output=True, text=True, timeout=120, check=False)


def _sql(catalog, statement: str) -> None:
    with catalog.engine.begin() as connection:
        connection.execute(text(statement))


def test_concurrent_writers_keep_one_chain_and_tampering_is_named(url):
    catalog = Catalog(url)
    try:
        def writer(n: int) -> None:
            for i in range(15):
                audit.write(catalog, f"can.bo{n}", audit.VIEW, f"R{n}-{i}", "", "10.0.0.1",
                            records=[f"R{n}-{i}"], dossier=DOSSIER)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        result = audit.verify(catalog)
        assert result.ok and result.checked == 90, result  # six writers at once: still one chain

        original = [e for e in audit.entries(catalog, limit=200) if e.id == 40][0].username
        _sql(catalog, "UPDATE audit_log SET username = 'ai-do' WHERE id = 40")  # an edited row
        broken = audit.verify(catalog)
        assert not broken.ok and broken.broken_id == 40 and "altered" in broken.problem
        _sql(catalog, f"UPDATE audit_log SET username = '{original}' WHERE id = 40")
        assert audit.verify(catalog).ok

        _sql(catalog, "DELETE FROM audit_log WHERE id = 41")  # a deleted row: its successor names it
        broken = audit.verify(catalog)
        assert broken.broken_id == 42 and "deleted" in broken.problem and "#40" in broken.problem

        _sql(catalog, "DELETE FROM audit_log WHERE id >= 41")  # rows cut from the end: the head row knows
        broken = audit.verify(catalog)
        assert broken.broken_id == 90 and "deleted from the end" in broken.problem
    finally:
        catalog.dispose()


def test_migration_0008_chains_the_rows_written_before_it(url):
    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
    with engine.begin() as connection:
        for n in range(3):
            connection.execute(text("INSERT INTO audit_log (at, username, action, record_id, detail, client) "
                                    "VALUES (:at, :u, 'view', :r, '', '127.0.0.1')"),
                               {"at": accounts.now(), "u": f"cu{n}", "r": f"R{n}"})
    engine.dispose()
    catalog = Catalog(url)  # migrates to the head
    try:
        assert audit.verify(catalog).checked == 3 and audit.verify(catalog).ok
        audit.write(catalog, "moi", audit.VIEW, "R9")
        assert audit.verify(catalog).ok and audit.verify(catalog).checked == 4
    finally:
        catalog.dispose()


def test_sohoa_audit_verify_and_escaped_output(tmp_path):
    data = tmp_path / "data"
    app = make_app(data)
    catalog = app.state.sohoa.catalog
    with TestClient(app) as client:  # the attacker: a user name with a newline forging a second line
        form = client.get("/dang-nhap")
        forged = "x\n2026-01-01 08:00:00  quantri          view   R-GIA  \x1b[2K"
        response = client.post("/dang-nhap", data={"username": forged, "password": "sai-mat-khau",
                                                   "csrf_token": CSRF_FIELD.search(form.text).group(1)})
        assert response.status_code == 401
    listed = _sohoa(data, "audit")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 1 and "\\x0a2026-01-01" in lines[0] and "\\x1b[2k" in lines[0] and "\x1b" not in listed.stdout
    assert _sohoa(data, "audit", "--verify").stdout.strip() == "audit log intact: 1 rows, hash chain verified"
    for n in range(3):
        audit.write(catalog, "canbo", audit.VIEW, f"R{n}")
    _sql(catalog, "UPDATE audit_log SET detail = 'sua' WHERE id = 3")
    verified = _sohoa(data, "audit", "--verify")
    assert verified.returncode == 16 and len(verified.stderr.strip().splitlines()) == 1
    assert "audit row #3" in verified.stderr and "Traceback" not in verified.stderr
