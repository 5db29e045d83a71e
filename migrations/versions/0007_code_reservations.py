"""Reserved result codes and metadata versions (issue #12).

`code_reservations`: one row per result number of a dossier (unique dossier + n, unique record id +
dossier), filled here from the result records already in the catalog. `records.metadata_version`:
the number of the record's current metadata version in storage (1 for every existing record).

Revision ID: 0007
Revises: 0006 (fixity runs)
"""
import re
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_RESULT = re.compile(r"^(?P<dossier>.+)-KQ(?P<n>\d+)$")


def upgrade() -> None:
    reservations = op.create_table(
        "code_reservations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(64), nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("code", sa.String(96), nullable=False, unique=True),
        sa.Column("record_id", sa.String(32), nullable=False, index=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("dossier_code", "n"),
        sa.UniqueConstraint("record_id", "dossier_code"),
    )
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("metadata_version", sa.Integer, nullable=False, server_default="1"))
    rows = op.get_bind().execute(sa.text("SELECT id, code FROM records WHERE kind = 'result'")).all()
    now = datetime.now(timezone.utc)
    fill = []
    for record_id, code in rows:
        found = _RESULT.match(code or "")
        if found:
            fill.append({"dossier_code": found["dossier"], "n": int(found["n"]), "code": code,
                         "record_id": record_id, "state": "stored", "at": now})
    if fill:
        op.bulk_insert(reservations, fill)


def downgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.drop_column("metadata_version")
    op.drop_table("code_reservations")
