"""The webhook drivers: Celery tasks on their own queue, Celery beat's sweep, and the embedded loop.

The delivery itself (claim, sign, post, log, backoff) is hooks/service.py; here it is only driven,
on the model of the scheduled fixity (workers/schedule.py):
- production: a record stored by a worker sends `sohoa.webhooks_sweep` at once (`kick`); the sweep
  makes the deliveries of committed events and sends one `sohoa.webhook_deliver` task per due
  delivery on the `webhooks` queue. A failed attempt sends its task again after the backoff (short
  ones, up to CHAIN_AT_MOST seconds; longer ones wait for the sweep). Celery beat (`sohoa worker
  --beat`, one node) sends the sweep every `SOHOA_WEBHOOK_POLL` seconds, so an event emitted
  outside a worker (a reuse on the web, `sohoa ingest`) or a retry whose message died is still sent;
- the embedded system (`sohoa run`): the hot folder's loop calls the supervisor's `tend`, which
  ticks a `WebhookLoop`; every `SOHOA_WEBHOOK_POLL` seconds it delivers what is due in a
  background thread, so a slow receiver never holds up the inbox.
All drivers may run at once: a lease keeps each delivery to one of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar, Final

from celery import shared_task

from sohoa.archive.catalog import Catalog
from sohoa.core.settings import Settings, get_settings
from sohoa.hooks import outbox, service
from sohoa.workers.names import WEBHOOK_QUEUE
from sohoa.workers.schedule import Ticked

SWEEP_TASK: Final = "sohoa.webhooks_sweep"
DELIVER_TASK: Final = "sohoa.webhook_deliver"
CHAIN_AT_MOST: Final = 300.0  # seconds: a longer backoff is left to the sweep, not held as a countdown message
log = logging.getLogger("sohoa.webhooks")


def _catalog() -> Catalog:
    from sohoa.workers.tasks import archive

    return archive().catalog


@shared_task(name=SWEEP_TASK, ignore_result=True, queue=WEBHOOK_QUEUE)
def sweep() -> int:
    """Deliveries for committed events, and a task for every delivery due now."""
    catalog = _catalog()
    outbox.fan_out(catalog)
    ids = outbox.due(catalog)
    for delivery_id in ids:
        deliver.apply_async(kwargs={"delivery_id": delivery_id}, queue=WEBHOOK_QUEUE)
    return len(ids)


@shared_task(name=DELIVER_TASK, ignore_result=True, queue=WEBHOOK_QUEUE)
def deliver(delivery_id: int) -> str | None:
    """One attempt of one delivery (a no-op if it is not due or another driver holds it)."""
    settings = get_settings()
    finished = service.deliver_one(_catalog(), delivery_id, settings)
    if finished is None:
        return None
    if finished.retry_in is not None and finished.retry_in <= CHAIN_AT_MOST:
        deliver.apply_async(kwargs={"delivery_id": delivery_id}, queue=WEBHOOK_QUEUE, countdown=finished.retry_in)
    return finished.state


def kick(catalog: Catalog) -> None:
    """After a worker committed a record: sweep now if the outbox holds anything (one query)."""
    try:
        if outbox.has_work(catalog):
            sweep.apply_async(queue=WEBHOOK_QUEUE)
    except Exception:  # noqa: BLE001 - the record is stored; beat or the loop delivers its event
        log.exception("cannot send the webhook sweep; the next sweep delivers")


def beat_entry(settings: Settings) -> dict:
    """Celery beat's entry (workers/app.py)."""
    return {"sohoa-webhooks-sweep": {"task": SWEEP_TASK, "schedule": settings.webhook_poll,
                                     "options": {"queue": WEBHOOK_QUEUE}}}


@dataclass
class WebhookLoop(Ticked):
    """The embedded driver: `tick()` from a loop; every `SOHOA_WEBHOOK_POLL` seconds the due
    deliveries are attempted in a background thread."""

    catalog: Catalog
    settings: Settings
    thread_name: ClassVar[str] = "sohoa-webhooks"

    def interval(self) -> float:
        return self.settings.webhook_poll

    def work(self) -> None:
        try:
            service.deliver_due(self.catalog, self.settings)
        except Exception:  # noqa: BLE001 - a catalog hiccup must not stop the hot folder
            log.exception("webhook delivery round failed; trying again next round")
