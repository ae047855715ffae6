"""Record which file serves each survey id, keyword and default

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 16:50:00

When two files claim the same id, keyword or default (SPEC 1), the one being
served keeps serving; every worker process and machine reads the same answer
from this table instead of deciding from its own view of the folder.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "survey_claim",
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("file", sa.String(), nullable=False),
        sa.Column("survey_id", sa.String(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "name"),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("survey_claim")
