"""Database engines, and the one-writer-per-phone transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.pool import StaticPool


def make_engine(url: str) -> Engine:
    """An engine for `url`, with SQLite set up for several worker processes."""
    if url.startswith("postgres://"):  # the form Heroku-style platforms hand out
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        # READ COMMITTED whatever the server's default: once `locked` holds a
        # phone's lock, each statement must see what the previous holder committed.
        return create_engine(url, pool_pre_ping=True, isolation_level="READ COMMITTED")
    memory = url in ("sqlite://", "sqlite:///:memory:")
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        **({"poolclass": StaticPool} if memory else {}),
    )
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_conn, _record) -> None:
    """WAL lets readers (exports) run beside the writer; we issue BEGIN ourselves."""
    dbapi_conn.isolation_level = None  # let the "begin" event choose the BEGIN mode
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a commit survives a crash of the process; only a
    # power cut can lose the last commits (documented in README).
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    """BEGIN IMMEDIATE when asked: take the write lock before reading anything."""
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def locked(engine: Engine, phone: str) -> Iterator[Connection]:
    """A transaction in which no other process handles a message from `phone`.

    SQLite: BEGIN IMMEDIATE takes the database's write lock before the first
    read, so two workers can never both read the same state. PostgreSQL: a
    transaction-scoped advisory lock keyed by the phone number serialises one
    number while other numbers go on in parallel.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                    {"key": "phone:" + phone},
                )
            yield conn
