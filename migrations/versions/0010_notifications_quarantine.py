"""Issue #18 (H3): what happened to a quarantined file ("Cần xử lý": retried or dismissed, by whom,
when, why) on its job item, and the moment up to which a user has seen their notifications.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_items") as batch:
        batch.add_column(sa.Column("handled", sa.String(16), nullable=True))  # retried | dismissed
        batch.add_column(sa.Column("handled_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("handled_note", sa.Text, nullable=True))
        batch.add_column(sa.Column("retry_item_id", sa.Integer, nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("notices_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("notices_seen_at")
    with op.batch_alter_table("job_items") as batch:
        for name in ("retry_item_id", "handled_note", "handled_at", "handled_by", "handled"):
            batch.drop_column(name)
