"""Hand files to the workers and see every one of them through to an end.

`submit` records the file as a job item, stages its bytes in the object store
and sends the ingest task. `tend` is the loop body the watcher, batch runner
and web app call: it sends again what failed (until `max_attempts`, then
quarantines it) and what has been in flight too long (its worker and message
were lost). Sending again is safe: every task is idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from typing import Callable, Mapping

from sohoa.archive.backends import Archive
from sohoa.archive.storage import ObjectMissing
from sohoa.core.errors import ExitCode, SohoaError
from sohoa.core.hashing import sha256_file
from sohoa.core.settings import Settings
from sohoa.ingest import pipeline, policy
from sohoa.ingest.base import Quarantined
from sohoa.ingest.policy import IngestFields
from sohoa.workers import jobs, names, staging
from sohoa.workers.schedule import FixitySchedule
from sohoa.workers.webhooks import WebhookLoop

log = logging.getLogger("sohoa.supervisor")


@dataclass
class Supervisor:
    """`send(item_id, queue)` hands an item to the workers (workers/app.py `sender`; a recorder in tests)."""

    archive: Archive
    send: Callable[[int, str], None]
    settings: Settings
    fixity: "FixitySchedule | None" = None  # the embedded system's scheduled fixity (workers/schedule.py)
    webhooks: "WebhookLoop | None" = None  # the embedded system's webhook deliveries (workers/webhooks.py)

    def submit(self, job_name: str, path: Path, fields: Mapping | IngestFields, problem: str | None = None,
               where: str = "", scope: str | None = None) -> jobs.JobItem:
        """One file into the job: the validate stage runs here, once; `problem` (a bad sidecar, a
        manifest line) quarantines the file at once. `where` names the file's origin in reasons;
        `scope` (the hot folder's agency folder) is the agency the file may be filed under, with
        the agencies below it."""
        sha256, size = sha256_file(path)
        checked = pipeline.validate(fields, path, where) if problem is None else Quarantined(
            path, problem, int(ExitCode.INVALID_CODE))
        if scope is not None and not isinstance(checked, Quarantined):
            from sohoa.ratios.agencies import subordinates

            checked = policy.out_of_scope(checked, subordinates(self.archive.catalog, scope), path,
                                          scope) or checked
        if isinstance(checked, Quarantined):
            stored_fields = fields.to_dict() if isinstance(fields, IngestFields) else dict(fields)
        else:
            stored_fields = checked.to_dict()
        item = jobs.add_item(self.archive.catalog, job_name, str(path), sha256, size, stored_fields)
        if item.terminal:  # the job ran before and this file already ended: resume skips it
            return item
        if isinstance(checked, Quarantined):
            jobs.finish(self.archive.catalog, item.id, jobs.QUARANTINED, reason=checked.reason,
                        exit_code=checked.exit_code)
            return jobs.get(self.archive.catalog, item.id) or item
        duplicate = pipeline.dedup(sha256, path, self.archive.catalog)
        if duplicate is not None:  # already digitised: no need to stage or OCR again
            jobs.finish(self.archive.catalog, item.id, jobs.DUPLICATE, record_id=duplicate.record_id,
                        record_code=duplicate.code)
            return jobs.get(self.archive.catalog, item.id) or item
        if item.status in jobs.IN_FLIGHT and item.submitted_at is not None:
            return item  # already with the workers (a restarted watcher or batch sees it again)
        self._send(item, path)
        return jobs.get(self.archive.catalog, item.id) or item

    def _send(self, item: jobs.JobItem, path: Path) -> None:
        staging.stage_original(self.archive.store, path, item.sha256)
        jobs.mark_queued(self.archive.catalog, item.id)
        self.send(item.id, names.ingest_queue(item.job_name))

    def tend(self) -> int:
        """Send again what failed or got lost; quarantine what failed too often. Returns items touched."""
        catalog = self.archive.catalog
        touched = 0
        if self.fixity is not None:
            self.fixity.tick()  # a due slice runs in its own thread
        if self.webhooks is not None:
            self.webhooks.tick()  # so does a round of webhook deliveries
        lost = jobs.stuck(catalog, timedelta(seconds=self.settings.stuck_seconds))
        for item in jobs.items(catalog, statuses=[jobs.FAILED]) + lost:
            touched += 1
            if item.attempts >= self.settings.max_attempts:
                reason = (f"failed {item.attempts} times; last error: {item.reason}" if item.reason
                          else f"no worker finished it in {item.attempts} attempts")
                jobs.finish(catalog, item.id, jobs.QUARANTINED, reason=reason, exit_code=int(ExitCode.INTERNAL))
                staging.clear(self.archive.store, item.sha256)
                continue
            log.warning("%s: sending again (attempt %d): %s", item.path, item.attempts + 1, item.reason or "lost")
            try:
                self._resend(item)
            except ObjectMissing as error:  # nothing left to work from: say so, never wait forever
                jobs.finish(catalog, item.id, jobs.QUARANTINED, reason=error.message,
                            exit_code=int(ExitCode.INPUT_MISSING))
            except (SohoaError, OSError) as error:
                log.warning("%s: cannot send again yet: %s", item.path, error)
        return touched

    def _resend(self, item: jobs.JobItem) -> None:
        if not staging.is_staged(self.archive.store, item.sha256):
            source = Path(item.path)
            if not source.is_file():
                raise ObjectMissing(f"{item.path}: neither staged nor at its source any more")
            self._send(item, source)
            return
        jobs.mark_queued(self.archive.catalog, item.id)
        self.send(item.id, names.ingest_queue(item.job_name))

    def recover(self) -> int:
        """At start-up with the embedded broker: its messages died with the previous process, so
        everything still in flight is sent again (with Redis they wait in the broker instead)."""
        if self.settings.broker_url:
            return 0
        lost = jobs.items(self.archive.catalog, statuses=jobs.IN_FLIGHT)
        for item in lost:
            try:
                self._resend(item)
            except (SohoaError, OSError) as error:
                log.warning("%s: cannot send again yet: %s", item.path, error)
        return len(lost)
