"""Deliver: claim a due delivery, sign and post it, log the attempt. What every driver calls.

Drivers (workers/webhooks.py): a Celery task per delivery (production, retried with backoff by
sending itself again), Celery beat's sweep, the embedded system's loop, and `sohoa webhooks
deliver | redeliver` in the CLI. Any of them may run at the same time: a lease keeps a delivery to
one of them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sohoa.archive.catalog import Catalog
from sohoa.core.errors import SohoaError
from sohoa.core.settings import Settings
from sohoa.hooks import delivery, outbox

log = logging.getLogger("sohoa.webhooks")


def attempt(claimed: outbox.Claimed, settings: Settings) -> delivery.AttemptResult:
    """One signed POST of a claimed delivery (a secret that cannot be read is a failed attempt)."""
    try:
        secret = delivery.read_secret(claimed.secret_file)
    except SohoaError as error:
        return delivery.AttemptResult(None, error.message, 0)
    sent = delivery.headers(claimed.event_id, claimed.event_type, claimed.body, secret, claimed.attempt)
    return delivery.post(claimed.url, claimed.body, sent, settings.webhook_timeout)


def deliver_one(catalog: Catalog, delivery_id: int, settings: Settings,
                now: datetime | None = None) -> outbox.Finished | None:
    """Attempt one delivery if it is due and nobody holds it; how it ended, or None."""
    claimed = outbox.claim(catalog, delivery_id, settings.webhook_timeout + outbox.LEASE_SLACK, now)
    if claimed is None:
        return None
    finished = outbox.finish(catalog, claimed, attempt(claimed, settings), settings)
    if finished.state != outbox.DELIVERED:
        log.warning("webhook %s → %s: attempt %d: %s%s", finished.event_id, finished.url, finished.attempt,
                    finished.error or finished.status_code,
                    f"; next in {finished.retry_in:g} s" if finished.retry_in is not None else "; gave up")
    return finished


def deliver_due(catalog: Catalog, settings: Settings, limit: int = 100) -> list[outbox.Finished]:
    """Make the deliveries of committed events, then attempt the due ones here, in turn. A receiver
    that gave no answer (refused, timed out) is not tried again in this round: one attempt per round
    finds out whether it is back, and a round never waits `timeout` seconds per queued event."""
    outbox.fan_out(catalog)
    done: list[outbox.Finished] = []
    unreachable: set[str] = set()
    for delivery_id in outbox.due(catalog, limit=limit):
        if outbox.receiver_of(catalog, delivery_id) in unreachable:
            continue
        finished = deliver_one(catalog, delivery_id, settings)
        if finished is None:
            continue
        done.append(finished)
        if finished.status_code is None:
            unreachable.add(finished.url)
    return done
