"""The studio's results: sessions by status, and per question its funnel and its answers.

Every figure is counted over the sessions a filter picks (`export.Query`, the
export's own filter): a handful of GROUP BY statements, each one pass over the
survey's sessions, visits or answers, whatever the number of questions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date

from sqlalchemy import Connection

from bot import values
from bot.flow import outcome_of
from bot.model import ABANDONED, COMPLETED, EXPIRED, OPEN, OPTED_OUT, STATUSES, Question, Survey
from storage.export import Query, key_filter, session_filter
from storage.hot import SESSION_STATUS, driver

ENDED_UNFINISHED = (EXPIRED, OPTED_OUT, ABANDONED)  # a session that stops here "dropped" here
COUNTED = ("choice", "multi", "yesno", "scale")  # types whose answers are counted by value
STATS = ("number", "scale")  # types whose answers get n, min, max, mean, median
LATEST = 10  # the latest answers a text question shows

# Figures come from the running tallies (migration 0011), summed over the keys a
# filter picks. Open sessions are read from their rows (the tallies count a session
# once it ends), so that one idle past expire_after counts as expired (SPEC 9).
TALLIED_SESSIONS = """
SELECT t.status, t.state, sum(t.sessions) FROM tally_session AS t WHERE {where} GROUP BY 1, 2
"""
TALLIED_VISITS = """
SELECT t.question_id, sum(t.asked), sum(t.skipped), sum(t.unanswered), sum(t.reprompts),
       sum(t.answered)
FROM tally_question AS t WHERE {where} GROUP BY 1
"""
TALLIED_VALUES = """
SELECT t.question_id, t.value, sum(t.answers) FROM tally_answer AS t
WHERE {where} AND t.question_id NOT IN ({texts}) GROUP BY 1, 2
"""
TALLIED_DURATIONS = """
SELECT t.seconds, sum(t.sessions) FROM tally_duration AS t
WHERE {where} AND t.status = 'completed' GROUP BY 1
"""
# Open sessions, read through the index of open sessions (SQLite would otherwise
# walk every session of the survey).
OPEN_SESSIONS = {
    "sqlite": "survey_session AS s INDEXED BY uq_session_open_phone",
    "postgresql": "survey_session AS s",
}
OPEN_STATES = """
SELECT s.state, CASE WHEN s.updated_at < ? THEN 1 ELSE 0 END, count(*) FROM {sessions}
WHERE {where} AND s.status = 'open' GROUP BY 1, 2
"""
IDLE_WHERE = "s.status = 'open' AND s.updated_at < ?"
IDLE_VISITS = """
SELECT v.question_id, count(*), sum(CASE WHEN v.outcome = 'skipped' THEN 1 ELSE 0 END),
       sum(CASE WHEN v.outcome = 'unanswered' THEN 1 ELSE 0 END), sum(v.reprompts), 0
FROM {sessions} JOIN question_visit AS v ON v.session_id = s.id WHERE {where} GROUP BY 1
"""
IDLE_ANSWERS = """
SELECT a.question_id, CASE WHEN a.question_id IN ({texts}) THEN NULL ELSE a.value END, count(*)
FROM {sessions} JOIN answer AS a ON a.session_id = s.id WHERE {where} GROUP BY 1, 2
"""
# Answer ids grow with time: the newest first, read backwards until there are
# enough (CROSS JOIN keeps SQLite from reading every session's answers to sort them).
LATEST_TEXTS = """
SELECT a.value, a.answered_at FROM answer AS a CROSS JOIN survey_session AS s
WHERE s.id = a.session_id AND a.question_id = ? AND {where} ORDER BY a.id DESC LIMIT ?
"""


@dataclass
class Funnel:
    """One question's figures over the sessions picked (SPEC 9)."""

    id: str
    type: str
    asked: int = 0
    answered: int = 0
    skipped: int = 0
    unanswered: int = 0
    reprompts: int = 0
    dropped: int = 0
    waiting: int = 0
    counts: dict[str, int] | None = None  # choice, multi, yesno, scale
    stats: dict[str, float] | None = None  # number, scale
    days: dict[str, int] | None = None  # date: answers by day
    latest: list[tuple[str, str]] | None = None  # text: (answer, when), newest first
    values: Counter = field(default_factory=Counter, repr=False)  # stored JSON -> sessions


@dataclass
class Results:
    """A survey's results over the sessions picked."""

    survey: str
    sessions: dict[str, int]
    completion_rate: float | None  # completed over sessions no longer open
    median_seconds: float | None  # median time to complete
    questions: list[Funnel]


def results(db: Connection, query: Query, survey: Survey, older: list[Survey]) -> Results:
    """The results of `survey` (its newest version; `older` ones add values) for `query`."""
    funnels = {q.id: Funnel(q.id, q.type) for q in survey.questions}
    texts = tuple(q.id for q in survey.questions if q.type == "text")
    sessions = dict.fromkeys(STATUSES, 0)
    early = _tallied(db, query, funnels, sessions, texts)
    _open(db, query, funnels, sessions)
    _idle(db, query, funnels, texts)
    for question in survey.questions:
        _describe(db, query, question, funnels[question.id], older)
    ended = sum(sessions.values()) - sessions[OPEN]
    rate = (sessions[COMPLETED] - early) / ended if ended else None
    median = _median_seconds(db, query)
    totals = {"total": sum(sessions.values()), **sessions}
    return Results(survey.id, totals, rate, median, list(funnels.values()))


def _rows(db: Connection, sql: str, query: Query, lead: tuple = (), tail: tuple = ()) -> list:
    """Run a statement on sessions `s` with the query's filter in `{where}`."""
    hot = driver(db)
    where, params = session_filter(query, hot.time)
    text = sql.replace("{where}", where)
    return hot.execute(db, text, (*lead, *params, *tail)).fetchall()


def tally_filter(query: Query) -> tuple[str, list]:
    """The filter on a tally `t` for `query` (as `session_filter` picks sessions)."""
    sql, params = key_filter(query, "t")
    if query.status:  # idle open sessions are stored open: `_idle` moves them
        sql.append("t.status = ?")
        params.append(query.status)
    if query.since:
        sql.append("t.day >= ?")
        params.append(query.since.isoformat())
    if query.until:
        sql.append("t.day <= ?")
        params.append(query.until.isoformat())
    return " AND ".join(sql), params


def _text_ids(texts: tuple) -> str:
    """The `{texts}` list of a statement: a marker each, or '' (no question id) when none.

    Not NULL: `x NOT IN (NULL)` is never true, which dropped every answer's count
    from the results of a survey without a text question.
    """
    return ", ".join("?" * len(texts)) or "''"


def _tallies(db: Connection, sql: str, query: Query, texts: tuple = ()) -> list:
    """Run a statement on tallies `t` with the query's filter in `{where}`."""
    where, params = tally_filter(query)
    text = sql.replace("{where}", where).replace("{texts}", _text_ids(texts))
    return driver(db).execute(db, text, (*params, *texts)).fetchall()


def _tallied(db, query: Query, funnels: dict, sessions: dict, texts: tuple) -> int:
    """Add the tallies' figures: sessions by status, and each question's.

    Returns how many completed sessions an `outcome` ended (SPEC 11): they never
    count as completions.
    """
    early = 0
    for status, state, n in _tallies(db, TALLIED_SESSIONS, query):
        _add_sessions(funnels, sessions, status, state, n)
        early += n if status == COMPLETED and outcome_of(state) else 0
    for qid, *figures in _tallies(db, TALLIED_VISITS, query):
        _add_visits(funnels.get(qid), figures)
    for qid, value, n in _tallies(db, TALLIED_VALUES, query, texts):
        if qid in funnels:
            funnels[qid].values[value] += n
    return early


def _add_sessions(funnels: dict, sessions: dict, status: str, state: str, n: int) -> None:
    """Count `n` sessions of a status stopped at (or waiting on) `state`."""
    sessions[status] += n
    funnel = funnels.get(state)
    if funnel is not None and status in ENDED_UNFINISHED:
        funnel.dropped += n
    elif funnel is not None and status == OPEN:
        funnel.waiting += n


def _add_visits(funnel: Funnel | None, figures: list, sign: int = 1) -> None:
    """Add (asked, skipped, unanswered, reprompts, answered) to a question's funnel."""
    if funnel is not None:
        asked, skipped, unanswered, reprompts, answered = (sign * (n or 0) for n in figures)
        funnel.asked += asked
        funnel.skipped += skipped
        funnel.unanswered += unanswered
        funnel.reprompts += reprompts
        funnel.answered += answered


def _open(db, query: Query, funnels: dict, sessions: dict) -> None:
    """Count the open sessions by the question waiting; those idle past expire_after expired."""
    idle_before = driver(db).time(query.idle_before)
    for state, idle, n in _open_rows(db, OPEN_STATES, query, (idle_before,), ()):
        status = EXPIRED if idle else OPEN
        if query.status in (None, status):
            _add_sessions(funnels, sessions, status, state, n)


def _idle(db, query: Query, funnels: dict, texts: tuple) -> None:
    """Move the visits and answers of idle open sessions when the filter is on open or expired.

    The tallies hold them under open; SPEC 9 counts them as expired.
    """
    if query.status not in (OPEN, EXPIRED):
        return
    sign = -1 if query.status == OPEN else 1
    idle = (driver(db).time(query.idle_before),)
    for qid, *figures in _open_rows(db, IDLE_VISITS, query, (), idle):
        _add_visits(funnels.get(qid), figures, sign)
    for qid, value, n in _open_rows(db, IDLE_ANSWERS, query, texts, idle):
        if qid in funnels:
            funnels[qid].answered += sign * n
            if value is not None:
                funnels[qid].values[value] += sign * n


def _open_rows(db: Connection, sql: str, query: Query, lead: tuple, idle: tuple) -> list:
    """Run a statement on the open sessions `s` that `query` picks (idle ones: with `idle`)."""
    hot = driver(db)
    where, params = session_filter(replace(query, status=None), hot.time)
    text = sql.format(
        sessions=OPEN_SESSIONS[db.dialect.name],
        where=f"{where} AND {IDLE_WHERE}" if idle else where,
        texts=_text_ids(lead if "{texts}" in sql else ()),
    )
    return hot.execute(db, text, (*lead, *params, *idle)).fetchall()


def _describe(db, query: Query, question: Question, funnel: Funnel, older: list[Survey]) -> None:
    """Turn a question's stored values into what its chart shows."""
    found = [(values.load(stored), n) for stored, n in funnel.values.items()]
    if question.type in COUNTED:
        funnel.counts = _counts(question, found, older)
    if question.type in STATS:
        funnel.stats = _stats(found)
    if question.type == "date":
        days = Counter({v.isoformat(): n for v, n in found if isinstance(v, date)})
        funnel.days = dict(sorted(days.items()))
    if question.type == "text":
        rows = _rows(db, LATEST_TEXTS, query, lead=(question.id,), tail=(LATEST,))
        funnel.latest = [(values.load(v), _day_time(db, at)) for v, at in rows]


def _counts(question: Question, found: list, older: list[Survey]) -> dict[str, int]:
    """Every possible stored value in order, with the sessions holding it (each pick counts)."""
    counts = dict.fromkeys(_possible(question, older), 0)
    for value, n in found:
        for one in value if isinstance(value, list) else [value]:
            key = values.to_cell(one)
            counts[key] = counts.get(key, 0) + n
    return counts


def _possible(question: Question, older: list[Survey]) -> list[str]:
    """The values a question can store: its choices (then older versions'), yes/no, the scale."""
    if question.type == "yesno":
        return ["yes", "no"]
    if question.type == "scale":
        return [str(point) for point in range(int(question.min), int(question.max) + 1)]
    found = [c.value for c in question.choices]
    for survey in older:
        previous = survey.by_id.get(question.id)
        found += [c.value for c in previous.choices if c.value not in found] if previous else []
    return found


def _stats(found: list) -> dict[str, float] | None:
    """n, min, max, mean and median (of an even count, the mean of the middle two).

    Over the numbers a reply can give (`values.is_number`): one stored before replies had a
    limit, too long for a float or inf or nan, is left out, so the figures stay plain
    floats (the answer still counts as answered).
    """
    numbers = sorted((v, n) for v, n in found if values.is_number(v))
    total = sum(n for _, n in numbers)
    if not total:
        return {"n": 0, "min": None, "max": None, "mean": None, "median": None}
    mean = sum(v * n for v, n in numbers) / total
    middle = (_nth(numbers, (total - 1) // 2) + _nth(numbers, total // 2)) / 2
    return {
        "n": total,
        "min": numbers[0][0],
        "max": numbers[-1][0],
        "mean": _plain(mean),
        "median": _plain(middle),
    }


def _nth(numbers: list[tuple[float, int]], index: int) -> float:
    """The value at `index` of the sorted list the (value, count) pairs stand for."""
    for value, n in numbers:
        if index < n:
            return value
        index -= n
    raise IndexError(index)


def _plain(number: float) -> int | float:
    """A whole number as an int (4, not 4.0), else the number rounded to 2 places."""
    return int(number) if float(number).is_integer() else round(number, 2)


def _median_seconds(db: Connection, query: Query) -> float | None:
    """The median time from start to completion, in whole seconds; None without completions."""
    durations = sorted((int(seconds), n) for seconds, n in _tallies(db, TALLIED_DURATIONS, query))
    total = sum(n for _, n in durations)
    if not total:
        return None
    return (_nth(durations, (total - 1) // 2) + _nth(durations, total // 2)) / 2


def _day_time(db: Connection, stored) -> str:
    """A stored time as `YYYY-MM-DD HH:MM` UTC."""
    return driver(db).read_time(stored).astimezone(UTC).strftime(MINUTE)


MINUTE = "%Y-%m-%d %H:%M"
SUMMARY = f"""
SELECT {SESSION_STATUS}, count(*), max(s.updated_at),
       sum(CASE WHEN s.outcome IS NULL THEN 0 ELSE 1 END)
FROM survey_session AS s WHERE {{where}} GROUP BY 1
"""
STORED = "SELECT survey_id, count(*) FROM survey_version GROUP BY 1"
TRANSCRIPT = """
SELECT body, reply FROM inbound_message WHERE phone = ? ORDER BY received_at, message_sid
"""


@dataclass
class Summary:
    """A survey's line in the studio's list: sessions by status and the last activity."""

    sessions: dict[str, int]
    completion_rate: float | None
    last_activity: str | None  # `YYYY-MM-DD HH:MM` UTC


def summary(db: Connection, query: Query) -> Summary:
    """Sessions by status, completion rate and last activity of the sessions `query` picks."""
    counts, last, early = dict.fromkeys(STATUSES, 0), None, 0
    idle_before = driver(db).time(query.idle_before)
    for status, n, latest, ended_early in _rows(db, SUMMARY, query, lead=(idle_before,)):
        counts[status] += n
        early += ended_early or 0  # ended by an `outcome` (SPEC 11): never a completion
        last = latest if last is None else max(last, latest)
    ended = sum(counts.values()) - counts[OPEN]
    rate = (counts[COMPLETED] - early) / ended if ended else None
    when = None if last is None else _day_time(db, last)
    return Summary({"total": sum(counts.values()), **counts}, rate, when)


def stored_surveys(db: Connection) -> dict[str, int]:
    """Every survey id with stored versions (served or retired), with its number of versions."""
    return dict(db.exec_driver_sql(STORED).fetchall())


def transcript(db: Connection, phone: str) -> list[tuple[str, str]]:
    """A number's messages in order, each (body, reply as sent)."""
    return [tuple(row) for row in driver(db).execute(db, TRANSCRIPT, (phone,)).fetchall()]
