"""The studio's results: sessions by status, and per question its funnel and its answers.

Every figure is counted over the sessions a filter picks (`export.Query`, the
export's own filter): a handful of GROUP BY statements, each one pass over the
survey's sessions, visits or answers, whatever the number of questions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date

from sqlalchemy import Connection

from bot import values
from bot.model import ABANDONED, COMPLETED, EXPIRED, OPEN, OPTED_OUT, STATUSES, Question, Survey
from storage.export import Query, session_filter
from storage.hot import SESSION_STATUS, driver

ENDED_UNFINISHED = (EXPIRED, OPTED_OUT, ABANDONED)  # a session that stops here "dropped" here
COUNTED = ("choice", "multi", "yesno", "scale")  # types whose answers are counted by value
STATS = ("number", "scale")  # types whose answers get n, min, max, mean, median
LATEST = 10  # the latest answers a text question shows

# Sessions ended by an `outcome` (SPEC 11) are completed but never count as completions.
EARLY = "sum(CASE WHEN s.outcome IS NULL THEN 0 ELSE 1 END)"
SESSIONS = f"""
SELECT {SESSION_STATUS}, s.state, count(*), {EARLY} FROM survey_session AS s
WHERE {{where}} GROUP BY 1, 2
"""
VISITS = """
SELECT v.question_id, count(*), sum(CASE WHEN v.outcome = 'skipped' THEN 1 ELSE 0 END),
       sum(CASE WHEN v.outcome = 'unanswered' THEN 1 ELSE 0 END), sum(v.reprompts)
FROM question_visit AS v JOIN survey_session AS s ON s.id = v.session_id
WHERE {where} GROUP BY 1
"""
# Texts are only counted (their values hardly repeat); every other value is grouped.
ANSWERS = """
SELECT a.question_id, CASE WHEN a.question_id IN ({texts}) THEN NULL ELSE a.value END, count(*)
FROM answer AS a JOIN survey_session AS s ON s.id = a.session_id
WHERE {where} GROUP BY 1, 2
"""
# Answer ids grow with time: the newest first, read backwards until there are
# enough (CROSS JOIN keeps SQLite from reading every session's answers to sort them).
LATEST_TEXTS = """
SELECT a.value, a.answered_at FROM answer AS a CROSS JOIN survey_session AS s
WHERE s.id = a.session_id AND a.question_id = ? AND {where} ORDER BY a.id DESC LIMIT ?
"""
DURATION = {
    "sqlite": "(julianday(s.completed_at) - julianday(s.started_at)) * 86400",
    "postgresql": "EXTRACT(EPOCH FROM s.completed_at - s.started_at)",
}
# Whole seconds: a few thousand distinct durations to count, not a million to sort.
DURATIONS = """
SELECT CAST({duration} AS INTEGER), count(*) FROM survey_session AS s
WHERE s.status = 'completed' AND {where} GROUP BY 1
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
    sessions = _sessions(db, query, funnels)
    _visits(db, query, funnels)
    _answers(db, query, survey, funnels)
    for question in survey.questions:
        _describe(db, query, question, funnels[question.id], older)
    ended = sessions["total"] - sessions[OPEN]
    rate = (sessions[COMPLETED] - sessions.pop("early")) / ended if ended else None
    median = _median_seconds(db, query)
    return Results(survey.id, sessions, rate, median, list(funnels.values()))


def _rows(db: Connection, sql: str, query: Query, lead: tuple = (), tail: tuple = ()) -> list:
    """Run a results statement with the query's filter in `{where}`."""
    hot = driver(db)
    where, params = session_filter(query, hot.time)
    text = sql.replace("{where}", where)
    return hot.execute(db, text, (*lead, *params, *tail)).fetchall()


def _sessions(db: Connection, query: Query, funnels: dict[str, Funnel]) -> dict[str, int]:
    """Sessions by status (`early`: ended by an outcome); each question's dropped and waiting."""
    counts = dict.fromkeys(STATUSES, 0)
    early = 0
    idle_before = driver(db).time(query.idle_before)
    for status, state, n, ended_early in _rows(db, SESSIONS, query, lead=(idle_before,)):
        counts[status] += n
        early += ended_early or 0
        funnel = funnels.get(state)
        if funnel is not None and status in ENDED_UNFINISHED:
            funnel.dropped += n
        elif funnel is not None and status == OPEN:
            funnel.waiting += n
    return {"total": sum(counts.values()), **counts, "early": early}


def _visits(db: Connection, query: Query, funnels: dict[str, Funnel]) -> None:
    """Each question's sessions asked, skips, give-ups and re-prompts."""
    for qid, asked, skipped, unanswered, reprompts in _rows(db, VISITS, query):
        if qid in funnels:
            funnel = funnels[qid]
            funnel.asked, funnel.skipped, funnel.unanswered = asked, skipped, unanswered
            funnel.reprompts = reprompts or 0


def _answers(db: Connection, query: Query, survey: Survey, funnels: dict[str, Funnel]) -> None:
    """Each question's answered sessions, and its stored values with their sessions."""
    texts = [q.id for q in survey.questions if q.type == "text"]
    marks = ", ".join("?" * len(texts)) or "NULL"
    for qid, value, n in _rows(db, ANSWERS.replace("{texts}", marks), query, lead=tuple(texts)):
        if qid in funnels:
            funnels[qid].answered += n
            if value is not None:
                funnels[qid].values[value] += n


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
    """n, min, max, mean and median (of an even count, the mean of the middle two)."""
    numbers = sorted((v, n) for v, n in found if isinstance(v, int | float))
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
    sql = DURATIONS.replace("{duration}", DURATION[db.dialect.name])
    durations = sorted((int(seconds), n) for seconds, n in _rows(db, sql, query))
    total = sum(n for _, n in durations)
    if not total:
        return None
    return (_nth(durations, (total - 1) // 2) + _nth(durations, total // 2)) / 2


def _day_time(db: Connection, stored) -> str:
    """A stored time as `YYYY-MM-DD HH:MM` UTC."""
    return driver(db).read_time(stored).astimezone(UTC).strftime(MINUTE)


MINUTE = "%Y-%m-%d %H:%M"
SUMMARY = f"""
SELECT {SESSION_STATUS}, count(*), max(s.updated_at), {EARLY} FROM survey_session AS s
WHERE {{where}} GROUP BY 1
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
        early += ended_early or 0
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
