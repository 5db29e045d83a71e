"""Scheduled fixity: every record is checked once per `SOHOA_FIXITY_INTERVAL` seconds, a slice at a time.

The interval is cut into `SLICES_PER_INTERVAL` periods (hourly at the default week). A pass over
the records (by id, the cursor kept in the `fixity_runs` table) starts with its first slice and is
due one interval later; each period checks the records the pass has not reached yet shared over the
periods left in it (archive/fixity.py `run_slice`). With no downtime that is 1/SLICES_PER_INTERVAL
of the records a period; periods missed while nothing ran (a PC switched off at night, a weekend)
make the next slices larger, and a run in the pass's last period checks all it has left, so the
pass ends within the interval. If nothing runs in that period, the first run after checks the rest
of the pass, never more: at most the whole archive once, in runs of at most 1/SLICES_PER_INTERVAL
each (each a row, so an interrupted catch-up keeps what it did); the next pass starts with the
next run.

Two drivers, the same function (`run_due`):
- the embedded system (`sohoa run`): the hot folder's loop calls the supervisor's `tend`, which
  ticks a `FixitySchedule`; a due slice runs in a background thread so the inbox keeps moving;
- production: Celery beat (`sohoa worker --beat` on one node) sends `sohoa.fixity_slice` on the
  `archive` queue every period (`beat_schedule` below, wired in workers/app.py).

Several drivers at once are harmless: a period's slot is claimed by inserting its row (the slot is
unique), so of the processes that find a slice due, exactly one runs it; and no slot is claimed
while a slice run that started less than a period ago is unfinished (a long catch-up is not
overlapped by the next period's run; a run older than that is taken for a dead process's).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, ClassVar, Final

from celery import shared_task

from sohoa.archive import fixity
from sohoa.archive.backends import Archive
from sohoa.core.errors import SohoaError
from sohoa.core.settings import Settings, get_settings
from sohoa.workers.names import ARCHIVE_QUEUE

SLICES_PER_INTERVAL: Final = 168  # a slice an hour at the default interval of one week
FIXITY_TASK: Final = "sohoa.fixity_slice"
LOOK_AT_MOST_EVERY: Final = 60.0  # seconds between two looks at the runs table from one loop
log = logging.getLogger("sohoa.fixity")


def period_seconds(settings: Settings) -> float:
    return settings.fixity_interval / SLICES_PER_INTERVAL


def current_slot(settings: Settings, now: datetime | None = None) -> int:
    now = now or datetime.now(timezone.utc)
    return int(now.timestamp() // period_seconds(settings))


def periods_left(settings: Settings, pass_start: datetime, now: datetime) -> int:
    """Periods left, this one included, before the pass begun at `pass_start` is due (at least 1)."""
    return max(1, current_slot(settings, pass_start) + SLICES_PER_INTERVAL - current_slot(settings, now))


def run_due(archive: Archive, settings: Settings, now: datetime | None = None) -> fixity.FixityReport | None:
    """Run this period's slice if no process has: its report, or None when it was not ours to run.

    `now` (tests) fixes the clock: slots, the pass's start and the runs' start times come from it."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else (lambda: datetime.now(timezone.utc))
    at = clock()
    if fixity.slice_running(archive, since=at - timedelta(seconds=period_seconds(settings))):
        return None
    run_id = fixity.claim_slot(archive, current_slot(settings, at), started=at)
    if run_id is None:
        return None
    left = periods_left(settings, fixity.pass_started(archive) or at, at)
    report = fixity.run_slice(archive, SLICES_PER_INTERVAL, run_id=run_id, periods_left=left)
    owed = report.due - report.records
    while owed > 0 and report.cursor:  # a catch-up, in bounded runs; "" = the pass is complete
        more = fixity.run_slice(archive, SLICES_PER_INTERVAL, run_id=fixity.start_slice(archive, clock()),
                                want=owed)
        if not more.records:
            break
        owed -= more.records
        report = _merged(report, more)
    if report.problems:
        log.warning("fixity slice: %d of %d records checked, %d problems (sohoa fixity --last)",
                    report.records, report.total, len(report.problems))
    return report


def _merged(first: fixity.FixityReport, then: fixity.FixityReport) -> fixity.FixityReport:
    return fixity.FixityReport(kind="slice", total=then.total, records=first.records + then.records,
                               objects=first.objects + then.objects, bytes=first.bytes + then.bytes,
                               problems=first.problems + then.problems, cursor=then.cursor,
                               cleaned=first.cleaned + then.cleaned, due=first.due)


def beat_schedule(settings: Settings) -> dict:
    """The Celery beat entry of production (workers/app.py)."""
    return {"sohoa-fixity-slice": {"task": FIXITY_TASK, "schedule": period_seconds(settings),
                                   "options": {"queue": ARCHIVE_QUEUE}}}


@shared_task(name=FIXITY_TASK, ignore_result=True)
def fixity_slice() -> None:
    from sohoa.workers.tasks import archive

    try:
        run_due(archive(), get_settings())
    except SohoaError as error:  # an unreachable store: the run is recorded as an error; try next period
        log.warning("fixity slice: %s", error.message)


@dataclass
class Ticked:
    """Periodic work of a loop (the hot folder's): `tick()` starts it in a background thread when
    `interval()` has passed and no run of it is alive here, so the loop never waits for it."""

    _thread: threading.Thread | None = field(default=None, init=False)
    _next_look: float = field(default=0.0, init=False)
    thread_name: ClassVar[str] = "sohoa-ticked"

    def interval(self) -> float:
        raise NotImplementedError

    def work(self) -> None:
        raise NotImplementedError

    def tick(self) -> threading.Thread | None:
        """Start a run if one is due and none is running here; the thread, or None."""
        if self._thread is not None and self._thread.is_alive():
            return None
        now = time.monotonic()
        if now < self._next_look:
            return None
        self._next_look = now + self.interval()
        self._thread = threading.Thread(target=self.work, name=self.thread_name, daemon=True)
        self._thread.start()
        return self._thread


@dataclass
class FixitySchedule(Ticked):
    """The embedded driver: `tick()` from a loop; a due slice runs in a background thread."""

    archive: Archive
    settings: Settings
    thread_name: ClassVar[str] = "sohoa-fixity"

    def interval(self) -> float:
        return min(LOOK_AT_MOST_EVERY, period_seconds(self.settings))

    def work(self) -> None:
        try:
            run_due(self.archive, self.settings)
        except SohoaError as error:
            log.warning("fixity slice: %s", error.message)
        except Exception:  # noqa: BLE001 - a catalog hiccup must not stop the hot folder
            log.exception("fixity slice failed; trying again next period")
