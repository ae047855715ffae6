"""PostgreSQL's tallies in slots, one per writing transaction: no lock shared by every message

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 03:00:00

The triggers of 0011 took one advisory lock for the whole database before
touching a tally and held it to COMMIT, WAL flush included: every message's
writes waited for every other's. Without it, two messages that move counts
between the same tally rows in opposite order deadlock (a session's end moves
all its questions' rows in the order of an index, the next message of another
session adds to two of them in its own order).

Each tally row now also has a `slot`. The first tally write of a transaction
takes the lowest slot no other open transaction holds (a transaction-scoped
advisory lock per slot, tried, never waited for) and writes only rows of that
slot. No two open transactions write the same tally row, so none waits for
another's tally rows and none can deadlock on them. A figure is the sum over
the slots, which the results already compute (`GROUP BY ... sum()`); the
slots in use never exceed the transactions writing at once. A slot's figure
can be negative (a session counted in one slot, moved out in another).

The slot is remembered in a transaction-local setting (`tally.slot`): a
rollback to a savepoint drops the setting with the slot's lock, and the next
tally write takes a slot again. Rows written by other means (a migration's
recount) land in slot 0. SQLite has one writer at a time: it keeps 0011's
tables and triggers.
"""

import importlib

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

tallies = importlib.import_module("storage.migrations.versions.0011_running_tallies")
durations = importlib.import_module("storage.migrations.versions.0013_time_to_complete")

SLOT = "slot"
# The transaction's slot, once the trigger has taken one (TAKE_SLOT).
SLOT_VALUE = "current_setting('tally.slot')::integer"
TAKE_SLOT = (
    "IF coalesce(current_setting('tally.slot', true), '') = '' THEN "
    "PERFORM tally_take_slot(); END IF;"
)
# The lowest slot no open transaction holds; it stays this transaction's until its end.
TAKE_SLOT_BODY = """
    FOR slot IN 0..1000000 LOOP
      IF pg_try_advisory_xact_lock(hashtext('tally slot'), slot) THEN
        PERFORM set_config('tally.slot', slot::text, true);
        RETURN;
      END IF;
    END LOOP;
    RAISE EXCEPTION 'no free tally slot';"""
# The functions 0011 made and 0013 changed, in the order 0011 creates them.
FUNCTIONS = 7


def locked_functions() -> list[str]:
    """The tally functions as 0013 left them: each trigger takes the database's one lock."""
    made = tallies.postgresql_triggers()[1:FUNCTIONS]
    return [tallies.pg_session_row(durations.COMPLETIONS), *made]


def slotted(function: str) -> str:
    """A tally function of 0011 that takes a slot instead of the lock, and writes in it."""
    key = tallies._pg_key("r")
    changed = function.replace(tallies.PG_LOCK, TAKE_SLOT).replace(key, f"{SLOT_VALUE}, {key}")
    for table, (extra, _counts) in tallies.TABLES.items():
        keys = ", ".join((*tallies.KEY, *extra))
        changed = changed.replace(f"INSERT INTO {table} (", f"INSERT INTO {table} ({SLOT}, ")
        changed = changed.replace(f"ON CONFLICT ({keys})", f"ON CONFLICT ({SLOT}, {keys})")
    # Every tally written names its slot, and every key written is followed by it.
    assert changed.count("INSERT INTO") == changed.count(SLOT_VALUE) == changed.count(key)
    return changed


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, (extra, _counts) in tallies.TABLES.items():
        columns = ", ".join((*tallies.KEY, *extra, SLOT))
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN {SLOT} INTEGER NOT NULL DEFAULT 0, "
            f"DROP CONSTRAINT {table}_pkey, ADD CONSTRAINT {table}_pkey PRIMARY KEY ({columns})"
        )
    op.execute(tallies._pg_function("tally_take_slot", "", TAKE_SLOT_BODY))
    for function in locked_functions():
        op.execute(slotted(function))


def downgrade() -> None:
    """Undo this revision: each tally's slots summed into one row, the lock back."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for function in locked_functions():
        op.execute(function)
    op.execute("DROP FUNCTION tally_take_slot()")
    for table, (extra, counts) in tallies.TABLES.items():
        key = ", ".join((*tallies.KEY, *extra))
        sums = ", ".join(f"sum({c}) AS {c}" for c in counts)
        op.execute(
            f"CREATE TEMPORARY TABLE summed AS SELECT {key}, {sums} FROM {table} GROUP BY {key}"
        )
        op.execute(f"DELETE FROM {table}")
        op.execute(
            f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, DROP COLUMN {SLOT}, "
            f"ADD CONSTRAINT {table}_pkey PRIMARY KEY ({key})"
        )
        op.execute(f"{tallies._insert(table)} SELECT * FROM summed")
        op.execute("DROP TABLE summed")
