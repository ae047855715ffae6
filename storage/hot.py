"""The statements every inbound message runs, on the database driver's own cursor.

A profile under load showed SQLAlchemy's per-statement machinery (execution
context, cache keys, result wrappers) costing more than SQLite's own work. The
handful of statements a message runs are therefore written once as SQL text
and run on the DBAPI cursor, either of a SQLAlchemy Connection's transaction
(`Statements`) or of a transaction of their own (`Batch`, the webhook's). Everything
else in storage/ stays on SQLAlchemy Core.

The tables are the ones in models.py; times are stored as SQLAlchemy stores
them (SQLite: `YYYY-MM-DD HH:MM:SS.ffffff` in UTC; PostgreSQL: timestamptz),
so both paths read each other's rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.model import COMPLETED, EXPIRED, OPEN

if TYPE_CHECKING:  # the export reads without SQLAlchemy (storage/dbapi.py)
    from sqlalchemy import Connection

# The expiry rule (`Survey.idle_before`) in SQL: a session idle past expire_after
# is `expired` even before its number writes again. Its parameter: idle_before.
SESSION_STATUS = (
    f"CASE WHEN s.status = '{OPEN}' AND s.updated_at < ? THEN '{EXPIRED}' ELSE s.status END"
)

# A session's columns as the hot path reads and writes them: see store.session_row.
SESSION_COLUMNS = (
    "id, survey_id, survey_version, state, status, retries, answers, trail, pending, arm, "
    "orders, started_at, updated_at, completed_at, language, test, by_default"
)
# A case's columns as the hot path reads them: see storage/cases.py.
CASE_COLUMNS = "walk_in, code, settled, session_id, ended, answered, partial, replied, delivery"
# One round trip for everything a message needs: the reply if this MessageSid
# was handled before, the number's opt-out state, and its latest session of
# the same kind: a real message never sees a test session, nor a test a real one.
# It also reads the number's case in that session's survey (SPEC 11), which the
# message will update: no round trip of its own (CASE_JOIN, by dialect, below).
CASE_JOIN_MARK = "/*case join*/"
LOOKUP = f"""
SELECT (SELECT reply FROM inbound_message WHERE message_sid = ?),
       (SELECT opted_out FROM contact WHERE phone = ?),
       {", ".join("s." + c for c in SESSION_COLUMNS.split(", "))},
       {", ".join("c." + c for c in CASE_COLUMNS.split(", "))}
FROM (SELECT 1 AS one) AS x
LEFT JOIN survey_session AS s
  ON s.id = (SELECT max(id) FROM survey_session WHERE phone = ? AND test = ?)
{CASE_JOIN_MARK}
"""
_INSERTED = "phone, " + SESSION_COLUMNS.removeprefix("id, ")  # the database gives the id
INSERT_SESSION = f"""
INSERT INTO survey_session ({_INSERTED})
VALUES ({", ".join("?" for _ in _INSERTED.split(", "))}) RETURNING id
"""
# Only the columns a message changes: SQLite rewrites the entries of every index
# on a column in the SET list, even when its value stays the same, and
# PostgreSQL cannot update such a row in place. A session's survey and arm never
# change, and its status only when it ends.
UPDATE_SESSION = """
UPDATE survey_session SET state = ?, retries = ?, answers = ?, trail = ?, pending = ?,
                          orders = ?, updated_at = ?, completed_at = ?, language = ?
WHERE id = ?
"""
END_SESSION = """
UPDATE survey_session SET status = ?, outcome = ?, state = ?, retries = ?, answers = ?, trail = ?,
                          pending = ?, orders = ?, updated_at = ?, completed_at = ?, language = ?
WHERE id = ?
"""
INSERT_ANSWER = """
INSERT INTO answer (session_id, question_id, value, raw_reply, answered_at, message_sid)
VALUES (?, ?, ?, ?, ?, ?)
"""
DELETE_ANSWER = "DELETE FROM answer WHERE session_id = ? AND question_id = ?"
# A question sent to a session (again), re-prompted, skipped or given up on: one
# row per question asked, its re-prompts added up, its outcome the latest.
VISIT = """
INSERT INTO question_visit (session_id, question_id, reprompts, outcome) VALUES (?, ?, ?, ?)
ON CONFLICT (session_id, question_id) DO UPDATE
SET reprompts = question_visit.reprompts + excluded.reprompts, outcome = excluded.outcome
"""
INSERT_INBOUND = """
INSERT INTO inbound_message (message_sid, phone, body, received_at, reply, session_id)
VALUES (?, ?, ?, ?, ?, ?)
"""
SET_OPT_OUT = """
INSERT INTO contact (phone, opted_out, changed_at) VALUES (?, ?, ?)
ON CONFLICT (phone) DO UPDATE SET opted_out = excluded.opted_out, changed_at = excluded.changed_at
"""
REMEMBER_VERSION = """
INSERT INTO survey_version (survey_id, version, path, source, first_seen) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (survey_id, version) DO NOTHING
"""
# A number's case in a survey (SPEC 11), kept up to date by each message (storage/cases.py).
# PostgreSQL locks the row it reads (LOCK_MARK): a status callback may change it meanwhile.
LOCK_MARK = "/*for update*/"
CASE_READ = f"""
SELECT {CASE_COLUMNS} FROM survey_case WHERE survey_id = ? AND phone = ? {LOCK_MARK}
"""
# Test sessions have no case. PostgreSQL cannot lock the nullable side of an
# outer join, but it can lock the rows of a LATERAL subquery.
CASE_JOIN = {
    "sqlite": "LEFT JOIN survey_case AS c "
    "ON c.survey_id = s.survey_id AND c.phone = ? AND NOT s.test",
    "postgresql": f"""LEFT JOIN LATERAL (SELECT {CASE_COLUMNS} FROM survey_case
  WHERE survey_id = s.survey_id AND phone = ? AND NOT s.test {LOCK_MARK}) AS c ON true""",
}
CASE_INSERT = f"""
INSERT INTO survey_case (survey_id, phone, created_at, arm, active_at, {CASE_COLUMNS})
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (survey_id, phone) DO NOTHING
"""
CASE_UPDATE = """
UPDATE survey_case SET code = ?, settled = ?, session_id = ?, ended = ?, answered = ?, partial = ?,
                       replied = ?, delivery = ?, active_at = ?, arm = coalesce(?, arm)
WHERE survey_id = ? AND phone = ?
"""
CASE_DELETE = "DELETE FROM survey_case WHERE survey_id = ? AND phone = ?"
SESSION_DISPOSITION = "UPDATE survey_session SET disposition = ? WHERE id = ?"
# The number's first reply ends its re-contact schedule (SPEC 11).
END_RECONTACTS = (
    "UPDATE survey_session SET recontact_due = NULL WHERE id = ? AND recontact_due IS NOT NULL"
)
# Study design (SPEC 12): an UPDATE locks the one row every worker counts on until
# COMMIT (PostgreSQL), so draws and completes are counted one at a time.
ENSURE_ARM_BLOCK = """
INSERT INTO arm_block (survey_id, version, drawn, block) VALUES (?, ?, 0, '[]')
ON CONFLICT (survey_id, version) DO NOTHING
"""
DRAW_ARM = """
UPDATE arm_block SET drawn = drawn + 1 WHERE survey_id = ? AND version = ? RETURNING drawn, block
"""
NEW_ARM_BLOCK = "UPDATE arm_block SET block = ? WHERE survey_id = ? AND version = ?"
CASE_ARM = """
SELECT arm FROM survey_session
WHERE phone = ? AND survey_id = ? AND arm IS NOT NULL AND test = ? ORDER BY id DESC LIMIT 1
"""
QUOTA_COUNTS = "SELECT key, completes FROM quota_count WHERE survey_id = ?"
# A key's first count (storage/design.py: counted from the completes before it), written
# once: a worker that loses the race to insert it waits for the winner's COMMIT, then
# counts on the winner's row.
ENSURE_QUOTA = """
INSERT INTO quota_count (survey_id, key, completes) VALUES (?, ?, ?)
ON CONFLICT (survey_id, key) DO NOTHING
"""
# Every session of a survey that completed with code 1.1 (SPEC 11: not through an outcome
# or a full quota; never a test), of any version: what a new key's first count counts.
COMPLETED_SESSIONS = f"""
SELECT answers, arm, completed_at FROM survey_session
WHERE survey_id = ? AND status = '{COMPLETED}' AND outcome IS NULL AND test = ?
"""
LOCK_QUOTA = """
UPDATE quota_count SET completes = completes WHERE survey_id = ? AND key = ? RETURNING completes
"""
ADD_COMPLETE = "UPDATE quota_count SET completes = completes + 1 WHERE survey_id = ? AND key = ?"
# Its text questions, whose answers the tallies count without their values (0011).
REMEMBER_TEXT = """
INSERT INTO text_question (survey_id, survey_version, question_id) VALUES (?, ?, ?)
ON CONFLICT (survey_id, survey_version, question_id) DO NOTHING
"""
STATEMENTS = {  # the hot path's statements by name, prepared once per connection
    "LOOKUP": LOOKUP,
    "INSERT_SESSION": INSERT_SESSION,
    "UPDATE_SESSION": UPDATE_SESSION,
    "END_SESSION": END_SESSION,
    "INSERT_ANSWER": INSERT_ANSWER,
    "DELETE_ANSWER": DELETE_ANSWER,
    "VISIT": VISIT,
    "INSERT_INBOUND": INSERT_INBOUND,
    "SET_OPT_OUT": SET_OPT_OUT,
    "REMEMBER_VERSION": REMEMBER_VERSION,
    "CASE_READ": CASE_READ,
    "CASE_INSERT": CASE_INSERT,
    "CASE_UPDATE": CASE_UPDATE,
    "CASE_DELETE": CASE_DELETE,
    "SESSION_DISPOSITION": SESSION_DISPOSITION,
    "END_RECONTACTS": END_RECONTACTS,
    "REMEMBER_TEXT": REMEMBER_TEXT,
    "ENSURE_ARM_BLOCK": ENSURE_ARM_BLOCK,
    "DRAW_ARM": DRAW_ARM,
    "NEW_ARM_BLOCK": NEW_ARM_BLOCK,
    "CASE_ARM": CASE_ARM,
    "QUOTA_COUNTS": QUOTA_COUNTS,
    "ENSURE_QUOTA": ENSURE_QUOTA,
    "COMPLETED_SESSIONS": COMPLETED_SESSIONS,
    "LOCK_QUOTA": LOCK_QUOTA,
    "ADD_COMPLETE": ADD_COMPLETE,
}


class Driver:
    """The hot statements in one dialect's parameter style, with its time conversions."""

    def __init__(self, dialect: str):
        self.sqlite = dialect == "sqlite"
        self.marker = "?" if self.sqlite else "%s"  # sqlite3: qmark; psycopg: format
        lock = "" if self.sqlite else "FOR UPDATE"  # SQLite's writer holds the whole database
        join = CASE_JOIN[dialect]
        source = {
            name: sql.replace(CASE_JOIN_MARK, join).replace(LOCK_MARK, lock)
            for name, sql in STATEMENTS.items()
        }
        self.sql = {name: self.dialect_sql(sql).strip() for name, sql in source.items()}
        # A Batch on PostgreSQL binds values client-side, which would have the
        # server parse and plan every statement every time: it runs them as
        # statements prepared once per connection instead.
        self.prepare = ";\n".join(
            f"PREPARE hot_{name.lower()} AS {_numbered(sql.strip())}"
            for name, sql in source.items()
        )
        self.prepared = {
            name: f"EXECUTE hot_{name.lower()}({', '.join(['%s'] * sql.count('?'))})"
            for name, sql in source.items()
        }
        self._converted: dict[str, str] = {}  # other statements, converted on first use

    def dialect_sql(self, sql: str) -> str:
        """SQL written with `?` markers in this driver's parameter style."""
        return sql.replace("?", self.marker)

    def time(self, moment: datetime | None):
        """A time as the dialect stores it."""
        if moment is None or not self.sqlite:
            return moment
        # SQLAlchemy's SQLite format, `YYYY-MM-DD HH:MM:SS.ffffff`; isoformat is twice as fast.
        return moment.astimezone(UTC).isoformat(" ", "microseconds")[:26]

    def read_time(self, value) -> datetime | None:
        """A stored time as an aware datetime."""
        if value is None or isinstance(value, datetime):
            return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def execute(self, db: Connection, sql: str, params: tuple):
        """Execute SQL written with `?` markers on the connection's own cursor; the cursor."""
        text = self._converted.get(sql)
        if text is None:
            text = self._converted[sql] = self.dialect_sql(sql)
        cursor = db.connection.dbapi_connection.cursor()
        cursor.execute(text, params)
        return cursor


def _numbered(sql: str) -> str:
    """SQL written with `?` markers, with PostgreSQL's $1, $2... instead."""
    first, *rest = sql.split("?")
    return first + "".join(f"${i}{part}" for i, part in enumerate(rest, 1))


_DRIVERS = {name: Driver(name) for name in ("sqlite", "postgresql")}


def driver(db: Connection) -> Driver:
    """The Driver for this connection's database."""
    return _DRIVERS[db.dialect.name]


def dialect_driver(dialect: str) -> Driver:
    """The Driver for a database by its dialect's name ("sqlite" or "postgresql")."""
    return _DRIVERS[dialect]


class Statements:
    """The hot statements run at once, in a transaction that someone else manages."""

    def __init__(self, dbapi, dialect: str):
        self.dbapi = dbapi
        self.driver = _DRIVERS[dialect]
        self.sql = self.driver.sql
        self.time = self.driver.time
        self.read_time = self.driver.read_time

    def read(self, name: str, params: tuple):
        """Execute a statement whose rows are needed now; the cursor."""
        cursor = self.dbapi.cursor()
        cursor.execute(self.sql[name], params)
        return cursor

    def write(self, name: str, params: tuple) -> None:
        """Execute a statement whose outcome only matters at COMMIT."""
        self.read(name, params)


def statements(db: Connection | Statements) -> Statements:
    """The hot statements on `db`: a Batch as it is, else the Connection's own DBAPI connection."""
    if isinstance(db, Statements):
        return db
    return Statements(db.connection.dbapi_connection, db.dialect.name)


class Batch(Statements):
    """A locked write transaction of its own, its writes held back and sent with the next read.

    On PostgreSQL every round trip is a wait on a sync worker: BEGIN, the
    phone's lock and the first read go as one query string, and the writes
    with the COMMIT as another (client-side binding, as psycopg's ClientCursor
    quotes values; the connection is in autocommit mode so that psycopg sends
    no BEGIN of its own), each a statement prepared once per connection (`info`
    remembers it). On SQLite each statement runs on its own, in order.
    """

    def __init__(self, dbapi, dialect: str, info: dict, begin: str, params: tuple = ()):
        super().__init__(dbapi, dialect)
        self.pending: list[tuple[str, tuple]] = [(begin, params)]
        self.sqlite = self.driver.sqlite
        self.sent = False
        if not self.sqlite:
            from psycopg import ClientCursor  # only needed, and installed, for PostgreSQL

            self._cursor = ClientCursor
            self.dbapi.autocommit = True
            self.sql = self.driver.prepared
            if not info.get("hot_prepared"):
                ClientCursor(self.dbapi).execute(self.driver.prepare)
                info["hot_prepared"] = True

    def read(self, name: str, params: tuple):
        """Send the held-back statements and this one; the cursor on this one's rows."""
        self.pending.append((self.sql[name], params))
        return self._send()

    def write(self, name: str, params: tuple) -> None:
        """Hold a write back until the next read or the COMMIT."""
        self.pending.append((self.sql[name], params))

    def read_pending(self) -> None:
        """Send the held-back statements now (SQLite: BEGIN IMMEDIATE before the first read)."""
        self._send()

    def commit(self) -> None:
        """Send the held-back writes and COMMIT."""
        self.pending.append(("COMMIT", ()))
        self._send()

    def rollback(self) -> None:
        """Undo whatever was sent; nothing held back is sent."""
        self.pending.clear()
        if self.sent:  # both drivers ask the database whether a transaction is open
            self.dbapi.rollback()

    def close(self) -> None:
        """Hand the connection back as the pool lent it."""
        if not self.sqlite:
            self.dbapi.autocommit = False

    def _send(self):
        """Execute the held-back statements in order; the cursor on the last one's rows."""
        pending, self.pending, self.sent = self.pending, [], True
        if self.sqlite:
            cursor = self.dbapi.cursor()
            for sql, params in pending:
                cursor.execute(sql, params)
            return cursor
        cursor = self._cursor(self.dbapi)
        cursor.execute(";\n".join(sql for sql, _ in pending), sum((p for _, p in pending), ()))
        while cursor.nextset():  # one result per statement: the last one's is wanted
            pass
        return cursor
