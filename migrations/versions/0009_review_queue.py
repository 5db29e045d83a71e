"""The review queue of extracted metadata (issue #14): a record's lowest confidence among the
proposals nobody has confirmed yet (NULL: nothing to review), indexed so the queue lists the
least certain records first. Derived from the record's metadata: a rebuild fills it again.

Revision ID: 0009
Revises: 0008 (access hardening)
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("review_confidence", sa.Float, nullable=True))
        batch.create_index("ix_records_review_confidence", ["review_confidence"])


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.drop_index("ix_records_review_confidence")
        batch.drop_column("review_confidence")
