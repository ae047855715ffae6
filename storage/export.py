"""The CSV export, streamed: rows are read and written a batch at a time."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Connection, String, and_, or_, select, type_coerce

from bot import values
from storage.models import Answer, SurveySession

SESSION = SurveySession.__table__
ANSWER = Answer.__table__
WIDE_HEAD = ["session_id", "phone", "survey_version", "status", "started_at", "completed_at"]
LONG_HEAD = [
    "session_id",
    "phone",
    "survey_version",
    "question_id",
    "value",
    "raw_reply",
    "answered_at",
]
BATCH = 2000
STATUSES = ("open", "completed", "opted_out", "expired", "abandoned")


@dataclass(frozen=True)
class Query:
    """Which sessions of a survey to export, and how."""

    survey_id: str
    expire_after: timedelta
    now: datetime
    status: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive
    hash_key: bytes | None = None  # set: phones are replaced by a keyed hash


def _where(query: Query):
    """The filter on survey_session for `query`."""
    cutoff = query.now - query.expire_after
    conditions = [SESSION.c.survey_id == query.survey_id]
    if query.status == "expired":
        stale = and_(SESSION.c.status == "open", SESSION.c.updated_at < cutoff)
        conditions.append(or_(SESSION.c.status == "expired", stale))
    elif query.status == "open":
        conditions += [SESSION.c.status == "open", SESSION.c.updated_at >= cutoff]
    elif query.status:
        conditions.append(SESSION.c.status == query.status)
    if query.since:
        conditions.append(SESSION.c.started_at >= _midnight(query.since, query.now))
    if query.until:
        conditions.append(SESSION.c.started_at < _midnight(query.until, query.now) + timedelta(1))
    return and_(*conditions)


def _midnight(day: date, now: datetime) -> datetime:
    """The start of `day` in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=now.tzinfo)


def _status(row, query: Query) -> str:
    """A session's status, with an idle open session shown as expired."""
    if row.status == "open" and row.updated_at < query.now - query.expire_after:
        return "expired"
    return row.status


def _phone(phone: str, query: Query) -> str:
    """The phone number, or its keyed hash when sharing data without numbers."""
    if query.hash_key is None:
        return values.safe_cell(phone)
    return hmac.new(query.hash_key, phone.encode(), hashlib.sha256).hexdigest()[:16]


def _time(moment: datetime | str | None) -> str:
    """ISO 8601 in UTC, from a datetime or SQLite's stored `YYYY-MM-DD HH:MM:SS.ffffff`."""
    if moment is None:
        return ""
    if isinstance(moment, str):  # read untyped: parsing a datetime per row would dominate
        return moment.replace(" ", "T", 1) + "Z"
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def wide_rows(db: Connection, query: Query, columns: list[str]) -> Iterator[list[str]]:
    """One row per session, in order of start, one column per question id."""
    yield WIDE_HEAD + columns
    stmt = select(SESSION).where(_where(query)).order_by(SESSION.c.started_at, SESSION.c.id)
    for row in db.execution_options(yield_per=BATCH).execute(stmt):
        answers = values.load(row.answers)
        cells = [_answer_cell(answers.get(qid)) for qid in columns]
        yield [
            str(row.id),
            _phone(row.phone, query),
            row.survey_version,
            _status(row, query),
            _time(row.started_at),
            _time(row.completed_at),
            *cells,
        ]


def long_rows(db: Connection, query: Query) -> Iterator[list[str]]:
    """One row per answer."""
    yield LONG_HEAD
    stmt = (
        select(
            SESSION.c.id,
            SESSION.c.phone,
            SESSION.c.survey_version,
            ANSWER.c.question_id,
            ANSWER.c.value,
            ANSWER.c.raw_reply,
            type_coerce(ANSWER.c.answered_at, String),
        )
        .join(ANSWER, ANSWER.c.session_id == SESSION.c.id)
        .where(_where(query))
        .order_by(SESSION.c.started_at, SESSION.c.id, ANSWER.c.id)
    )
    phones: dict[str, str] = {}
    for session_id, phone, version, qid, value, raw, answered in db.execution_options(
        yield_per=BATCH
    ).execute(stmt):
        if phone not in phones:  # rows come grouped by session: hash each number once
            phones.clear()
            phones[phone] = _phone(phone, query)
        cells = (_value_cell(value), values.safe_cell(raw), _time(answered))
        yield [str(session_id), phones[phone], version, qid, *cells]


def _answer_cell(value) -> str:
    """A stored answer as a formula-safe cell."""
    return values.safe_cell(values.to_cell(value))


@lru_cache(maxsize=4096)
def _value_cell(stored: str) -> str:
    """The cell of a stored JSON value; cached, since choices and numbers repeat a lot."""
    return _answer_cell(values.load(stored))


def csv_lines(rows: Iterator[list[str]]) -> Iterator[str]:
    """RFC 4180 CSV text, a batch of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
