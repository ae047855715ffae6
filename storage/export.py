"""The CSV export, streamed: rows are read and written a batch at a time.

Rows come from the driver's own cursor (a server-side cursor on PostgreSQL),
with times as the database stores them: building SQLAlchemy row objects and
datetimes for a million answers cost more than writing the CSV itself. The long
CSV reads from a SQLAlchemy Connection or from a plain DB-API one alike
(storage/dbapi.py: `flask export` starts without SQLAlchemy).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import itertools
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import TYPE_CHECKING

from bot import values
from bot.design import choice_order, question_order
from bot.model import EXPIRED, EXPORT_COLUMNS, OPEN, TEST_COLUMN
from storage.hot import SESSION_STATUS, Driver, dialect_driver, driver

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from storage.dbapi import Plain

WIDE_HEAD = list(EXPORT_COLUMNS)
LONG_HEAD = [
    "session_id",
    "phone",
    "survey_version",
    "question_id",
    "value",
    "raw_reply",
    "answered_at",
    "language",
    "choice_order",
]
TEST_HEAD = TEST_COLUMN  # with include_tests: 1 for a test session, else 0
BATCH = 2000
# Touches every table an export reads, so that a stuck database answers 503
# before the response starts, not as a CSV cut short after its 200.
PROBE = "SELECT (SELECT 1 FROM survey_session LIMIT 1), (SELECT 1 FROM answer LIMIT 1)"
STARTED = "SELECT 1 FROM survey_session WHERE survey_id = ? LIMIT 1"


def started(db: Plain, survey_id: str) -> bool:
    """Whether the survey has sessions (test ones too), whether served now or retired."""
    sql = dialect_driver(db.dialect).dialect_sql(STARTED)
    cursor = db.raw.cursor()
    cursor.execute(sql, (survey_id,))
    return cursor.fetchone() is not None


def probe(db: Connection) -> None:
    """Read each table an export reads once: its wait (a lock held elsewhere) happens now."""
    db.exec_driver_sql(PROBE).fetchall()


def plain_probe(db: Plain) -> None:
    """`probe` on a plain DB-API connection."""
    cursor = db.raw.cursor()
    cursor.execute(PROBE)
    cursor.fetchall()


WIDE = f"""
SELECT s.id, s.phone, s.survey_version, {SESSION_STATUS}, s.started_at, s.completed_at,
       s.language, s.arm, s.orders, s.disposition, s.attempts, s.answers, s.test
FROM survey_session AS s WHERE {{where}} ORDER BY s.started_at, s.id
"""
LONG = """
SELECT s.id, {cells}, {at}{more}
FROM survey_session AS s JOIN answer AS a ON a.session_id = s.id
WHERE {{where}} ORDER BY s.started_at, s.id, a.id
"""
# PostgreSQL: each answer with its session's cells.
LONG_WITH_SESSIONS = LONG.format(
    cells="a.question_id, a.value, a.raw_reply",
    at="a.answered_at",
    more=", s.phone, s.survey_version, s.language, s.orders, s.test",
)
# SQLite: one row per session, its answers packed in one text. Python's sqlite3 spends
# more on each row it hands over (a step, the GIL, a lock per column) than on each
# of a row's texts. The answers' ANSWER keys (question id, stored value and raw reply
# joined by NULs, which neither an id nor JSON text holds: one string to make and
# look up instead of three) come joined by KEYS, then their times (ISO 8601 in UTC
# from the stored `YYYY-MM-DD HH:MM:SS.ffffff`, one space: one replace a session).
# The aggregate reads the session's answers straight from the index on (session_id,
# id), so they come in the order answered: SQLite steps an aggregate through its
# rows in the order its one index visits them. Separators are bound parameters: as
# char(0) or char(1) a function ran for each answer, and a subquery with ORDER BY
# copied each answer once more (together 0.8 s of 2.4 for 1,000,000 answers). A time
# holds neither separator; a raw reply may hold KEYS, which then shows as more keys
# than times.
ANSWER = "a.question_id || char(0) || a.value || char(0) || a.raw_reply"
KEYS, TIMES = "\x01", "\x02"  # between two answers; between the keys and the times
PACKED_SEPARATORS = ["\0", "\0", KEYS, TIMES, "Z" + KEYS]  # the ?s of LONG_PACKED's SELECT
LONG_PACKED = """
SELECT s.id, s.phone, s.survey_version, s.language, s.orders, s.test, (
  SELECT group_concat(a.question_id || ? || a.value || ? || a.raw_reply, ?) || ?
         || replace(group_concat(a.answered_at, ?), ' ', 'T') || 'Z'
  FROM answer AS a INDEXED BY ix_answer_session_order WHERE a.session_id = s.id)
FROM survey_session AS s WHERE {where} ORDER BY s.started_at, s.id
"""
ANSWERS_OF = f"""
SELECT {ANSWER}, replace(a.answered_at, ' ', 'T') || 'Z' FROM answer AS a
WHERE a.session_id = ? ORDER BY a.id
"""


@dataclass(frozen=True)
class Query:
    """Which sessions of a survey to export, and how."""

    survey_id: str
    # Open sessions last active before this have expired: the wide export and the open
    # and expired filters need it, a long export of other sessions does not.
    idle_before: datetime | None = None
    status: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive
    hash_key: bytes | None = None  # set: phones are replaced by a keyed hash
    version: str | None = None
    language: str | None = None
    arm: str | None = None  # SPEC 12: one arm's sessions
    default_language: str = "en"  # what a session without a stored language is in
    include_tests: bool = False  # test sessions (flask simulate, the try page) too
    # --labels: (version, question id) -> choice value -> label; None: values as stored
    labels: dict[tuple[str, str], dict[str, str]] | None = None
    # --multi columns: a multi question's id -> its choice values, one 1/0 column each
    multi_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # One part of a long export read by several processes (storage/export_parts.py):
    # sessions from this (started_at, id) on, and before that one.
    part_from: tuple[str, int] | None = None
    part_to: tuple[str, int] | None = None


def key_filter(query: Query, alias: str) -> tuple[list[str], list]:
    """The conditions a session row `s` and a tally row `t` share: survey, tests, version,
    language (none or "" is the default), arm."""
    sql, params = [f"{alias}.survey_id = ?"], [query.survey_id]
    if not query.include_tests:
        sql.append(f"NOT {alias}.test")
    if query.version:
        sql.append(f"{alias}.survey_version = ?")
        params.append(query.version)
    if query.language:
        sql.append(f"COALESCE(NULLIF({alias}.language, ''), ?) = ?")
        params += [query.default_language, query.language]
    if query.arm:
        sql.append(f"{alias}.arm = ?")
        params.append(query.arm)
    return sql, params


def session_filter(query: Query, time) -> tuple[str, list]:
    """The filter on survey_session `s` for `query`, and its parameters (export and results)."""
    sql, params = key_filter(query, "s")
    if query.status in (EXPIRED, OPEN):
        sql.append(f"{SESSION_STATUS} = ?")
        params += [time(query.idle_before), query.status]
    elif query.status:
        sql.append("s.status = ?")
        params.append(query.status)
    if query.since:
        sql.append("s.started_at >= ?")
        params.append(time(_midnight(query.since)))
    if query.until and query.until < date.max:  # the last day has no day after it
        sql.append("s.started_at < ?")
        params.append(time(_midnight(query.until) + timedelta(days=1)))
    if query.part_from:  # the order of the export: started_at, then id
        sql.append("(s.started_at, s.id) >= (?, ?)")
        params += query.part_from
    if query.part_to:
        sql.append("(s.started_at, s.id) < (?, ?)")
        params += query.part_to
    return " AND ".join(sql), params


def _midnight(day: date) -> datetime:
    """The start of `day` in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def batches(db: Connection, template: str, query: Query, lead: list) -> Iterator[list[tuple]]:
    """Run an export query on the driver's cursor; its row tuples a batch at a time.

    `template` selects from survey_session `s` with a `{where}` to fill in.
    """
    yield from _batches(db.connection.dbapi_connection, driver(db), template, query, lead)


def _batches(raw, hot: Driver, template: str, query: Query, lead: list) -> Iterator[list[tuple]]:
    """`batches` on a DB-API connection `raw`, never holding all the rows in memory."""
    where, params = session_filter(query, hot.time)
    # psycopg: a named cursor lives on the server and sends BATCH rows at a time.
    cursor = raw.cursor() if hot.sqlite else raw.cursor(name="export")
    cursor.execute(hot.dialect_sql(template.format(where=where)), (*lead, *params))
    while rows := cursor.fetchmany(BATCH):
        yield rows
    cursor.close()


def _phone(phone: str, query: Query) -> str:
    """The phone number, or its keyed hash when sharing data without numbers."""
    if query.hash_key is None:
        if phone[:1] == "+" and phone[1:].isdecimal():  # E.164, a plain number: as it is
            return phone
        return values.safe_cell(phone)
    return phone_hash(phone, query.hash_key)


def phone_hash(phone: str, key: bytes) -> str:
    """A number's keyed hash (SPEC 5): the same number hashes alike in every export."""
    return hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()


def _time(moment: datetime | str | None) -> str:
    """ISO 8601 in UTC, from a datetime or SQLite's stored `YYYY-MM-DD HH:MM:SS.ffffff`."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        return moment.replace(" ", "T", 1) + "Z"
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def wide_rows(db: Connection, query: Query, columns: list[str]) -> Iterator[list[list[str]]]:
    """Batches of rows: one per session, in order of start, one column per question id."""
    tests = [TEST_HEAD] if query.include_tests else []
    yield [WIDE_HEAD + tests + _question_heads(query, columns)]
    for batch in wide_sessions(db, query):
        yield [_wide_row(head, stored, query, columns) for head, stored in batch]


def wide_sessions(db: Connection, query: Query) -> Iterator[list[tuple[list, dict]]]:
    """Batches of sessions in order of start: (the head cells as read, the answers) each.

    The head follows `wide_head(query)`; times are as the driver gives them
    (SQLite: text in UTC). Every wide format (CSV, SPSS, Stata) reads sessions here.
    """
    lead = [driver(db).time(query.idle_before)]
    for batch in batches(db, WIDE, query, lead):
        yield [_session(row, query) for row in batch]


def wide_head(query: Query) -> list[str]:
    """The names of a wide row's session columns, before the questions'."""
    return WIDE_HEAD + ([TEST_HEAD] if query.include_tests else [])


def _session(row: tuple, query: Query) -> tuple[list, dict]:
    """One session's head cells and answers."""
    *head, orders, code, attempts, answers, test = row
    order = question_order(values.load(orders)) if orders else ""
    head += [order, code, attempts]  # SPEC 11: the session's own disposition and attempts
    return head + ([bool(test)] if query.include_tests else []), values.load(answers)


def _wide_row(head: list, stored: dict, query: Query, columns: list[str]) -> list[str]:
    """One session's CSV row."""
    session_id, phone, version, status, started, completed, language, *rest = head
    arm, order, code, attempts, *tests = rest
    cells = []
    for qid in columns:
        if qid in query.multi_columns:
            cells += _pick_cells(stored.get(qid), query.multi_columns[qid])
        else:
            cells.append(_answer_cell(_labelled(query, version, qid, stored.get(qid))))
    return [
        str(session_id),
        _phone(phone, query),
        version,
        status,
        _time(started),
        _time(completed),
        language or "",
        arm or "",
        order,
        code or "",
        str(attempts),
        *(str(int(test)) for test in tests),
        *cells,
    ]


def _question_heads(query: Query, columns: list[str]) -> list[str]:
    """The question columns: one per id, or one per choice (`QUESTION.VALUE`) of a multi."""
    heads = []
    for qid in columns:
        choices = query.multi_columns.get(qid)
        heads += [f"{qid}.{value}" for value in choices] if choices is not None else [qid]
    return heads


def _pick_cells(picks, choices: tuple[str, ...]) -> list[str]:
    """A multi answer as one cell per choice: 1 picked, 0 not, empty when unanswered."""
    if not isinstance(picks, list):
        return [""] * len(choices)
    return ["1" if value in picks else "0" for value in choices]


def _labelled(query: Query, version: str, qid: str, value):
    """A choice's label instead of its value (several for a multi), when labels were asked."""
    names = query.labels.get((version, qid)) if query.labels else None
    if names is None or value is None:
        return value
    if isinstance(value, list):
        return [names.get(one, one) for one in value]
    return names.get(value, value)


def long_csv(db: Connection, query: Query) -> Iterator[str]:
    """The long CSV text, a batch of lines at a time: one per answer, by session in order of start.

    Written without csv.writer: a million rows through it cost twice SQLite's own
    reading. Cells repeat (question ids, choices, numbers), so most are formatted once.
    """
    yield long_head(query)
    with nullcontext() if db.in_transaction() else db.begin():  # one snapshot
        yield from _long_text(db.connection.dbapi_connection, driver(db), query)


def plain_long_csv(db: Plain, query: Query) -> Iterator[str]:
    """`long_csv` on a plain DB-API connection, in a transaction of its own.

    Like the whole app's export: each table read once first (its waits happen
    before the first line), then statements that may run long, in one snapshot.
    """
    with db.transaction():
        plain_probe(db)
        db.long_reads()
        yield long_head(query)
        yield from plain_long_lines(db, query)


def plain_long_lines(db: Plain, query: Query) -> Iterator[str]:
    """The long CSV's answer lines, no header, in the transaction `db` is in."""
    yield from _long_text(db.raw, dialect_driver(db.dialect), query)


def long_head(query: Query) -> str:
    """The long CSV's header line."""
    return _line(LONG_HEAD + ([TEST_HEAD] if query.include_tests else []))


def _long_text(raw, hot: Driver, query: Query) -> Iterator[str]:
    """The long CSV's answer lines, read on the DB-API connection `raw` in its transaction."""
    read = _packed_sessions if hot.sqlite else _joined_sessions
    yield from _long_lines(query, read(raw, hot, query))


def _packed_sessions(raw, hot: Driver, query: Query) -> Iterator[Iterator[tuple]]:
    """SQLite: batches of answered sessions: each its cells, answer keys and times."""
    for batch in _batches(raw, hot, LONG_PACKED, query, PACKED_SEPARATORS):
        # Made as they are written: a batch of them alive at once had the collector
        # walk them over and over (it runs each time 700 more containers are alive).
        yield (_unpacked(raw, row) for row in batch if row[6] is not None)


def _unpacked(raw, row: tuple) -> tuple:
    """A session's cells, its answer keys and its answers' times, from its packed row."""
    keys, _, times = row[6].rpartition(TIMES)
    keys, times = keys.split(KEYS), times.split(KEYS)
    if len(keys) != len(times):  # a raw reply holds the separator: read them one by one
        cursor = raw.cursor()
        cursor.execute(ANSWERS_OF, (row[0],))
        keys, times = map(list, zip(*cursor, strict=True))
    return (*row[:6], keys, times)


def _joined_sessions(raw, hot: Driver, query: Query) -> Iterator[list[tuple]]:
    """PostgreSQL: the same, from one statement that repeats each session's cells."""
    for batch in _batches(raw, hot, LONG_WITH_SESSIONS, query, []):
        sessions = []
        for _, rows in itertools.groupby(batch, key=itemgetter(0)):  # may span two batches
            rows = list(rows)
            keys = ["\0".join(row[1:4]) for row in rows]
            sessions.append((rows[0][0], *rows[0][5:], keys, [_time(row[4]) for row in rows]))
        yield sessions


def _long_lines(query: Query, batches) -> Iterator[str]:
    """The lines of answers (session id, question id, value, raw reply, time, language).

    Sessions come as (id, phone, version, language, orders, test, answer keys, ISO
    times): a key is the question id, the stored value and the raw reply joined by
    NULs. A line is its session's head, cached cells and the time: the per-answer
    work is the export's cost, done by str.join and map where no choice order shows.
    """
    answer_fields, qid_field = _Cells(_answer_fields), _Cells(_field)
    value_field, raw_field = _Cells(_value_field), _Cells(_raw_field)
    fields, labels = answer_fields.__getitem__, query.labels
    for batch in batches:
        lines = []
        for session, phone, version, language, orders, test, keys, times in batch:
            head = f"{session},{_field(_phone(phone, query))},{_field(version)},"
            tail = f",{_field(language or '')},"
            end = f",{int(bool(test))}\r\n" if query.include_tests else "\r\n"
            shown = values.load(orders) if orders else None  # SPEC 12: choices as shown
            if not (shown or labels):  # head, fields and time, then the rest: each line
                joined = map(str.__add__, map(fields, keys), times)
                lines += [head, (tail + end + head).join(joined), tail + end]
                continue
            for key, at in zip(keys, times, strict=True):
                qid, value, raw = key.split("\0", 2)
                cell = _label_field(query, version, qid, value) if labels else value_field[value]
                order = _field(choice_order(shown, qid)) if shown else ""
                lines.append(
                    f"{head}{qid_field[qid]},{cell},{raw_field[raw]},{at}{tail}{order}{end}"
                )
        yield "".join(lines)


def _answer_fields(key: str) -> str:
    """An answer key's three fields (question id, value, raw reply), each followed by a comma."""
    qid, value, raw = key.split("\0", 2)  # a raw reply may hold a NUL: it comes last
    return f"{_field(qid)},{_value_field(value)},{_raw_field(raw)},"


def _raw_field(raw: str) -> str:
    """The field of a raw reply, formula-safe."""
    return _field(values.safe_cell(raw))


def _label_field(query: Query, version: str, qid: str, stored: str) -> str:
    """The field of a stored value with choices' labels instead of their values."""
    return _field(_answer_cell(_labelled(query, version, qid, values.load(stored))))


class _Cells(dict):
    """Fields by stored text, each made on first use and kept while the cache has room."""

    LIMIT, LONGEST = 16384, 120  # a few MB at most; long texts hardly ever repeat

    def __init__(self, make):
        super().__init__()
        self.make = make

    def __missing__(self, key: str) -> str:
        made = self.make(key)
        if len(key) <= self.LONGEST:
            if len(self) >= self.LIMIT:
                self.clear()
            self[key] = made
        return made


def _field(text: str) -> str:
    """One field as csv.writer writes it (excel dialect): quoted only when it must be."""
    if '"' in text or "," in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _line(cells: list[str]) -> str:
    """One CSV line."""
    return ",".join(map(_field, cells)) + "\r\n"


def _value_field(stored: str) -> str:
    """The field of a stored JSON value."""
    return _field(_value_cell(stored))


def _answer_cell(value) -> str:
    """A stored answer as a formula-safe cell."""
    return values.safe_cell(values.to_cell(value))


def _value_cell(stored: str) -> str:
    """The cell of a stored JSON value."""
    if stored[:1] == '"' and "\\" not in stored:  # a text without escapes is its own content
        return values.safe_cell(stored[1:-1])
    return _answer_cell(values.load(stored))


def csv_lines(batches: Iterator[list[list[str]]]) -> Iterator[str]:
    """RFC 4180 CSV text, a batch of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for batch in batches:
        writer.writerows(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
