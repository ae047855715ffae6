"""Keep each session's language and whether it is a test session

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 16:15:00

A session answers in one language (SPEC 7), which the export and the studio
show; sessions from `flask simulate` and the studio's try page are test
sessions, left out of results, lists and exports unless asked for (SPEC 9).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    # Plain ADD COLUMN: SQLite's batch mode would copy the table, which its
    # answers' foreign keys forbid, and both databases add a column in place.
    op.add_column("survey_session", sa.Column("language", sa.String(), nullable=True))
    test = sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false())
    op.add_column("survey_session", test)


def downgrade() -> None:
    """Undo this revision."""
    op.drop_column("survey_session", "test")
    op.drop_column("survey_session", "language")
