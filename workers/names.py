"""Queue and task names shared by submitters and workers (importing this creates no Celery app)."""

from typing import Final

INGEST_QUEUE: Final = "ingest"
OCR_QUEUE: Final = "ocr"
ARCHIVE_QUEUE: Final = "archive"
INDEX_QUEUE: Final = "index"
QUEUE_NAMES: Final = (INGEST_QUEUE, OCR_QUEUE, ARCHIVE_QUEUE, INDEX_QUEUE)  # their tasks: workers/tasks.py
INGEST_TASK: Final = "sohoa.ingest"
