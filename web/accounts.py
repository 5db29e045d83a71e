"""Users, passwords, browser sessions and API tokens: the Python API behind `sohoa users` and the login.

- Passwords are hashed with Argon2id (argon2-cffi, its recommended parameters); a hash made with
  older parameters is upgraded at the next successful login.
- A session is a random token in an HttpOnly cookie; only its SHA-256 is stored, next to the CSRF
  token of that session. Logging out, a password change or disabling the user deletes the rows,
  so a copied cookie stops working at once (a signed stateless cookie could not be revoked).
- API tokens (`sohoa_…`) are for machines such as the one-stop system; shown once, stored hashed.
  They expire (90 days unless told otherwise), may be read-only (GET/HEAD), limited to path
  prefixes (`/api/uploads`) and to agencies. A password change revokes every session and token.
- Passwords: at least 12 characters for an admin, 8 for the others, not whitespace only, at least
  4 different characters, not the user name, not on the common-password list (data/).
- Logins are throttled per account and per client address: after a few failures each new failure
  doubles the wait (the `login_throttle` table); an admin lifts it (`sohoa users unlock`).
- Argon2 needs 64 MiB per hash: at most HASH_CONCURRENCY hashes run at once, the others wait (or
  are refused with Busy), so a login flood cannot exhaust memory.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from datetime import UTC, datetime, timedelta
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sohoa.core.db import Database
from sohoa.core import codes
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.hashing import sha256_bytes
from sohoa.web import roles
from sohoa.web.models import ApiToken, LoginThrottle, User, WebSession
from sqlalchemy import case, delete, select, update
from sqlalchemy.exc import IntegrityError

USERNAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD: Final = 8
MIN_ADMIN_PASSWORD: Final = 12
MIN_DISTINCT: Final = 4  # "aaaaaaaa", "abababab" are not passwords
COMMON_PASSWORDS: Final = Path(__file__).resolve().parent / "data" / "common-passwords.txt"
TOKEN_DAYS: Final = 90  # default lifetime of an API token
# Login throttle: this many failures are free, then each one doubles the wait (from BASE_DELAY up
# to the cap). An address is shared by a whole office behind one router: it gets more.
ACCOUNT_FREE: Final = 5
ADDRESS_FREE: Final = 20
BASE_DELAY: Final = 60  # seconds
ACCOUNT_MAX_DELAY: Final = 24 * 3600
ADDRESS_MAX_DELAY: Final = 3600
FAILURE_WINDOW: Final = 24 * 3600  # failures older than this are forgotten
HASH_CONCURRENCY: Final = max(1, min(4, int(os.environ.get("SOHOA_WEB_HASH_CONCURRENCY", "0") or 0)
                                     or (os.cpu_count() or 1)))
HASH_WAIT: Final = 30.0  # seconds a hash may wait for a slot before Busy
SESSION_HOURS: Final = 12  # one office day; staff log in again the next morning
TOKEN_PREFIX: Final = "sohoa_"
TOKEN_TOUCH_SECONDS: Final = 60  # last_used_at is written at most once a minute, not on every call
_HASHER: Final = PasswordHasher()
_HASH_SLOTS: Final = threading.BoundedSemaphore(HASH_CONCURRENCY)


class Busy(SohoaError):
    """Every password-hashing slot stayed taken: the web answers 503 with Retry-After."""

    def __init__(self) -> None:
        super().__init__("the server is busy checking passwords; try again in a moment", ExitCode.REFUSED)


@contextmanager
def _hash_slot():
    if not _HASH_SLOTS.acquire(timeout=HASH_WAIT):
        raise Busy()
    try:
        yield
    finally:
        _HASH_SLOTS.release()


def hash_password(password: str) -> str:
    with _hash_slot():
        return _HASHER.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    with _hash_slot():
        try:
            return _HASHER.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


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
    read_only: bool = False  # a read-only API token: GET/HEAD only
    prefixes: tuple[str, ...] = ()  # a machine token limited to these path prefixes (empty: any)
    token_agencies: tuple[str, ...] = ()  # a machine token limited to these agencies (and below; empty: the user's)
    machine: bool = False  # a machine-role token: the dossier API only, with the machine role's grants

    def can(self, permission: str) -> bool:
        return roles.allows(roles.MACHINE if self.machine else self.role, permission)

    def refusal(self, method: str, path: str) -> str:
        """Why this token may not make this request ("" when it may)."""
        if self.machine and not roles.machine_may_call(path):
            return "Token máy (hệ thống một cửa) chỉ dùng cho các API hồ sơ: /api/dossiers, /api/dossiers/{mã hồ sơ}."
        if self.read_only and method.upper() not in ("GET", "HEAD", "OPTIONS"):
            return "Token chỉ đọc (read-only): không được gửi dữ liệu hay thay đổi gì."
        if self.prefixes and not any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.prefixes):
            return f"Token này chỉ dùng cho: {', '.join(self.prefixes)}."
        return ""

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


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list (one a line, '#' comments): the most common passwords, Vietnamese ones too."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip() and not line.startswith("#"))


def check_password(password: str, role: str | None = None, username: str = "") -> str:
    """The password if the policy accepts it; a one-line usage error naming the rule otherwise."""
    least = MIN_ADMIN_PASSWORD if role == roles.ADMIN else MIN_PASSWORD
    if not password.strip():
        raise SohoaError("password refused: whitespace only", ExitCode.USAGE)
    if len(password) < least:
        who = "an admin" if role == roles.ADMIN else "a user"
        raise SohoaError(f"password too short: at least {least} characters for {who}", ExitCode.USAGE)
    if len(set(password)) < MIN_DISTINCT:
        raise SohoaError(f"password refused: fewer than {MIN_DISTINCT} different characters", ExitCode.USAGE)
    folded = password.strip().casefold()
    if folded in common_passwords() or (username and folded == username.casefold()):
        raise SohoaError("password refused: too common (on the list of passwords tried first)", ExitCode.USAGE)
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
                password_hash=hash_password(check_password(password, role, name)), active=True, created_at=now())
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
    """A new password: every session of the user ends and every API token is revoked."""
    user = require_user(catalog, username)
    new_hash = hash_password(check_password(password, user.role, user.username))
    with catalog.session() as session, session.begin():
        session.execute(update(User).where(User.username == user.username).values(password_hash=new_hash))
        session.execute(delete(WebSession).where(WebSession.username == user.username))
        session.execute(update(ApiToken).where(ApiToken.username == user.username).values(revoked=True))


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
    if not _verify(user.password_hash if user else _DUMMY_HASH, password):
        return None
    if user is None or not user.active:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        new_hash = hash_password(password)
        with catalog.session() as session, session.begin():
            session.execute(update(User).where(User.username == user.username).values(password_hash=new_hash))
    return user


# --- login throttle ------------------------------------------------------------------------------

def _keys(username: str, address: str) -> list[tuple[str, int, int]]:
    """(throttle key, free failures, longest wait) for the account and the client address."""
    keys = [("user:" + username.strip().lower()[:190], ACCOUNT_FREE, ACCOUNT_MAX_DELAY)] if username.strip() else []
    if address:
        keys.append(("addr:" + address[:190], ADDRESS_FREE, ADDRESS_MAX_DELAY))
    return keys


def blocked_for(catalog: Database, username: str, address: str = "") -> int:
    """Seconds until this account may try again from this address (0: now)."""
    keys = [key for key, _, _ in _keys(username, address)]
    with catalog.session() as session:
        rows = list(session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))))
    moment = now()
    waits = [(_aware(row.blocked_until) - moment).total_seconds() for row in rows if row.blocked_until]
    return max([0] + [int(wait) + 1 for wait in waits if wait > 0])


def record_failure(catalog: Database, username: str, address: str = "") -> int:
    """Count a failed login (account and address); returns the wait it imposes now, in seconds."""
    for attempt in range(3):  # two first failures at once both insert the row: the loser counts again
        try:
            return _count_failure(catalog, username, address)
        except IntegrityError:
            if attempt == 2:
                raise
    return 0


def _count_failure(catalog: Database, username: str, address: str) -> int:
    """The count goes up in one UPDATE first: that takes SQLite's write lock (PostgreSQL's row lock)
    before anything is read, so concurrent failures are all counted."""
    longest = 0
    moment = now()
    forget = moment - timedelta(seconds=FAILURE_WINDOW)
    with catalog.session() as session, session.begin():
        for key, free, cap in _keys(username, address):
            counted = session.execute(
                update(LoginThrottle).where(LoginThrottle.key == key)
                .values(failures=case((LoginThrottle.updated_at < forget, 1), else_=LoginThrottle.failures + 1),
                        updated_at=moment)).rowcount
            if not counted:
                session.add(LoginThrottle(key=key, failures=1, blocked_until=None, updated_at=moment))
                session.flush()  # a concurrent first failure makes this an IntegrityError: counted again
            failures = session.scalar(select(LoginThrottle.failures).where(LoginThrottle.key == key))
            wait = min(cap, BASE_DELAY * 2 ** min(failures - free, 30)) if failures >= free else 0
            session.execute(update(LoginThrottle).where(LoginThrottle.key == key).values(
                blocked_until=moment + timedelta(seconds=wait) if wait else None))
            longest = max(longest, wait)
    return longest


def record_success(catalog: Database, username: str) -> None:
    """The account's count starts again (the address keeps its count: one good account must not
    clear the failures an address made against others)."""
    unlock(catalog, username)


def unlock(catalog: Database, username: str | None = None, address: str | None = None) -> int:
    """Lift the login block of an account and/or an address; returns how many blocks were lifted."""
    keys = ([f"user:{username.strip().lower()}"] if username else []) + ([f"addr:{address}"] if address else [])
    with catalog.session() as session, session.begin():
        return session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(keys))).rowcount or 0


def blocked_accounts(catalog: Database) -> dict[str, datetime]:
    """Accounts blocked right now → until when (the admin page shows an unlock button)."""
    with catalog.session() as session:
        rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.startswith("user:"),
                                                           LoginThrottle.blocked_until > now()))
        return {row.key[5:]: _aware(row.blocked_until) for row in rows}


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    retry_after: int = 0  # > 0: refused without checking the password, try again in that many seconds


def login(catalog: Database, username: str, password: str, address: str = "") -> LoginOutcome:
    """A login attempt through the throttle: a blocked account or address is refused before any
    hashing; a failure is counted; a success clears the account's count."""
    wait = blocked_for(catalog, username, address)
    if wait:
        return LoginOutcome(None, wait)
    user = authenticate(catalog, username, password)
    if user is None:
        record_failure(catalog, username, address)
        return LoginOutcome(None)
    record_success(catalog, user.username)
    return LoginOutcome(user)


def _principal(user: User, via: str, csrf: str = "", token: ApiToken | None = None) -> Principal:
    if token is None:
        return Principal(user.username, user.full_name, user.role, user.agency_code, via, csrf)
    return Principal(user.username, user.full_name, user.role, user.agency_code, via, csrf,
                     read_only=bool(token.read_only), prefixes=tuple((token.prefixes or "").split()),
                     token_agencies=tuple((token.agencies or "").split()), machine=bool(token.machine))


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


def _check_prefix(prefix: str) -> str:
    text = prefix.strip()
    if not re.fullmatch(r"/[A-Za-z0-9._~/-]*", text) or "//" in text or "/../" in text + "/":
        raise SohoaError(f"invalid endpoint prefix {prefix!r}: a path such as /api/uploads", ExitCode.USAGE)
    return text.rstrip("/") or "/"


def _check_agencies(catalog: Database, user: User, given: list[str]) -> list[str]:
    from sohoa.ratios.agencies import subordinates

    wanted = [codes.agency_code(code) for code in given]
    if user.role != roles.ADMIN:
        allowed = set(subordinates(catalog, user.agency_code)) if user.agency_code else set()
        outside = [code for code in wanted if code not in allowed]
        if outside:
            raise SohoaError(f"agency {outside[0]} is outside {user.username}'s own agency and those below it",
                             ExitCode.REFUSED)
    return wanted


def create_token(catalog: Database, username: str, label: str = "", *, days: int | None = TOKEN_DAYS,
                 expires_at: datetime | None = None, read_only: bool = False, prefixes: list[str] | tuple = (),
                 agencies: list[str] | tuple = (), machine: bool = False) -> str:
    """A new API token for the user; the returned text is shown once and never stored.

    It expires after `days` (None: never) or at `expires_at`; `read_only`: GET/HEAD only;
    `prefixes`: the endpoints it may call; `agencies`: the agencies (and those below) it may see;
    `machine`: the one-stop system's token, the dossier API only, with the machine role (needs agencies)."""
    user = require_user(catalog, username)
    if machine and not agencies:
        raise SohoaError("a machine token needs --agency: the agencies whose dossiers it may send and read",
                         ExitCode.USAGE)
    if machine and (prefixes or read_only):
        raise SohoaError("a machine token is limited to the dossier API already: no --prefix or --read-only",
                         ExitCode.USAGE)
    if expires_at is None and days is not None:
        if days <= 0:
            raise SohoaError("token lifetime must be at least one day", ExitCode.USAGE)
        expires_at = now() + timedelta(days=days)
    paths = [_check_prefix(p) for p in prefixes]
    limited = _check_agencies(catalog, user, list(agencies))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with catalog.session() as session, session.begin():
        session.add(ApiToken(token_hash=digest(token), username=user.username, label=label.strip()[:100],
                             created_at=now(), revoked=False, expires_at=expires_at, read_only=read_only,
                             prefixes=" ".join(paths), agencies=" ".join(limited), machine=machine))
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
        if row is None or row.revoked or (row.expires_at is not None and _aware(row.expires_at) <= now()):
            return None
        user = session.get(User, row.username)
        if user is None or not user.active:
            return None
        used = row.last_used_at
        stale = used is None or (now() - _aware(used)).total_seconds() > TOKEN_TOUCH_SECONDS
        principal = _principal(user, "token", token=row)
    if stale:
        with catalog.session() as session, session.begin():
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now()))
    return principal


def notices_seen(catalog: Database, username: str) -> datetime | None:
    """Up to when the user has seen their notifications (issue #18, migration 0010); None: never."""
    with catalog.session() as session:
        seen = session.scalar(select(User.notices_seen_at).where(User.username == username))
    return _aware(seen) if seen else None


def mark_notices_seen(catalog: Database, username: str, up_to: datetime) -> None:
    """Move the user's "seen up to" marker forward (never back)."""
    with catalog.session() as session, session.begin():
        user = session.get(User, username)
        if user is not None and (user.notices_seen_at is None or _aware(user.notices_seen_at) < up_to):
            user.notices_seen_at = up_to
