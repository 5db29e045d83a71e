"""Alembic environment of the one migration history: runs on the connection handed over by
sohoa.core.db.migrate.

The metadata is the neutral base with every owner's tables on it (see sohoa.core.db), so
`alembic revision --autogenerate` compares the whole database, not one package's part of it.
"""

from alembic import context

from sohoa.archive import catalog as _archive_tables  # noqa: F401 - records, objects, events, reuse_links
from sohoa.core.db import Base
from sohoa.hooks import models as _hooks_tables  # noqa: F401 - webhook endpoints, events, deliveries, attempts
from sohoa.ratios import models as _ratios_tables  # noqa: F401 - agencies, dossiers, ratio_targets
from sohoa.web import models as _web_tables  # noqa: F401 - users, web_sessions, api_tokens, audit_log
from sohoa.workers import jobs as _workers_tables  # noqa: F401 - jobs, job_items

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
