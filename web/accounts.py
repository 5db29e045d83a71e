"""Users, passwords, browser sessions and API tokens: the Python API behind `sohoa users` and the login.

- Passwords are hashed with Argon2id (argon2-cffi, its recommended parameters); a hash made with
  older parameters is upgraded at the next successful login.
- A session is a random token in an HttpOnly cookie; only its SHA-256 is stored, next to the CSRF
  token of that session. Logging out, a password change or disabling the user deletes the rows,
  so a copied cookie stops working at once (a signed stateless cookie could not be revoked).
- API tokens (`sohoa_…`) are for machines such as the one-stop system; shown once, stored hashed.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sohoa.core.db import Database
from sohoa.core import codes
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.hashing import sha256_bytes
from sohoa.web import roles
from sohoa.web.models import ApiToken, User, WebSession
from sqlalchemy import delete, select, update

USERNAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD: Final = 8
SESSION_HOURS: Final = 12  # one office day; staff log in again the next morning
TOKEN_PREFIX: Final = "sohoa_"
TOKEN_TOUCH_SECONDS: Final = 60  # last_used_at is written at most once a minute, not on every call
_HASHER: Final = PasswordHasher()
# Verifying against this when the user does not exist takes as long as a real check, so the
# response time does not tell an attacker which user names exist.
_DUMMY_HASH: Final = _HASHER.hash("sohoa-no-such-user")


@dataclass(frozen=True)
class Principal:
    """Who is making a request: the user and how they proved it (a session cookie or an API token)."""

    username: str
    full_name: str
    role: str
    agency_code: str | None
    via: str  # "session" | "token"
    csrf_token: str = ""

    def can(self, permission: str) -> bool:
        return roles.allows(self.role, permission)

    @property
    def display(self) -> str:
        return self.full_name or self.username


def now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite returns naive UTC


def digest(token: str) -> str:
    return sha256_bytes(token.encode("utf-8"))


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise SohoaError(f"invalid user name {username!r}: 2-64 characters a-z, 0-9, '.', '_' or '-'",
                         ExitCode.USAGE)
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise SohoaError(f"password too short: at least {MIN_PASSWORD} characters", ExitCode.USAGE)
    return password


def check_role(role: str, agency: str | None) -> tuple[str, str | None]:
    if role not in roles.ROLES:
        raise SohoaError(f"invalid role {role!r}: choose from {', '.join(roles.ROLES)}", ExitCode.USAGE)
    agency = codes.agency_code(agency) if agency else None
    if role == roles.SCANNER and agency is None:
        raise SohoaError("a scanner needs --agency: they upload for their own agency only", ExitCode.USAGE)
    return role, agency


def add_user(catalog: Database, username: str, role: str, password: str, agency: str | None = None,
             full_name: str = "") -> User:
    name = check_username(username)
    role, agency = check_role(role, agency)
    user = User(username=name, full_name=full_name.strip(), role=role, agency_code=agency,
                password_hash=_HASHER.hash(check_password(password)), active=True, created_at=now())
    with catalog.session() as session, session.begin():
        if session.get(User, name) is not None:
            raise SohoaError(f"user {name!r} already exists", ExitCode.REFUSED)
        session.add(user)
    return user


def get_user(catalog: Database, username: str) -> User | None:
    with catalog.session() as session:
        return session.get(User, username.strip().lower())


def require_user(catalog: Database, username: str) -> User:
    user = get_user(catalog, username)
    if user is None:
        raise SohoaError(f"no user {username!r} (see `sohoa users list`)", ExitCode.NOT_FOUND)
    return user


def list_users(catalog: Database) -> list[User]:
    with catalog.session() as session:
        return list(session.scalars(select(User).order_by(User.username)))


def set_password(catalog: Database, username: str, password: str) -> None:
    user = require_user(catalog, username)
    with catalog.session() as session, session.begin():
        session.execute(update(User).where(User.username == user.username)
                        .values(password_hash=_HASHER.hash(check_password(password))))
        session.execute(delete(WebSession).where(WebSession.username == user.username))


def set_active(catalog: Database, username: str, active: bool) -> None:
    """Disable (or enable again) a user; disabling ends their sessions and revokes their tokens."""
    user = require_user(catalog, username)
    with catalog.session() as session, session.begin():
        session.execute(update(User).where(User.username == user.username).values(active=active))
        if not active:
            session.execute(delete(WebSession).where(WebSession.username == user.username))
            session.execute(update(ApiToken).where(ApiToken.username == user.username).values(revoked=True))


def authenticate(catalog: Database, username: str, password: str) -> User | None:
    """The user if the password is right and the account active; None otherwise (never says which)."""
    try:
        name = check_username(username)
    except SohoaError:
        name = ""
    user = get_user(catalog, name) if name else None
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        with catalog.session() as session, session.begin():
            session.execute(update(User).where(User.username == user.username)
                            .values(password_hash=_HASHER.hash(password)))
    return user


def _principal(user: User, via: str, csrf: str = "") -> Principal:
    return Principal(user.username, user.full_name, user.role, user.agency_code, via, csrf)


def create_session(catalog: Database, user: User) -> str:
    """A new session for a logged-in user; returns the cookie value (the only copy of the token)."""
    token = secrets.token_urlsafe(32)
    with catalog.session() as session, session.begin():
        session.execute(delete(WebSession).where(WebSession.expires_at < now()))
        session.add(WebSession(token_hash=digest(token), username=user.username,
                               csrf_token=secrets.token_urlsafe(32), created_at=now(),
                               expires_at=now() + timedelta(hours=SESSION_HOURS)))
    return token


def session_principal(catalog: Database, token: str) -> Principal | None:
    with catalog.session() as session:
        row = session.get(WebSession, digest(token))
        if row is None or _aware(row.expires_at) < now():
            return None
        user = session.get(User, row.username)
        if user is None or not user.active:
            return None
        return _principal(user, "session", row.csrf_token)


def end_session(catalog: Database, token: str) -> None:
    with catalog.session() as session, session.begin():
        session.execute(delete(WebSession).where(WebSession.token_hash == digest(token)))


def create_token(catalog: Database, username: str, label: str = "") -> str:
    """A new API token for the user; the returned text is shown once and never stored."""
    user = require_user(catalog, username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with catalog.session() as session, session.begin():
        session.add(ApiToken(token_hash=digest(token), username=user.username, label=label.strip()[:100],
                             created_at=now(), revoked=False))
    return token


def list_tokens(catalog: Database, username: str | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if username:
        query = query.where(ApiToken.username == username)
    with catalog.session() as session:
        return list(session.scalars(query))


def revoke_token(catalog: Database, token_id: int) -> None:
    with catalog.session() as session, session.begin():
        if session.get(ApiToken, token_id) is None:
            raise SohoaError(f"no API token #{token_id}", ExitCode.NOT_FOUND)
        session.execute(update(ApiToken).where(ApiToken.id == token_id).values(revoked=True))


def token_principal(catalog: Database, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    with catalog.session() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
        if row is None or row.revoked:
            return None
        user = session.get(User, row.username)
        if user is None or not user.active:
            return None
        used = row.last_used_at
        stale = used is None or (now() - _aware(used)).total_seconds() > TOKEN_TOUCH_SECONDS
        principal = _principal(user, "token")
    if stale:
        with catalog.session() as session, session.begin():
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now()))
    return principal
