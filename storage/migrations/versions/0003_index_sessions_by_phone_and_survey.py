"""Index sessions by phone and survey

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 02:25:00

Without it SQLite answered "has this number a session of this survey?" (asked
for every number `flask invite` considers) through ix_session_survey, reading
every session of the survey: a run slowed down as it went.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(
        "ix_session_phone_survey", "survey_session", ["phone", "survey_id", "id"], unique=False
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_session_phone_survey", table_name="survey_session")
