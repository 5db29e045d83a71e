"""Queue and task names shared by submitters and workers (no Celery app is created by importing this)."""

from typing import Final

QUEUE_NAMES: Final = ("ingest", "ocr", "archive", "index")  # declared as queues in tasks.py
INGEST_TASK: Final = "sohoa.ingest"
