"""The procedure catalogue (issue #18): `procedures` (code, name, field), imported from CSV by
`sohoa procedures import` or the admin page, so forms and pages show procedures by name. Owned by
ratios/ (ratios/models.py, ratios/procedures.py); not derived from storage, a rebuild keeps it.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "procedures",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(500), nullable=False, server_default=""),
        sa.Column("field", sa.String(300), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("procedures")
