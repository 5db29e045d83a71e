"""Dossier registry columns, ratio targets and the indexes of the QĐ 766 ratio queries (issue #6).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("channel", sa.String(10), nullable=True))
        batch.add_column(sa.Column("result_issued_on", sa.Date, nullable=True))
        batch.add_column(sa.Column("result_form", sa.String(12), nullable=True))
    op.create_index("ix_dossiers_received_on", "dossiers", ["received_on"])
    op.create_index("ix_dossiers_result_issued_on", "dossiers", ["result_issued_on"])
    op.create_index("ix_records_dossier_kind", "records", ["dossier_code", "kind"])
    op.create_table(
        "ratio_targets",
        sa.Column("agency_code", sa.String(32), primary_key=True),
        sa.Column("indicator", sa.String(32), primary_key=True),
        sa.Column("target", sa.Float, nullable=True),
        sa.Column("points", sa.Float, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("ratio_targets")
    op.drop_index("ix_records_dossier_kind", table_name="records")
    op.drop_index("ix_dossiers_result_issued_on", table_name="dossiers")
    op.drop_index("ix_dossiers_received_on", table_name="dossiers")
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("result_form")
        batch.drop_column("result_issued_on")
        batch.drop_column("channel")
