"""Queue and task names shared by submitters and workers (importing this creates no Celery app).

Fairness: back-files (`sohoa batch`) and big files travel on their own `*-bulk` queues. A worker
consumes every queue and takes from them in turn, so a one-page upload or hot-folder scan is read
within a task or two, however many pages of a back-file are waiting.
"""

from typing import Final

INGEST_QUEUE: Final = "ingest"
OCR_QUEUE: Final = "ocr"
ARCHIVE_QUEUE: Final = "archive"
INDEX_QUEUE: Final = "index"
INGEST_BULK_QUEUE: Final = "ingest-bulk"
OCR_BULK_QUEUE: Final = "ocr-bulk"
ARCHIVE_BULK_QUEUE: Final = "archive-bulk"  # assembling a 1,000-page file must not hold up a 1-page one
WEBHOOK_QUEUE: Final = "webhooks"  # posts to slow receivers never hold up the pipeline (workers/webhooks.py)
QUEUE_NAMES: Final = (INGEST_QUEUE, OCR_QUEUE, ARCHIVE_QUEUE, INDEX_QUEUE, INGEST_BULK_QUEUE, OCR_BULK_QUEUE,
                      ARCHIVE_BULK_QUEUE, WEBHOOK_QUEUE)
INGEST_TASK: Final = "sohoa.ingest"

INTERACTIVE_JOBS: Final = frozenset({"watch", "upload"})  # the hot folder's and the web uploads' jobs
BULK_PAGES: Final = 50  # a file with more pages reads on the bulk queue, whoever sent it


def is_bulk(job_name: str, pages: int | None = None) -> bool:
    """A back-file batch, or a file too big to go before the interactive ones."""
    return job_name not in INTERACTIVE_JOBS or (pages is not None and pages > BULK_PAGES)


def ingest_queue(job_name: str) -> str:
    return INGEST_BULK_QUEUE if is_bulk(job_name) else INGEST_QUEUE


def ocr_queue(job_name: str, pages: int) -> str:
    return OCR_BULK_QUEUE if is_bulk(job_name, pages) else OCR_QUEUE


def archive_queue(job_name: str, pages: int) -> str:
    return ARCHIVE_BULK_QUEUE if is_bulk(job_name, pages) else ARCHIVE_QUEUE
