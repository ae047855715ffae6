"""Time to complete counts completions only

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-07 18:00:00

The studio's median time to complete read every `completed` session's time,
including those an `outcome` or a full quota ended (their end state is
`end:<outcome>`), which are never completions (SPEC 11): a screen-out after
one question pulled the median down. And SQLite's seconds came from a
difference of floating-point Julian days, so a minute exactly could count as
59 s where PostgreSQL counts 60. The session triggers of 0011 are made again
with the narrower condition and exact seconds, and the stored times are
counted again.
"""

import importlib

from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None

tallies = importlib.import_module("storage.migrations.versions.0011_running_tallies")
# The end states of outcomes and quotas start with `end:` (bot.flow.OUTCOME_END).
COMPLETIONS = tallies.COMPLETED + " AND {r}.state NOT LIKE 'end:%'"
# Whole seconds cut down, after rounding the day fraction's float error (~50 µs) to the ms.
SQLITE_SECONDS = (
    "(CAST(round((julianday({r}.completed_at) - julianday({r}.started_at)) * 86400000) "
    "AS INTEGER) / 1000)"
)
SESSION_TRIGGERS = ("tally_session_insert", "tally_session_delete", "tally_session_update")


def upgrade() -> None:
    """Apply this revision."""
    _count_durations(COMPLETIONS, SQLITE_SECONDS)


def downgrade() -> None:
    """Undo this revision."""
    _count_durations(tallies.COMPLETED, tallies.SQLITE_SECONDS)


def _count_durations(completed: str, sqlite_seconds: str) -> None:
    """Count the times of the sessions `completed` picks, from now on and those stored."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # its triggers hold the counting inline: made again
        for trigger in SESSION_TRIGGERS:
            op.execute(f"DROP TRIGGER {trigger}")
        for statement in tallies.sqlite_session_triggers(completed, sqlite_seconds):
            op.execute(statement)
    else:  # the triggers call this function: its body is replaced
        op.execute(tallies.pg_session_row(completed))
    op.execute("DELETE FROM tally_duration")
    seconds = sqlite_seconds if sqlite else tallies.PG_SECONDS
    op.execute(tallies.backfill_durations(sqlite, completed, seconds))
