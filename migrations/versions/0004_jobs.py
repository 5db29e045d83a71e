"""Jobs and their items: what the hot folder, batches and uploads handed to the workers.

Revision ID: 0004
Revises: 0002 (0003 once the ratios tables land)
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"  # was 0002 until the ratios migration (issue #6) landed
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("name", sa.String(120), primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "job_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_name", sa.String(120), sa.ForeignKey("jobs.name"), nullable=False, index=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, index=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("pages", sa.Integer, nullable=True),
        sa.Column("pages_done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("record_id", sa.String(32), nullable=True),
        sa.Column("record_code", sa.String(96), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("job_name", "path", "sha256"),
    )


def downgrade() -> None:
    op.drop_table("job_items")
    op.drop_table("jobs")
