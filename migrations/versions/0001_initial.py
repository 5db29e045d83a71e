"""Initial catalog: agencies, dossiers, records, objects, events.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("parent_code", sa.String(32), sa.ForeignKey("agencies.code"), nullable=True),
        sa.Column("level", sa.String(20), nullable=False),
    )
    op.create_table(
        "dossiers",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("agency_code", sa.String(32), nullable=False, index=True),
        sa.Column("procedure_code", sa.String(64), nullable=True),
        sa.Column("received_on", sa.Date, nullable=True),
        sa.Column("in_registry", sa.Boolean, nullable=False),
    )
    op.create_table(
        "records",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("code", sa.String(96), nullable=False, unique=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("agency_code", sa.String(32), nullable=False, index=True),
        sa.Column("dossier_code", sa.String(64), nullable=True, index=True),
        sa.Column("procedure_code", sa.String(64), nullable=True),
        sa.Column("doc_type_code", sa.String(64), nullable=True),
        sa.Column("owner_id", sa.String(20), nullable=True, index=True),
        sa.Column("title", sa.Text, nullable=True),
        sa.Column("issued_on", sa.Date, nullable=True),
        sa.Column("valid_until", sa.Date, nullable=True),
        sa.Column("retention_code", sa.String(2), nullable=False),
        sa.Column("page_count", sa.Integer, nullable=False),
        sa.Column("original_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metadata_json", sa.JSON, nullable=False),
    )
    op.create_table(
        "objects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(32), sa.ForeignKey("records.id"), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("record_id", "name"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(32), nullable=False, index=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent", sa.String(100), nullable=False),
        sa.Column("tool", sa.String(100), nullable=False),
        sa.Column("tool_version", sa.String(50), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("events", "objects", "records", "dossiers", "agencies"):
        op.drop_table(table)
