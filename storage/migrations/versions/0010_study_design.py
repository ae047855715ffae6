"""Arm blocks and quota counts (SPEC 12)

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-07 13:30:00

Both are shared by every worker and machine: a block of arm assignments and a
quota's count are only exact when one row, locked by the statement that changes
it, holds them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "arm_block",
        sa.Column("survey_id", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("drawn", sa.Integer(), nullable=False),
        sa.Column("block", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("survey_id", "version"),
    )
    op.create_table(
        "quota_count",
        sa.Column("survey_id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("completes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("survey_id", "key"),
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("quota_count")
    op.drop_table("arm_block")
