"""Keep which questions each session was asked, and how each went; studio login failures

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 16:30:00

The studio's funnel (SPEC 9) counts per question asked: a session that
branching or `when` never led to a question is not counted against it. One row
per question sent to a session holds its re-prompts and whether it was skipped
or left unanswered. Sessions stored before this revision get a row for each
question they hold an answer to and for the question they stopped at.

Wrong studio tokens are kept by address for a minute's throttle that every
worker and machine shares.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Sessions that stopped at a question: their state is its id (not these two).
NOT_QUESTIONS = "('new', 'completed')"


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "question_visit",
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("survey_session.id"), nullable=False),
        sa.Column("question_id", sa.String(), nullable=False),
        sa.Column("reprompts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("session_id", "question_id"),
        sqlite_with_rowid=False,  # see storage/models.py
    )
    op.execute(
        "INSERT INTO question_visit (session_id, question_id, reprompts) "
        "SELECT DISTINCT session_id, question_id, 0 FROM answer"
    )
    op.execute(
        "INSERT INTO question_visit (session_id, question_id, reprompts) "
        f"SELECT id, state, 0 FROM survey_session WHERE state NOT IN {NOT_QUESTIONS} "
        "AND NOT EXISTS (SELECT 1 FROM question_visit AS v "
        "WHERE v.session_id = survey_session.id AND v.question_id = survey_session.state)"
    )

    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_login_failure_address", "login_failure", ["address", "at"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_login_failure_address", "login_failure")
    op.drop_table("login_failure")
    op.drop_table("question_visit")
