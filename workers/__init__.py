"""workers: Celery app and queues (ingest, ocr, archive, index) that distribute the stages."""
