"""The Celery application: broker and result backend from the settings.

Redis in production (`SOHOA_BROKER_URL=redis://…`); without it an embedded
broker (kombu's filesystem transport) and result store under
`SOHOA_DATA_DIR/broker/`, so one office PC runs everything with no server.

Delivery settings so that nothing is lost when a worker dies:
- `task_acks_late`: a message is acknowledged only after its task ended, so a
  worker killed mid-task leaves it unacknowledged; Redis hands it to another
  worker after `visibility_timeout` (SOHOA_VISIBILITY_TIMEOUT).
- `worker_prefetch_multiplier=1`: a worker holds no backlog that would wait
  behind a 200-page file, or be stuck with a dead worker.
- Tasks are idempotent (keyed by the file's SHA-256 and the stage), so a
  redelivered task never makes a second record.
The queues themselves are declared in workers/tasks.py, next to their tasks (the webhooks' tasks in
workers/webhooks.py).
Nothing happens at import: `create_app` builds the app (and the embedded
broker's folders) when a worker, the supervisor or a test asks for one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from celery import Celery
from sohoa.core.settings import Settings, get_settings
from sohoa.workers.names import INGEST_QUEUE, INGEST_TASK

FILE_POLL_SECONDS = 0.1  # the embedded broker's and result store's polling (see broker_settings)


def broker_settings(settings: Settings) -> dict:
    if settings.broker_url:
        return {
            "broker_url": settings.broker_url,
            "result_backend": settings.result_url or settings.broker_url,
            "broker_transport_options": {"visibility_timeout": settings.visibility_timeout},
            "result_backend_transport_options": {"visibility_timeout": settings.visibility_timeout},
        }
    root = (settings.data_dir / "broker").resolve()
    for folder in ("queue", "processed", "results", "control"):
        (root / folder).mkdir(mode=0o700, parents=True, exist_ok=True)
    queue = str(root / "queue")
    return {
        "broker_url": "filesystem://",
        "broker_transport_options": {
            "data_folder_in": queue, "data_folder_out": queue,
            "processed_folder": str(root / "processed"), "store_processed": False,
            "control_folder": str(root / "control"),  # exchange bindings; default is the working directory
            # kombu lists the queue folder this often when it found nothing (default 1 s): every hop
            # of a file (ingest → ocr → assemble → index) waited up to that long. A listing of a
            # near-empty local folder costs microseconds.
            "polling_interval": FILE_POLL_SECONDS,
        },
        "result_backend": settings.result_url or Path(root / "results").as_uri(),
        # The file result store cannot join a chord itself: Celery's `chord_unlock` task asks it
        # again every this many seconds (default 1 s), each time through the queue.
        "result_chord_retry_interval": FILE_POLL_SECONDS,
    }


def create_app(settings: Settings | None = None) -> Celery:
    from sohoa.workers.tasks import QUEUES

    settings = settings or get_settings()
    from sohoa.workers.schedule import beat_schedule
    from sohoa.workers.webhooks import beat_entry

    app = Celery("sohoa", include=["sohoa.workers.tasks", "sohoa.workers.schedule", "sohoa.workers.webhooks"],
                 set_as_current=True)
    app.conf.update(
        broker_settings(settings),
        task_queues=QUEUES,
        task_acks_late=True,
        # A pool process that dies (not the whole worker) fails its task; our on_failure marks the
        # item failed and the supervisor runs it again, counting attempts, so a file that crashes
        # Tesseract every time ends in quarantine instead of looping forever.
        task_reject_on_worker_lost=False,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=24 * 3600,
        broker_connection_retry_on_startup=True,
        worker_max_tasks_per_child=200,  # bounds the growth of long-lived Tesseract processes
        worker_hijack_root_logger=False,
        task_default_queue=INGEST_QUEUE,
        # run by `sohoa worker --beat` (one node): fixity slices, and the webhook sweep
        beat_schedule={**beat_schedule(settings), **beat_entry(settings)},
    )
    return app


def sender(app: Celery) -> Callable[[int, str], None]:
    """What the supervisor needs of a broker: send the ingest task of one job item to a queue."""

    def send(item_id: int, queue: str = INGEST_QUEUE) -> None:
        app.send_task(INGEST_TASK, kwargs={"item_id": item_id}, queue=queue)

    return send
