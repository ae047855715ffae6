"""Connections on the database driver alone, with the settings the engine gives its own.

`flask export --format long` (web/lean.py) reads one query's rows: importing
SQLAlchemy and making an engine for it were a third of a second of its start
(issue 19). Its connection comes from here instead, and storage/db.py's engine
takes the same settings from here, so both kinds of connection wait, lock and
time out alike.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

# How long a request waits for the database (a lock, a connection, a statement)
# before it gives up with 503: well inside the 15 s Twilio gives a webhook,
# so that Twilio's retry, not a dropped connection, is what follows.
WAIT_SECONDS = 5
# PostgreSQL: every wait of every connection, set when it connects (before the
# first statement, the webhook's PREPAREs included), so no connection of the
# pool, new or reused, can wait longer, reads included.
PG_OPTIONS = "-c lock_timeout={ms} -c statement_timeout={ms}"
# An export streams for as long as it takes; each of its statements may run
# this long, while its waits for locks stay bounded by lock_timeout.
EXPORT_SECONDS = 120
LONG_READS = f"SET LOCAL statement_timeout = {EXPORT_SECONDS * 1000}"
# The newest migration, so that a start on a current database needs no Alembic
# (importing it took a fifth of a second of every `flask` command);
# tests/test_migrations.py checks it against storage/migrations.
HEAD = "0016"
STAMP = "SELECT version_num FROM alembic_version"  # the revision Alembic stamped
SQLITE_FILE = "sqlite:///"  # then a path: the URLs this module opens without SQLAlchemy
POSTGRESQL = ("postgres://", "postgresql://", "postgresql+psycopg://")


def sqlite_settings(conn: sqlite3.Connection, wait: float) -> None:
    """WAL lets readers (exports) run beside the writer; we issue BEGIN ourselves."""
    conn.isolation_level = None  # no BEGIN of the driver's own
    cur = conn.cursor()
    _write_ahead(cur, wait)
    # NORMAL in WAL mode: a commit survives a crash of the process; only a
    # power cut can lose the last commits (documented in README).
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={round(wait * 1000)}")
    cur.close()


def _write_ahead(cur: sqlite3.Cursor, wait: float) -> None:
    """Put the file in WAL mode, waiting up to `wait` s for another connection doing it.

    A new file starts in rollback mode, and switching needs it to itself. Two
    processes opening a new database at once (gunicorn's workers, with a config
    that does not create it first) both switch, and SQLite refuses one at once,
    its busy timeout unused: "database is locked", and that worker refused to
    serve. Once a connection has switched, the mode stays with the file.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            busy = err.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY  # extended codes too
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(WAL_RETRY)


WAL_RETRY = 0.005  # seconds between two tries: the switch itself takes a millisecond


def url_options(url: str) -> list[str]:
    """The URL's own `options` (libpq's server settings): a URL may give the key twice."""
    return [value for key, value in parse_qsl(urlsplit(url).query) if key == "options"]


def postgresql_arguments(options: list[str], wait: float) -> dict:
    """psycopg's connection arguments: every wait bounded by `wait` seconds.

    No automatic prepared statements: once psycopg has prepared any, its next
    ROLLBACK sends DEALLOCATE ALL, which would also drop the webhook's own
    prepared statements (hot.Batch). `options`: the URL's own (libpq's server
    settings, the key given once or several times), each kept, then the bounds.
    """
    bounds = PG_OPTIONS.format(ms=round(wait * 1000))
    return {
        "prepare_threshold": None,
        "connect_timeout": max(2, round(wait)),  # libpq's least
        "options": " ".join([*options, bounds]),
    }


@dataclass
class Plain:
    """A DB-API connection, its dialect ("sqlite" or "postgresql") and its driver's Error."""

    raw: Any
    dialect: str
    error: type[Exception]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction, rolled back at its end: what it reads, it reads in one snapshot."""
        if self.dialect == "sqlite":
            self.raw.execute("BEGIN")  # psycopg begins by itself
        try:
            yield
        finally:
            self.raw.rollback()

    def stamped(self) -> str | None:
        """The revision Alembic stamped in the database (an error for a database without)."""
        cursor = self.raw.cursor()
        cursor.execute(STAMP)
        row = cursor.fetchone()
        return row and row[0]

    def long_reads(self) -> None:
        """Let this transaction's statements run EXPORT_SECONDS each (PostgreSQL); locks still 5 s.

        SQLite's waits are bounded for every connection already (its busy timeout).
        """
        if self.dialect == "postgresql":
            self.raw.cursor().execute(LONG_READS)

    def close(self) -> None:
        """Close the connection."""
        self.raw.close()


def connect(url: str, wait: float = WAIT_SECONDS) -> Plain | None:
    """A connection to `url` with the engine's settings; None where SQLAlchemy is needed.

    That is any other kind of URL (another driver, SQLite's query arguments or a
    database in memory), or a database that cannot be reached: the engine's
    users report it as they always have.
    """
    if url.startswith(SQLITE_FILE):
        return _sqlite(url.removeprefix(SQLITE_FILE), wait)
    if url.startswith(POSTGRESQL):
        return _postgresql("postgresql://" + url.partition("://")[2], wait)
    return None


def _sqlite(path: str, wait: float) -> Plain | None:
    """A SQLite file's connection, as the engine makes them; None for a path SQLAlchemy reads."""
    if not path or path == ":memory:" or set(path) & set("?#%"):  # arguments, quoting
        return None
    try:
        conn = sqlite3.connect(path, timeout=wait, check_same_thread=False)
    except sqlite3.Error:
        return None
    try:
        sqlite_settings(conn, wait)
    except sqlite3.Error:
        conn.close()
        return None
    return Plain(conn, "sqlite", sqlite3.Error)


def _postgresql(url: str, wait: float) -> Plain | None:
    """A PostgreSQL connection, as the engine makes them (READ COMMITTED)."""
    # Only PostgreSQL needs psycopg; a SQLite export would import it for nothing.
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    parts = urlsplit(url)
    query = parse_qsl(parts.query)  # the URL's arguments as SQLAlchemy reads them
    options = url_options(url)
    given = {key: value for key, value in query if key != "options"}
    if len(given) + len(options) != len(query):  # another key given twice
        return None
    try:
        params = {**conninfo_to_dict(urlunsplit(parts._replace(query=""))), **given}
        conn = psycopg.connect(**params, **postgresql_arguments(options, wait))
    except psycopg.Error:
        return None
    conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
    return Plain(conn, "postgresql", psycopg.Error)


def shown_url(url: str) -> str:
    """`url` as an operator may see it in a message: its password hidden."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if sep and at and ":" in userinfo:
        return f"{scheme}://{userinfo.partition(':')[0]}:***@{host}"
    return url
