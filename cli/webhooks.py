"""`sohoa webhooks add | list | remove | events | log | deliver | redeliver`: webhooks out (issue #19)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import click

from sohoa.cli.common import open_catalog
from sohoa.core.errors import ExitCode, SohoaError


@click.group()
def webhooks() -> None:
    """Signed events to the one-stop system when a dossier's papers are digitised or reused."""


@webhooks.command("add")
@click.argument("url")
@click.option("--secret-file", type=click.Path(path_type=Path), required=True,
              help="File holding the HMAC-SHA256 secret shared with the receiver (≥ 16 bytes, not readable by others).")
def add(url: str, secret_file: Path) -> None:
    """Send every event to URL (http:// or https://), signed with the secret in --secret-file."""
    from sohoa.hooks import outbox

    endpoint = outbox.add_endpoint(open_catalog(), url, secret_file)
    print(f"webhook {endpoint.id}: {endpoint.url} (secret {endpoint.secret_file})")


@webhooks.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_endpoints(as_json: bool) -> None:
    """The receivers, active or removed."""
    from sohoa.hooks import outbox

    rows = outbox.endpoints(open_catalog())
    if as_json:
        print(json.dumps([{"id": e.id, "url": e.url, "secret_file": e.secret_file, "active": e.active,
                           "created_at": e.created_at.isoformat()} for e in rows], ensure_ascii=False, indent=2))
        return
    for e in rows:
        print(f"{e.id:4}  {'active ' if e.active else 'removed'}  {e.url}  (secret {e.secret_file})")


@webhooks.command("remove")
@click.argument("id_or_url")
def remove(id_or_url: str) -> None:
    """Stop sending to a receiver (its pending deliveries wait: adding the URL again resumes them)."""
    from sohoa.hooks import outbox

    endpoint = outbox.remove_endpoint(open_catalog(), id_or_url)
    print(f"webhook {endpoint.id} removed: {endpoint.url}")


@webhooks.command("events")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def events(limit: int, as_json: bool) -> None:
    """The latest events of the outbox, with their deliveries counted by state."""
    from sohoa.hooks import outbox

    rows = outbox.events(open_catalog(), limit)
    if as_json:
        print(json.dumps([{"id": e.id, "type": e.type, "dossier": e.dossier_code, "record_id": e.record_id,
                           "state": e.state, "created_at": e.created_at.isoformat(), "deliveries": e.deliveries}
                          for e in rows], ensure_ascii=False, indent=2))
        return
    for e in rows:
        counts = ", ".join(f"{state} {n}" for state, n in sorted(e.deliveries.items())) or "no delivery"
        print(f"{e.created_at:%Y-%m-%d %H:%M:%S}  {e.id}  {e.type:24} {e.dossier_code}  {e.state}: {counts}")


@webhooks.command("log")
@click.argument("event_id", required=False)
@click.option("--failed", is_flag=True, help="Only the attempts of deliveries that gave up.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def log(event_id: Optional[str], failed: bool, limit: int, as_json: bool) -> None:
    """The delivery log, newest first: every attempt with its time, HTTP status or error, duration."""
    from sohoa.hooks import outbox

    lines = outbox.log(open_catalog(), event_id, failed, limit)
    if as_json:
        print(json.dumps([{"event_id": l.event_id, "type": l.event_type, "dossier": l.dossier_code, "url": l.url,
                           "delivery": l.state, "at": l.at.isoformat(), "status": l.status_code,
                           "error": l.error, "duration_ms": l.duration_ms} for l in lines],
                         ensure_ascii=False, indent=2))
        return
    for l in lines:
        outcome = l.error or f"HTTP {l.status_code}"
        print(f"{l.at:%Y-%m-%d %H:%M:%S}  {l.event_id}  {l.event_type:24} {l.url}  {outcome}  "
              f"{l.duration_ms} ms  [{l.state}]")


@webhooks.command("deliver")
def deliver() -> None:
    """Attempt every due delivery now, from this process (the workers do it on their own)."""
    _deliver_now()


@webhooks.command("redeliver")
@click.argument("event_id", required=False)
@click.option("--failed", is_flag=True, help="Every delivery that gave up.")
def redeliver(event_id: Optional[str], failed: bool) -> None:
    """Send an event again (to every active receiver), or every failed delivery; attempted at once."""
    from sohoa.hooks import outbox

    if bool(event_id) == failed:
        raise SohoaError("give an EVENT_ID or --failed (not both)", ExitCode.USAGE)
    catalog = open_catalog()
    count = outbox.requeue(catalog, event_id, failed)
    print(f"{count} deliveries queued again")
    _deliver_now(catalog)


def _deliver_now(catalog=None) -> None:
    """Deliver what is due here and say how each attempt went; exit 13 if any did not get through."""
    from sohoa.core.settings import get_settings
    from sohoa.hooks import service

    finished = service.deliver_due(catalog or open_catalog(), get_settings())
    for f in finished:
        outcome = f.error or f"HTTP {f.status_code}"
        later = f"; next attempt in {f.retry_in:g} s" if f.retry_in is not None else ""
        print(f"{f.event_id} → {f.url}: {outcome} ({f.state}{later})")
    if any(f.state != "delivered" for f in finished):
        raise SohoaError("some deliveries did not get through (see `sohoa webhooks log`)", ExitCode.OUTPUT_ERROR)


COMMANDS = [webhooks]
