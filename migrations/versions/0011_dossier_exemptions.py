"""Dossier API and exemptions (issue #19): the result code and the TT 03/2025 Điều 5.2 counts on
`dossiers`, and machine-role API tokens.

- dossiers.result_code: the one-stop system's result code (MaKetQua of the national portal);
- dossiers.components: how many components the dossier has (NULL: the registry did not say);
- dossiers.electronic_components: components received electronically (count as digitised);
- dossiers.exempt_desk | exempt_verification | exempt_secret | exempt_other: components that need
  no scanning, per reason (shown only at the desk, a verification reply between agencies, a secret
  document, another reason the one-stop system records);
- api_tokens.machine: a token of the one-stop system, limited to the dossier API and its agencies.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COUNTS = ("electronic_components", "exempt_desk", "exempt_verification", "exempt_secret", "exempt_other")


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("result_code", sa.String(96), nullable=True))
        batch.add_column(sa.Column("components", sa.Integer, nullable=True))
        for name in COUNTS:
            batch.add_column(sa.Column(name, sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("machine", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("machine")
    with op.batch_alter_table("dossiers") as batch:
        for name in reversed(COUNTS):
            batch.drop_column(name)
        batch.drop_column("components")
        batch.drop_column("result_code")
