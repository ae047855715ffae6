"""The database schema: created on a new database, checked on every start.

Schema changes are Alembic migrations in storage/migrations, applied with
`flask db upgrade`. A fresh database is brought to the newest schema by
itself (so the defaults need no setup); a database that holds data on an
older schema is refused until an operator upgrades it on purpose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from storage.db import schema_waits, unbounded

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPTS = "storage:migrations"
# The newest migration, so that a start on a current database needs no Alembic
# (importing it took a fifth of a second of every `flask` command);
# tests/test_migrations.py checks it against storage/migrations.
HEAD = "0013"


class SchemaBehind(RuntimeError):
    """The database needs `flask db upgrade` before this code can use it."""


def _config(conn: Connection | None = None) -> Config:
    """Alembic's configuration, pointed at our migrations and an open connection."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPTS)
    config.attributes["connection"] = conn
    return config


def head() -> str:
    """The newest revision in the code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current(conn: Connection) -> str | None:
    """The revision the database is at, None for a database without our tables."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _exclusive(engine: Engine):
    """A connection whose transaction excludes other processes doing the same."""
    conn = engine.connect()
    if engine.dialect.name == "sqlite":
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
    return conn


def _lock(conn: Connection) -> None:
    """On PostgreSQL, one schema change at a time across machines."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision`, keeping every stored row."""
    from alembic import command

    with _exclusive(engine) as conn, conn.begin():
        unbounded(conn)  # an operator's upgrade may wait for others and take its time
        _lock(conn)
        command.upgrade(_config(conn), revision)


def ensure_current(engine: Engine) -> None:
    """Create the schema on an empty database; refuse one that is behind."""
    if _stamped(engine) == HEAD:
        return
    with _exclusive(engine) as conn, conn.begin():
        schema_waits(conn)  # behind another worker creating a new database's tables
        _lock(conn)
        at = current(conn)
        if at is None and not inspect(conn).get_table_names():
            from alembic import command

            command.upgrade(_config(conn), "head")
            return
        if at != head():
            raise SchemaBehind(
                f"The database schema is at {at or 'an unknown revision'}, this code needs "
                f"{head()}: back up the database, then run `flask db upgrade`."
            )


def _stamped(engine: Engine) -> str | None:
    """The revision Alembic stamped in the database, read with plain SQL; None if none."""
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:  # no such table: a new database, or not ours
            return None
