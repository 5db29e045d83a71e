"""Reserved for issue #18 (H2): procedure catalogue and other UI catalogues; no schema change yet.

Revision ID: 0013
Revises: 0012
"""

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
