"""Access hardening (issue #13): the audit log hash-chained (its head row), the login throttle, and
API tokens with an expiry and scopes.

Existing audit rows are chained here, oldest first, with the same canonical content as
sohoa.web.audit (copied, so this revision keeps meaning what it meant when it was written).
Existing API tokens keep working without an expiry (`expires_at` NULL); new ones expire.

Revision ID: 0008
Revises: 0007 (code reservations)
"""
import hashlib
import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _utc(value) -> datetime:
    if isinstance(value, str):  # SQLite through a plain SELECT
        value = datetime.fromisoformat(value)
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _hash(prev: str, row) -> str:
    content = json.dumps([row.id, _utc(row.at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), row.username, row.action,
                          row.record_id or "", "", "", row.detail or "", row.client or ""],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev}\n{content}".encode("utf-8")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("dossier_code", sa.String(64), nullable=True))
        batch.add_column(sa.Column("record_ids", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=False, server_default=""))
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("last_id", sa.Integer, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("read_only", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("prefixes", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("agencies", sa.Text, nullable=False, server_default=""))
    bind = op.get_bind()
    prev, last_id, count = "", 0, 0
    rows = bind.execute(sa.text("SELECT id, at, username, action, record_id, detail, client FROM audit_log "
                                "ORDER BY id")).all()
    for row in rows:
        digest = _hash(prev, row)
        bind.execute(sa.text("UPDATE audit_log SET prev_hash = :prev, hash = :hash WHERE id = :id"),
                     {"prev": prev, "hash": digest, "id": row.id})
        prev, last_id, count = digest, row.id, count + 1
    op.bulk_insert(head, [{"id": 1, "last_id": last_id, "last_hash": prev, "count": count}])


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        for column in ("agencies", "prefixes", "read_only", "expires_at"):
            batch.drop_column(column)
    op.drop_table("login_throttle")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_log") as batch:
        for column in ("hash", "prev_hash", "record_ids", "dossier_code"):
            batch.drop_column(column)
