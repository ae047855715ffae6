"""Each session's answers indexed in the order they were given

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 20:30:00

The long export reads each session's answers in the order they were given
(`ORDER BY a.id`). The only index on a session's answers was the unique one by
question id, so SQLite sorted every session's answers in a temporary B-tree of
their own: 125,000 small sorts, about a fifth of the time of a
million-answer export. With this index the answers come in order (bench
`export`; docs/performance.md, "A fourth look").
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_answer_session_order", "answer", ["session_id", "id"])


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index("ix_answer_session_order", table_name="answer")
