"""Remember studio sessions ended by signing out

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 13:00:00

A signed cookie cannot be taken back once given: signing out now records the
session's id, and a cookie carrying it is refused from then on (SPEC 9).
Rows older than the cookie's lifetime (31 days) are forgotten.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "studio_signout",
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("studio_signout")
