"""Sessions the default survey started

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 13:20:00

A number that texts `hi` gets the default survey; if its next message is another
survey's keyword, that survey is what it meant (SPEC 2). Only a session the
default survey started without a keyword or an invitation yields so, and nothing
stored said which sessions those are. Sessions from before are marked as not:
they go on as they did.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    # A plain ADD COLUMN: SQLite's batch mode would copy the table, which answers point to.
    op.add_column(
        "survey_session",
        sa.Column("by_default", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_column("survey_session", "by_default")
