"""Reuse links (a record attached to a later dossier) and the dossier owner.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reuse_links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(32), sa.ForeignKey("records.id"), nullable=False, index=True),
        sa.Column("dossier_code", sa.String(64), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(100), nullable=False),
        sa.UniqueConstraint("record_id", "dossier_code"),
    )
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("owner_id", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("owner_id")
    op.drop_table("reuse_links")
