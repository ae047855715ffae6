"""Each number's case in each survey (SPEC 11), kept up to date as events arrive.

Every event that can change a disposition writes its case in the same
transaction: a message (through `store.apply`), an invitation Twilio took or
refused, a status callback, an opt-out at the carrier. The rules are
bot/outcomes.py's; this module only reads and writes the rows, so that a
report counts one row per case.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection

from bot import outcomes
from bot.model import OPEN, OPTED_OUT
from bot.outcomes import Facts, Note
from storage.hot import Statements, driver, statements


class Case:
    """A case's row as read: its latest session's facts and the best code of earlier ones."""

    def __init__(self, row: tuple):
        walk_in, self.code, self.settled, self.session_id, ended, *flags, delivery = row
        self.walk_in = bool(walk_in)
        answered, partial, replied = (bool(flag) for flag in flags)
        self.facts = Facts(ended, answered, partial, replied, delivery)


def _read(hot: Statements, survey_id: str, phone: str) -> Case | None:
    """The case of a number in a survey, locked for this transaction on PostgreSQL."""
    row = hot.read("CASE_READ", (survey_id, phone)).fetchone()
    return None if row is None else Case(row)


def _write(
    hot: Statements, survey_id: str, phone: str, case: dict, arm=None, before: Case | None = None
) -> None:
    """Update a case from its new facts; its code follows from them.

    `before`: the case as read, when its session stays the same; that session's own
    code is then written only if it changed (most messages leave it as it was).
    """
    facts: Facts = case["facts"]
    code = outcomes.best(case["settled"], facts.code())
    hot.write(
        "CASE_UPDATE",
        (
            code,
            case["settled"],
            case["session_id"],
            facts.ended,
            facts.answered,
            facts.partial,
            facts.replied,
            facts.delivery,
            hot.time(case["active_at"]),
            arm,
            survey_id,
            phone,
        ),
    )
    same = before is not None and before.session_id == case["session_id"]
    if not same or before.facts.code() != facts.code():
        _session_code(hot, case["session_id"], facts)


def _session_code(hot: Statements, session_id: int | None, facts: Facts) -> None:
    """Keep the session's own code beside it, for the export (SPEC 11: `disposition`)."""
    if session_id is not None:
        hot.write("SESSION_DISPOSITION", (facts.code(), session_id))


def _insert(hot: Statements, survey_id: str, phone: str, now, walk_in: bool, **case) -> None:
    """A new case."""
    facts: Facts = case["facts"]
    row = (survey_id, phone, hot.time(now), case.get("arm"), hot.time(case["active_at"]))
    row += (walk_in, facts.code(), None, case["session_id"], facts.ended, facts.answered)
    row += (facts.partial, facts.replied, facts.delivery)
    hot.write("CASE_INSERT", row)
    _session_code(hot, case["session_id"], facts)


def _moved(case: Case, session_id: int | None) -> dict:
    """The case moving on to another session: what the one before reached is settled."""
    settled = outcomes.best(case.settled, case.facts.code())
    return {"settled": settled, "session_id": session_id}


READ = object()  # `note`'s case not given: read it


def note(hot: Statements, phone: str, session_id: int, told: Note, now, case=READ) -> None:
    """Merge what one message (or start) tells about a session into its case.

    `case`: the case as already read in this transaction (None: it has none), else read here.
    """
    if case is READ:
        case = _read(hot, told.survey_id, phone)
    if case is None:
        if told.starts:  # the number started the survey itself: a walk-in
            fresh = {"facts": told.facts, "session_id": session_id, "active_at": told.active_at}
            _insert(hot, told.survey_id, phone, now, True, arm=told.arm, **fresh)
        return  # an invitation's session: its case begins once Twilio takes the invitation
    if case.session_id != session_id:
        if not told.starts:
            return  # news of a session the case has moved on from, or has not reached yet
        change = _moved(case, session_id) | {"facts": told.facts}
    elif told.yielded and case.walk_in and case.settled is None:
        hot.write("CASE_DELETE", (told.survey_id, phone))  # a default survey that gave way
        return
    else:
        if told.facts.replied and not case.facts.replied:
            hot.write("END_RECONTACTS", (session_id,))
        facts = outcomes.merged(case.facts, told.facts)
        change = {"settled": case.settled, "session_id": session_id, "facts": facts}
    _write(hot, told.survey_id, phone, change | {"active_at": told.active_at}, told.arm, case)


def invited(
    db: Connection,
    *,
    survey_id: str,
    phone: str,
    session_id: int | None,
    delivery: str,
    now: datetime,
    ended: str | None = None,
    arm: str | None = None,
) -> None:
    """Twilio took (or refused) an invitation: the case begins, or moves to its new session.

    A refused invitation leaves no session (`session_id` None); one refused because
    the number opted out at the carrier (`ended`) begins no case.
    """
    hot = statements(db)
    case = _read(hot, survey_id, phone)
    active_at = now if session_id is not None else None
    facts = Facts(delivery=delivery, ended=ended)
    if case is None and ended == OPTED_OUT:
        return
    if case is None:
        _insert(
            hot, survey_id, phone, now, False, facts=facts, session_id=session_id,
            active_at=active_at, arm=arm,
        )  # fmt: skip
        return
    if case.session_id == session_id and session_id is not None:
        change = {"settled": case.settled, "session_id": session_id}
        facts = replace(case.facts, delivery=delivery)
    else:
        change = _moved(case, session_id)
    _write(hot, survey_id, phone, change | {"facts": facts, "active_at": active_at}, arm)


def delivered(db: Connection, *, session_id: int, delivery: str) -> None:
    """The latest message to a session was sent, failed or came back: its case knows."""
    found = _case_of(db, session_id)
    if found is None:
        return
    (survey_id, phone), case, active_at = found
    facts = replace(case.facts, delivery=delivery)
    change = {"settled": case.settled, "session_id": session_id, "facts": facts}
    _write(statements(db), survey_id, phone, change | {"active_at": active_at}, before=case)


def ended(db: Connection, *, session_ids: list[int], status: str = OPTED_OUT) -> None:
    """Sessions ended outside the engine (an opt-out at the carrier): their cases know."""
    for session_id in session_ids:
        found = _case_of(db, session_id)
        if found is None:
            continue
        (survey_id, phone), case, _active = found
        facts = replace(case.facts, ended=status)
        change = {"settled": case.settled, "session_id": session_id, "facts": facts}
        _write(statements(db), survey_id, phone, change | {"active_at": None}, before=case)


def forget(db: Connection, *, survey_id: str, phone: str, session_id: int) -> None:
    """An invitation Twilio dropped unsent (30036) took its session: as if never sent."""
    hot = statements(db)
    case = _read(hot, survey_id, phone)
    if case is None or case.session_id != session_id:
        return
    if case.settled is None and not case.walk_in:
        hot.write("CASE_DELETE", (survey_id, phone))
        return
    # With no session left, its code is what the earlier ones reached.
    driver(db).execute(db, FORGET, (survey_id, phone))


FORGET = """
UPDATE survey_case SET code = coalesce(settled, code), session_id = NULL, ended = NULL,
       answered = FALSE, partial = FALSE, replied = FALSE, delivery = NULL, active_at = NULL
WHERE survey_id = ? AND phone = ?
"""


SESSION_OF = "SELECT survey_id, phone, status, updated_at, test FROM survey_session WHERE id = ?"


def _case_of(db: Connection, session_id: int):
    """The case whose latest session this is: (its key, the case, the session's last activity
    while open); None for any other session."""
    row = driver(db).execute(db, SESSION_OF, (session_id,)).fetchone()
    if row is None:
        return None
    survey_id, phone, status, updated_at, test = row
    if test:  # a test session is never a case
        return None
    case = _read(statements(db), survey_id, phone)
    if case is None or case.session_id != session_id:
        return None
    active_at = driver(db).read_time(updated_at) if status == OPEN else None
    return (survey_id, phone), case, active_at


TALLY = """
SELECT code, walk_in, count(*),
       sum(CASE WHEN code <> '1.1' AND active_at >= ? THEN 1 ELSE 0 END)
FROM survey_case WHERE survey_id = ? {where} GROUP BY code, walk_in
"""


def tally(
    db: Connection,
    *,
    survey_id: str,
    idle_before: datetime,
    walk_ins: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    arm: str | None = None,
) -> outcomes.Tally:
    """A survey's cases by code, interim ones apart: one GROUP BY over its cases."""
    hot = statements(db)
    where, params = [], [hot.time(idle_before), survey_id]
    for sql, value in (("created_at >= ?", since), ("created_at < ?", until), ("arm = ?", arm)):
        if value is not None:
            where.append("AND " + sql)
            params.append(hot.time(value) if isinstance(value, datetime) else value)
    query = TALLY.format(where=" ".join(where))
    counts: dict[str, int] = {}
    interim: dict[str, int] = {}
    walked = 0
    for code, walk_in, count, active in driver(db).execute(db, query, tuple(params)):
        walked += count if walk_in else 0
        if walk_in and not walk_ins:
            continue
        counts[code] = counts.get(code, 0) + count
        interim[code] = interim.get(code, 0) + (active or 0)
    return outcomes.Tally(counts, interim, walked)
