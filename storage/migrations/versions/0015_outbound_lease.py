"""Who is sending a pending message, and until when

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 10:00:00

Two overlapping runs of `flask invite` (or `flask remind`) each took the
other's pending messages for the leftovers of a crashed run and sent them
again. A pending message now records the run that holds it (`holder`) and
until when (`lease_until`); the run renews the lease while it is alive, and
another run takes the message only once the lease is over. Rows written
before this revision have no lease: an earlier run's leftovers, free to take.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("outbound_message", sa.Column("holder", sa.String(), nullable=True))
    op.add_column("outbound_message", sa.Column("lease_until", sa.DateTime(timezone=True)))


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("outbound_message") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("holder")
