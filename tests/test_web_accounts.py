"""Accounts, sessions, API tokens and the audit log on SQLite and a real PostgreSQL, and migration
0005 up and down: production runs the web app on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from alembic.config import Config
from sohoa.archive.catalog import Catalog
from sohoa.core.db import MIGRATIONS, make_engine
from sohoa.core.errors import SohoaError
from sohoa.web import accounts, audit
from sohoa.web.models import WebSession
from sqlalchemy import inspect, update

WEB_TABLES = {"users", "web_sessions", "api_tokens", "audit_log"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.servers)])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return request.getfixturevalue("postgres_url")  # a fresh database on the session's cluster (conftest)


def _migrate(url: str, revision: str, down: bool = False) -> None:
    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
    engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migration_0005_up_and_down(url):
    _migrate(url, "0004")
    assert not WEB_TABLES & _tables(url)
    _migrate(url, "0005")
    assert WEB_TABLES <= _tables(url)
    _migrate(url, "0004", down=True)
    assert not WEB_TABLES & _tables(url)
    assert {"records", "jobs", "job_items"} <= _tables(url)


def test_accounts_sessions_tokens_and_audit(url):
    catalog = Catalog(url)
    try:
        user = accounts.add_user(catalog, "Can.Bo", "official", "mat-khau-dai-123", full_name="Lê Văn Cán")
        assert user.username == "can.bo" and user.password_hash.startswith("$argon2id$")
        with pytest.raises(SohoaError, match="already exists"):
            accounts.add_user(catalog, "can.bo", "official", "mat-khau-dai-123")
        with pytest.raises(SohoaError, match="invalid role"):
            accounts.add_user(catalog, "x.y", "boss", "mat-khau-dai-123")
        assert accounts.authenticate(catalog, "CAN.BO", "mat-khau-dai-123").username == "can.bo"
        assert accounts.authenticate(catalog, "can.bo", "sai") is None
        assert accounts.authenticate(catalog, "khong.co", "mat-khau-dai-123") is None

        cookie = accounts.create_session(catalog, user)
        principal = accounts.session_principal(catalog, cookie)
        assert principal.username == "can.bo" and principal.via == "session" and len(principal.csrf_token) > 30
        with catalog.session() as session:  # nothing secret is stored: only the digest of the cookie
            assert session.get(WebSession, cookie) is None
            assert session.get(WebSession, accounts.digest(cookie)) is not None
        accounts.set_password(catalog, "can.bo", "mat-khau-moi-456")
        assert accounts.session_principal(catalog, cookie) is None  # a new password ends open sessions
        expired = accounts.create_session(catalog, user)
        with catalog.session() as session, session.begin():
            session.execute(update(WebSession).values(expires_at=accounts.now() - timedelta(minutes=1)))
        assert accounts.session_principal(catalog, expired) is None

        token = accounts.create_token(catalog, "can.bo", "một cửa")
        assert accounts.token_principal(catalog, token).via == "token"
        assert accounts.token_principal(catalog, token + "x") is None
        assert accounts.list_tokens(catalog, "can.bo")[0].last_used_at is not None
        accounts.set_active(catalog, "can.bo", False)
        assert accounts.token_principal(catalog, token) is None
        assert accounts.authenticate(catalog, "can.bo", "mat-khau-moi-456") is None

        audit.write(catalog, "can.bo", audit.VIEW, "R1", "", "127.0.0.1")
        audit.write(catalog, "can.bo", audit.DOWNLOAD_PDFA, "R1", "pdfa.pdf", "127.0.0.1")
        audit.write(catalog, "khac", audit.VIEW, "R2")
        newest_first = [e.action for e in audit.entries(catalog, username="can.bo")]
        assert newest_first == [audit.DOWNLOAD_PDFA, audit.VIEW]
        assert [e.username for e in audit.entries(catalog, record_id="R2")] == ["khac"]
        assert audit.to_json(audit.entries(catalog, limit=1)[0])["at"].endswith("+00:00")
    finally:
        catalog.dispose()
