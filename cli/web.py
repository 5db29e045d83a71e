"""`sohoa serve | users | audit`: the web app, its user accounts and the audit log (issue #7)."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime

import click

from sohoa.cli.common import open_catalog
from sohoa.core.errors import ExitCode, SohoaError


def _password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise SohoaError("no password on standard input", ExitCode.USAGE)
        return line
    return click.prompt("Mật khẩu (password)", hide_input=True, confirmation_prompt=True)


@click.command()
@click.option("--host", default=None, help="Address to listen on [SOHOA_WEB_HOST, default 127.0.0.1].")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port [SOHOA_WEB_PORT, default 8000].")
def serve(host: str | None, port: int | None) -> None:
    """Run the web app and REST API (OpenAPI at /docs)."""
    import logging

    import uvicorn
    from sohoa.core.settings import get_settings
    from sohoa.web.app import create_app
    from sohoa.web.config import WebConfig

    config = WebConfig.from_env()
    config = config.model_copy(update={k: v for k, v in (("host", host), ("port", port)) if v is not None})
    app = create_app(get_settings(), config)
    logging.getLogger("sohoa.web").setLevel(logging.INFO)
    from sohoa.web import accounts

    if not accounts.list_users(app.state.sohoa.catalog):
        print("sohoa serve: no users yet: create one with `sohoa users add NAME --role admin`", file=sys.stderr)
    _check_free(config.host, config.port)
    shown = "localhost" if config.host in ("0.0.0.0", "127.0.0.1", "::") else config.host
    print(f"sohoa serve: http://{shown}:{config.port}/ (API docs at /docs); Ctrl-C stops.", flush=True)
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning",
                proxy_headers=bool(config.trusted_proxies), forwarded_allow_ips=config.trusted_proxies or None)


def _check_free(host: str, port: int) -> None:
    """One clear line instead of uvicorn's log when another program holds the port."""
    import errno
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else str(exc)
        raise SohoaError(f"cannot listen on {host}:{port} ({reason}): choose another --port or SOHOA_WEB_PORT",
                         ExitCode.USAGE) from None


@click.group()
def users() -> None:
    """Web users: scanner, official, leader, admin; API tokens for machines."""


@users.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["scanner", "official", "leader", "admin"]))
@click.option("--agency", help="Agency code (required for a scanner: they upload for it and its subordinates).")
@click.option("--full-name", "--name", "full_name", default="", help="The full name pages show instead of the login.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def users_add(username: str, role: str, agency: str | None, full_name: str, password_stdin: bool) -> None:
    """Create a user (the password is asked for, or read with --password-stdin)."""
    from sohoa.web import accounts

    catalog = open_catalog()
    accounts.check_username(username)
    accounts.check_role(role, agency)  # refuse before asking for a password
    user = accounts.add_user(catalog, username, role, _password(password_stdin), agency, full_name)
    print(f"user {user.username} added: {user.role}{' of ' + user.agency_code if user.agency_code else ''}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
def users_list(as_json: bool) -> None:
    """Users with their role, agency and state."""
    from sohoa.web import accounts

    rows = [{"username": u.username, "full_name": u.full_name, "role": u.role, "agency_code": u.agency_code,
             "active": u.active} for u in accounts.list_users(open_catalog())]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        state = "" if row["active"] else "  (disabled)"
        print(f"{row['username']:24} {row['role']:9} {row['agency_code'] or '-':16} {row['full_name']}{state}")


@users.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_passwd(username: str, password_stdin: bool) -> None:
    """Set a new password (ends the user's open sessions and revokes their API tokens)."""
    from sohoa.web import accounts

    catalog = open_catalog()
    accounts.require_user(catalog, username)
    accounts.set_password(catalog, username, _password(password_stdin))
    print(f"password of {username} changed")


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable a user: their sessions end and their API tokens are revoked."""
    from sohoa.web import accounts

    accounts.set_active(open_catalog(), username, False)
    print(f"user {username} disabled")


@users.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """Enable a disabled user again (revoked tokens stay revoked)."""
    from sohoa.web import accounts

    accounts.set_active(open_catalog(), username, True)
    print(f"user {username} enabled")


def _expiry(text: str):
    """--expires: a number of days, a day YYYY-MM-DD (the token works until it starts), or 'never'."""
    from datetime import UTC

    value = text.strip().lower()
    if value == "never":
        return None, None
    if value.rstrip("d").isdigit():
        return int(value.rstrip("d")), None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise SohoaError(f"invalid --expires {text!r}: days (90), a day YYYY-MM-DD or 'never'", ExitCode.USAGE) from None
    from sohoa.web.state import VIETNAM

    at = datetime.combine(day, datetime.min.time(), tzinfo=VIETNAM).astimezone(UTC)
    if at <= datetime.now(UTC):
        raise SohoaError(f"invalid --expires {text!r}: that day has passed", ExitCode.USAGE)
    return None, at


@users.command("token")
@click.argument("username")
@click.option("--label", default="", help="What the token is for, e.g. 'one-stop system'.")
@click.option("--expires", default="90", show_default=True, help="Days it is valid, a day YYYY-MM-DD, or 'never'.")
@click.option("--read-only", is_flag=True, help="GET/HEAD only: it cannot upload, reuse or change anything.")
@click.option("--prefix", "prefixes", multiple=True, help="Only these endpoints (path prefix, e.g. /api/uploads); repeatable.")
@click.option("--agency", "agencies", multiple=True, help="Only these agencies (and those below); repeatable.")
@click.option("--machine", is_flag=True,
              help="A machine-role token (the one-stop system): the dossier API only; needs --agency.")
def users_token(username: str, label: str, expires: str, read_only: bool, prefixes: tuple, agencies: tuple,
                machine: bool) -> None:
    """Create an API token for the user and print it (it is shown this once)."""
    from sohoa.web import accounts

    days, at = _expiry(expires)
    print(accounts.create_token(open_catalog(), username, label, days=days, expires_at=at, read_only=read_only,
                                prefixes=list(prefixes), agencies=list(agencies), machine=machine))


@users.command("unlock")
@click.argument("username", required=False)
@click.option("--address", help="Also (or only) lift the block of this client address.")
def users_unlock(username: str | None, address: str | None) -> None:
    """Lift a login block (too many wrong passwords) of a user and/or a client address."""
    from sohoa.web import accounts, audit as audit_log

    if not username and not address:
        raise SohoaError("name a user or give --address", ExitCode.USAGE)
    catalog = open_catalog()
    if username:
        accounts.require_user(catalog, username)
    lifted = accounts.unlock(catalog, username, address)
    what = " and ".join(x for x in (username and f"user {username}", address and f"address {address}") if x)
    audit_log.write(catalog, "cli", audit_log.UNLOCK, None, what, "cli")
    print(f"{what}: {'login block lifted' if lifted else 'was not blocked'}")


@users.command("revoke-token")
@click.argument("token_id", type=int)
def users_revoke_token(token_id: int) -> None:
    """Revoke an API token by its number (see the admin page)."""
    from sohoa.web import accounts

    accounts.revoke_token(open_catalog(), token_id)
    print(f"token #{token_id} revoked")


@click.command()
@click.option("--user", "username", help="Only this user's entries.")
@click.option("--record", "record_id", help="Only entries about this record id.")
@click.option("--action", help="Only this action (view, view-pdf, download-pdfa, download-original, kho, reuse, "
                                "upload, search, suggest, thumbnail, list, login, login-failed, login-blocked, "
                                "logout, admin, unlock).")
@click.option("--since", help="Only entries on or after this day YYYY-MM-DD.")
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--verify", is_flag=True, help="Check the hash chain of the whole log: exit 16 naming the first "
                                              "edited or deleted row.")
def audit(username, record_id, action, since, limit, as_json, verify) -> None:
    """The audit log, newest first: who viewed or downloaded which record, and when.

    Control characters in the fields are shown escaped (\\n, \\x1b): one entry is one line."""
    from sohoa.web import audit as audit_log
    from sohoa.web.state import VIETNAM

    if verify:
        result = audit_log.verify(open_catalog())
        if not result.ok:
            raise SohoaError(audit_log.printable(result.problem), ExitCode.FIXITY_FAILED)
        print(f"audit log intact: {result.checked} rows, hash chain verified")
        return

    start = None
    if since:
        try:
            start = datetime.combine(date.fromisoformat(since), datetime.min.time(), tzinfo=VIETNAM)
        except ValueError:
            raise SohoaError(f"invalid --since {since!r}: expected YYYY-MM-DD", ExitCode.USAGE) from None
    rows = [audit_log.to_json(e) for e in audit_log.entries(open_catalog(), username, record_id, action, start, limit)]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    show = audit_log.printable
    for row in rows:
        at = datetime.fromisoformat(row["at"]).astimezone(VIETNAM)  # office time, as the pages show it
        shown = row["record_id"] or (f"{len(row['records'])} records" if row["records"] else "-")
        why = f" [dossier {row['dossier']}]" if row["dossier"] else ""
        print(f"{at:%Y-%m-%d %H:%M:%S}  {show(row['username']):16} {show(row['action']):18} {show(shown):26} "
              f"{show(row['detail'])}{show(why)}  {show(row['client'])}".rstrip())


COMMANDS = [serve, users, audit]
