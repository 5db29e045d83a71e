"""Webhooks out (issue #19): tell the one-stop system when a dossier's papers become digitised.

A transactional outbox in the catalog database (hooks/models.py, not derived: `rebuild-catalog`
leaves it alone), events written next to the record or reuse they announce (hooks/emit.py),
signed HTTP delivery with a log of every attempt (hooks/delivery.py), and the scheduling of
retries with exponential backoff (hooks/outbox.py). The workers drive it (workers/webhooks.py).
"""
