"""Remember studio sessions ended by signing out; test and real sessions apart

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 13:00:00

A signed cookie cannot be taken back once given: signing out now records the
session's id, and a cookie carrying it is refused from then on (SPEC 9).
Rows older than the cookie's lifetime (31 days) are forgotten.

A number may have one open real session and one open test session (flask
simulate --phone): a real message never continues a test session, so the
unique index of open sessions is per number and kind.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


OPEN = sa.text("status = 'open'")


def _open_sessions_unique(columns: list[str]) -> None:
    """The unique index of open sessions, on `columns`."""
    op.drop_index("uq_session_open_phone", "survey_session")
    op.create_index(
        "uq_session_open_phone",
        "survey_session",
        columns,
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def upgrade() -> None:
    """Apply this revision."""
    _open_sessions_unique(["phone", "test"])
    op.create_table(
        "studio_signout",
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
    )


def downgrade() -> None:
    """Undo this revision (ending test sessions that share a number with an open real one)."""
    op.execute(
        "UPDATE survey_session SET status = 'abandoned' WHERE status = 'open' AND test "
        "AND phone IN (SELECT phone FROM survey_session WHERE status = 'open' AND NOT test)"
    )
    _open_sessions_unique(["phone"])
    op.drop_table("studio_signout")
