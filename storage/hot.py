"""The statements every inbound message runs, on the database driver's own cursor.

A profile under load showed SQLAlchemy's per-statement machinery (execution
context, cache keys, result wrappers) costing more than SQLite's own work. The
handful of statements a message runs are therefore written once as SQL text
and run on the DBAPI cursor of the same connection, inside the same locked
transaction. Everything else in storage/ stays on SQLAlchemy Core.

The tables are the ones in models.py; times are stored as SQLAlchemy stores
them (SQLite: `YYYY-MM-DD HH:MM:SS.ffffff` in UTC; PostgreSQL: timestamptz),
so both paths read each other's rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection

SESSION_COLUMNS = (
    "id, survey_id, survey_version, state, status, retries, answers, "
    "started_at, updated_at, completed_at"
)
# One round trip for everything a message needs: the reply if this MessageSid
# was handled before, the number's opt-out state, and its latest session.
LOOKUP = f"""
SELECT (SELECT reply FROM inbound_message WHERE message_sid = ?),
       (SELECT opted_out FROM contact WHERE phone = ?),
       {", ".join("s." + c for c in SESSION_COLUMNS.split(", "))}
FROM (SELECT 1 AS one) AS x
LEFT JOIN survey_session AS s
  ON s.id = (SELECT max(id) FROM survey_session WHERE phone = ?)
"""
INSERT_SESSION = """
INSERT INTO survey_session (phone, survey_id, survey_version, state, status, retries, answers,
                            started_at, updated_at, completed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
"""
UPDATE_SESSION = """
UPDATE survey_session SET survey_id = ?, survey_version = ?, state = ?, status = ?, retries = ?,
                          answers = ?, updated_at = ?, completed_at = ?
WHERE id = ?
"""
INSERT_ANSWER = """
INSERT INTO answer (session_id, question_id, value, raw_reply, answered_at, message_sid)
VALUES (?, ?, ?, ?, ?, ?)
"""
DELETE_ANSWER = "DELETE FROM answer WHERE session_id = ? AND question_id = ?"
INSERT_INBOUND = """
INSERT INTO inbound_message (message_sid, phone, body, received_at, reply, session_id)
VALUES (?, ?, ?, ?, ?, ?)
"""
STATEMENTS = {
    name: sql
    for name, sql in globals().items()
    if name.isupper() and name != "SESSION_COLUMNS" and isinstance(sql, str)
}


class Driver:
    """The hot statements in one dialect's parameter style, with its time conversions."""

    def __init__(self, dialect: str):
        self.sqlite = dialect == "sqlite"
        self.marker = "?" if self.sqlite else "%s"  # sqlite3: qmark; psycopg: format
        self.sql = {name: self.dialect_sql(sql) for name, sql in STATEMENTS.items()}
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

    def run(self, db: Connection, name: str, params: tuple):
        """Execute one statement on the connection's own cursor; the cursor."""
        cursor = db.connection.dbapi_connection.cursor()
        cursor.execute(self.sql[name], params)
        return cursor

    def execute(self, db: Connection, sql: str, params: tuple):
        """Execute SQL written with `?` markers on the connection's own cursor; the cursor."""
        text = self._converted.get(sql)
        if text is None:
            text = self._converted[sql] = self.dialect_sql(sql)
        cursor = db.connection.dbapi_connection.cursor()
        cursor.execute(text, params)
        return cursor

    def stream(self, db: Connection, sql: str, params: tuple, batch: int):
        """Batches of rows of a large query, never holding them all in memory."""
        raw = db.connection.dbapi_connection
        # psycopg: a named cursor lives on the server and sends `batch` rows at a time.
        cursor = raw.cursor() if self.sqlite else raw.cursor(name="export")
        cursor.execute(self.dialect_sql(sql), params)
        while rows := cursor.fetchmany(batch):
            yield rows
        cursor.close()


_DRIVERS = {name: Driver(name) for name in ("sqlite", "postgresql")}


def driver(db: Connection) -> Driver:
    """The Driver for this connection's database."""
    return _DRIVERS[db.dialect.name]
