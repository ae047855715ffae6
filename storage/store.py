"""The queries the conversation needs: read a phone's situation, write its effects."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot import outcomes, values
from bot.catalog import Claim
from bot.conversation import (
    REPROMPTED,
    SKIPPED,
    UNANSWERED,
    Effects,
    Run,
    Situation,
)
from bot.model import OPEN, OPTED_OUT
from bot.outcomes import Note
from storage import cases as case_store
from storage.hot import SESSION_COLUMNS, SESSION_STATUS, Statements, driver, statements
from storage.messaging import (
    CARRIER_OPT_OUT,
    DELIVERY_ORDER,
    FAILED,
    INVITE,
    NOT_REACHED,
    PENDING,
    REACHED,
    RECONTACT,
    REMINDER,
    RESENDING,
    UNKNOWN_STEP,
)
from storage.models import (
    Answer,
    Contact,
    InboundMessage,
    OutboundMessage,
    QuestionVisit,
    Secret,
    SurveyClaim,
    SurveySession,
    SurveyVersion,
)

SESSION = SurveySession.__table__
ANSWER = Answer.__table__
CONTACT = Contact.__table__
INBOUND = InboundMessage.__table__
VERSION = SurveyVersion.__table__
VISIT = QuestionVisit.__table__
CLAIM = SurveyClaim.__table__


def stored_reply(*, db: Connection | Statements, message_sid: str) -> str | None:
    """The reply already sent for `message_sid`, if it was handled before."""
    return lookup(db=db, phone="", sid=message_sid)[0]


def lookup(
    *, db: Connection | Statements, phone: str, sid: str, test: bool = False
) -> tuple[str | None, Situation]:
    """The reply already sent for `sid` (if handled before) and what is known about `phone`.

    Its sessions are the real ones, or with `test` the test ones only (SPEC 9).
    """
    return read(db=db, phone=phone, sid=sid, test=test).unpack()


def read(*, db: Connection | Statements, phone: str, sid: str, test: bool = False) -> Found:
    """What `lookup` reads, as it came: two reads can be compared, each unpacked afresh."""
    hot = statements(db)
    params = (sid, consent_key(phone, test), phone, test, phone)
    return Found(phone, hot.read("LOOKUP", params).fetchall()[0], hot.read_time)


class Found(NamedTuple):
    """One read of a message's situation; two reads with equal rows saw the same state."""

    phone: str
    row: tuple
    read_time: Callable

    def unpack(self) -> tuple[str | None, Situation]:
        """The stored reply, if any, and a new Situation (the engine changes the one it gets)."""
        reply, opted_out, *session = self.row[:CASE_AT]
        found = Situation(phone=self.phone, opted_out=bool(opted_out))
        if session[0] is not None:
            run = session_of(session, self.read_time)
            found.latest_survey, found.latest_status = run.survey_id, run.status
            if run.status == OPEN:
                found.run = run
            elif run.status == OPTED_OUT:  # START may reopen it
                found.ended = run
        return reply, found

    def cases(self) -> dict[str, case_store.Case | None]:
        """The number's case in its latest real session's survey, as read: {survey: case}."""
        session, case = SessionRow(*self.row[2:CASE_AT]), self.row[CASE_AT:]
        if session.id is None or session.test:  # no session, or a test one: no case read
            return {}
        return {session.survey_id: None if case[0] is None else case_store.Case(case)}


CASE_AT = 2 + len(SESSION_COLUMNS.split(", "))  # where LOOKUP's case columns begin


class SessionRow(NamedTuple):
    """A session's columns in the order of `SESSION_COLUMNS` (storage/hot.py), as stored."""

    id: int | None
    survey_id: str
    survey_version: str
    state: str
    status: str
    retries: int
    answers: str  # JSON: answers only
    trail: str  # JSON: [[question id, language], ...]
    pending: str | None
    arm: str | None
    orders: str | None  # JSON, None when nothing is shuffled
    started_at: Any
    updated_at: Any
    completed_at: Any
    language: str | None
    test: bool
    by_default: bool


def session_row(run: Run, time: Callable) -> SessionRow:
    """A session as its columns hold it; `time` makes the dialect's times."""
    return SessionRow(
        *(run.id, run.survey_id, run.version, run.state, run.status, run.retries),
        values.dump(run.answers),
        values.dump(run.trail),
        run.pending,
        run.arm,
        values.dump(run.orders) if run.orders else None,
        *(time(run.started_at), time(run.updated_at), time(run.completed_at)),
        *(run.language, run.test, run.by_default),
    )


def session_of(row, read_time: Callable) -> Run:
    """The Run that `session_row` stored, from its columns as read."""
    session_id, survey_id, version, state, status, retries, answers, trail, *rest = row
    pending, arm, orders, started, updated, completed, language, test, by_default = rest
    return Run(
        id=session_id,
        survey_id=survey_id,
        version=version,
        state=state,
        status=status,
        retries=retries,
        answers=values.load(answers),
        trail=values.load(trail) or [],
        pending=pending,
        arm=arm,
        orders=values.load(orders) or {},
        started_at=read_time(started),
        updated_at=read_time(updated),
        completed_at=read_time(completed),
        language=language,
        test=bool(test),
        by_default=bool(by_default),
    )


def situation(*, db: Connection | Statements, phone: str, test: bool = False) -> Situation:
    """What is known about `phone`: opt-out state and its latest (real, or test) session."""
    return lookup(db=db, phone=phone, sid="", test=test)[1]


class Inbound(NamedTuple):
    """An inbound message as it is logged: its sid, its text and the reply sent for it."""

    sid: str
    body: str
    reply: str


class Version(NamedTuple):
    """A survey version's source, kept so that sessions on it survive later edits."""

    survey_id: str
    version: str
    path: str
    source: str
    texts: tuple[str, ...] = ()  # its text questions' ids


TEST_CONSENT = "test:"  # the contact row of a number's opt-out state in its test sessions


def consent_key(phone: str, test: bool) -> str:
    """The contact row holding `phone`'s opt-out state: a tester's STOP is not the number's."""
    return TEST_CONSENT + phone if test else phone


def apply(
    *,
    db: Connection | Statements,
    phone: str,
    effects: Effects,
    now: datetime,
    inbound: Inbound | None = None,
    versions: tuple[Version, ...] = (),
    cases: tuple[tuple[Run, Note], ...] = (),
    test: bool = False,
    known: dict | None = None,
) -> int | None:
    """Write all that one message (or one start) changes; the id of the last session written.

    One call per message, in the transaction that read the number's situation:
    the survey versions new sessions use, the contact, the sessions, the
    answers, the questions asked (the studio's funnel) and, for an inbound
    message, its log entry with the reply. `known`: cases read with the situation
    (`Found.cases`), in this transaction.
    """
    hot = statements(db)
    for kept in versions:
        hot.write("REMEMBER_VERSION", (*kept[:4], hot.time(now)))
        for question_id in kept.texts:
            hot.write("REMEMBER_TEXT", (kept.survey_id, kept.version, question_id))
    if effects.opted_out is not None:
        set_opt_out(db=hot, phone=consent_key(phone, test), opted_out=effects.opted_out, now=now)
    ids = {id(run): _write_run(hot, phone, run, run is effects.reopened) for run in effects.runs}
    for run, question_id in effects.removed:
        hot.write("DELETE_ANSWER", (run.id, question_id))
    sid, raw = (inbound.sid, inbound.body) if inbound else (None, "")
    for run, qid, value in effects.saved:
        hot.write("INSERT_ANSWER", (run.id, qid, values.dump(value), raw, hot.time(now), sid))
    for run, qid, what in effects.visits:
        hot.write("VISIT", (ids[id(run)], qid, int(what == REPROMPTED), VISIT_OUTCOMES.get(what)))
    known = dict(known or {})  # each once: a second note of a survey reads what the first wrote
    for run, told in cases:
        case = known.pop(told.survey_id, case_store.READ)
        case_store.note(hot, phone, ids[id(run)], told, now, case)
    last = ids[id(effects.runs[-1])] if effects.runs else None
    if inbound is not None:
        log = (inbound.sid, phone, inbound.body, hot.time(now), inbound.reply, last)
        hot.write("INSERT_INBOUND", log)
    return last


# The outcome a question visit keeps; any other event (asked again) clears it.
VISIT_OUTCOMES = {SKIPPED: SKIPPED, UNANSWERED: UNANSWERED}


def _write_run(hot: Statements, phone: str, run: Run, reopened: bool = False) -> int:
    """Insert a new session or update an existing one (its status too when `reopened`)."""
    row = session_row(run, hot.time)
    if run.id is None:
        return hot.read("INSERT_SESSION", (phone, *row[1:])).fetchone()[0]
    # Sessions are read only while open (`read`), so "open" means the status stands.
    changes = (row.state, row.retries, row.answers, row.trail, row.pending, row.orders)
    changes += (row.updated_at, row.completed_at, row.language, run.id)
    if run.status == OPEN and not reopened:
        hot.write("UPDATE_SESSION", changes)
    else:
        hot.write("END_SESSION", (run.status, run.outcome, *changes))
    return run.id


def set_opt_out(*, db: Connection | Statements, phone: str, opted_out: bool, now: datetime) -> None:
    """Record that `phone` opted out (or back in)."""
    hot = statements(db)
    hot.write("SET_OPT_OUT", (phone, opted_out, hot.time(now)))


def version_source(*, db: Connection, survey_id: str, version: str) -> tuple[str, str] | None:
    """The (path, source) of a stored survey version."""
    row = db.execute(
        select(VERSION.c.path, VERSION.c.source).where(
            VERSION.c.survey_id == survey_id, VERSION.c.version == version
        )
    ).one_or_none()
    return None if row is None else (row.path, row.source)


def _upsert(db: Connection, table):
    """The dialect's INSERT that supports ON CONFLICT."""
    return (pg_insert if db.dialect.name == "postgresql" else sqlite_insert)(table)


def record_delivery(
    *, db: Connection, sid: str, status: str, error_code: int | None, now: datetime
) -> bool:
    """Update a sent message's delivery state from a status callback; False if unknown or stale."""
    table = OutboundMessage.__table__
    step = case(DELIVERY_ORDER, value=table.c.status, else_=UNKNOWN_STEP)
    other_end = NOT_REACHED if status in REACHED else REACHED if status in NOT_REACHED else ()
    result = db.execute(
        update(table)
        .where(
            table.c.sid == sid,
            step <= DELIVERY_ORDER.get(status, UNKNOWN_STEP),
            table.c.status.not_in(other_end),
        )
        .values(
            status=status,
            error_code=func.coalesce(error_code, table.c.error_code),
            updated_at=now,
        )
    )
    return result.rowcount > 0


def note_delivery(*, db: Connection, sid: str, status: str, error_code: int | None) -> None:
    """Tell a message's case how it went, when it is the latest message to its session."""
    table = OutboundMessage.__table__
    row = db.execute(select(table.c.id, table.c.session_id).where(table.c.sid == sid)).one_or_none()
    if row is None or row.session_id is None:
        return
    latest = select(func.max(table.c.id)).where(table.c.session_id == row.session_id)
    if db.execute(latest).scalar_one() != row.id:
        return  # among 3.19, 3.20 and 4.30 the latest message decides (SPEC 11)
    delivery = outcomes.delivery_of(status, error_code)
    case_store.delivered(db, session_id=row.session_id, delivery=delivery)


def sent(
    *,
    db: Connection,
    phone: str,
    session_id: int | None,
    kind: str,
    now,
    error_code: int | None = None,
    recontact_after: timedelta | None = None,
) -> None:
    """Tell a case that Twilio took a message the bot started (or refused it: `error_code`).

    A refused invitation's session is about to go, so its case keeps none. An
    accepted invitation whose survey has `recontact` starts its schedule.
    """
    if session_id is None:
        return
    refused = error_code is not None
    if not refused:  # one more attempt Twilio took (the export's `attempts`)
        attempt = update(SESSION).where(SESSION.c.id == session_id)
        due = {"recontact_due": now + recontact_after} if recontact_after else {}
        db.execute(attempt.values(attempts=SESSION.c.attempts + 1, **due))
    key = db.execute(
        select(SESSION.c.survey_id, SESSION.c.test, SESSION.c.arm).where(SESSION.c.id == session_id)
    ).one_or_none()
    if key is None or key.test:
        return
    delivery = outcomes.delivery_of(FAILED if refused else "queued", error_code)
    if kind == INVITE:
        case_store.invited(
            db,
            survey_id=key.survey_id,
            phone=phone,
            session_id=None if refused else session_id,
            delivery=delivery,
            now=now,
            ended=OPTED_OUT if error_code == CARRIER_OPT_OUT else None,
            arm=key.arm,
        )
    else:
        case_store.delivered(db, session_id=session_id, delivery=delivery)


def stored_versions(*, db: Connection, survey_id: str) -> list[tuple[str, str, str]]:
    """Every stored (version, path, source) of a survey, newest first."""
    rows = db.execute(
        select(VERSION.c.version, VERSION.c.path, VERSION.c.source)
        .where(VERSION.c.survey_id == survey_id)
        .order_by(VERSION.c.first_seen.desc())
    )
    return [tuple(row) for row in rows]


def first_seen(*, db: Connection, survey_id: str) -> dict[str, datetime]:
    """When each stored version of a survey was first seen (its first session started)."""
    rows = db.execute(
        select(VERSION.c.version, VERSION.c.first_seen).where(VERSION.c.survey_id == survey_id)
    )
    return {row.version: row.first_seen for row in rows}


STATUS_COUNTS = f"""
SELECT {SESSION_STATUS}, count(*) FROM survey_session AS s
WHERE s.survey_id = ? AND (? OR NOT s.test) GROUP BY 1
"""


def status_counts(
    *, db: Connection, survey_id: str, idle_before: datetime, include_tests: bool = False
) -> dict[str, int]:
    """Sessions of a survey by status, with idle open sessions counted as expired.

    Test sessions (flask simulate, the studio's try page) count only when asked for.
    """
    hot = driver(db)
    params = (hot.time(idle_before), survey_id, include_tests)
    rows = hot.execute(db, STATUS_COUNTS, params).fetchall()
    return {name: n for name, n in rows}


def has_real_sessions(*, db: Connection, phone: str) -> bool:
    """Whether a number has sessions that are not tests: a respondent's, not a tester's."""
    query = select(SESSION.c.id).where(SESSION.c.phone == phone, SESSION.c.test.is_(False))
    return db.execute(query.limit(1)).first() is not None


def secret(*, db: Connection, name: str) -> bytes:
    """A random key stored once under `name`; the same on every call and machine."""
    table = Secret.__table__
    fresh = secrets.token_hex(32)
    db.execute(_upsert(db, table).values(name=name, value=fresh).on_conflict_do_nothing())
    return bytes.fromhex(db.execute(select(table.c.value).where(table.c.name == name)).scalar_one())


class Invitation(NamedTuple):
    """A number's newest invitation to a survey, with its session's state."""

    id: int
    phone: str
    session_id: int
    kind: str
    body: str
    sid: str | None
    status: str
    session_status: str
    held: bool  # another run's lease on the message is not over: it is on its way
    untouched: bool  # nobody has written to the session yet


# flask invite runs these for every number: SQL text on the driver's cursor (storage/hot.py).
LAST_INVITE = f"""
SELECT o.id, o.phone, o.session_id, o.kind, o.body, o.sid, o.status, s.status,
       o.lease_until IS NOT NULL AND o.lease_until > ?, s.updated_at = s.started_at
FROM survey_session AS s JOIN outbound_message AS o ON o.session_id = s.id
WHERE s.phone = ? AND s.survey_id = ? AND o.kind = '{INVITE}'
ORDER BY o.id DESC LIMIT 1
"""
# Real sessions only: a test session never makes a number count as invited (SPEC 9).
IN_SURVEY = "SELECT 1 FROM survey_session WHERE phone = ? AND survey_id = ? AND NOT test LIMIT 1"
ACTIVE_IN_SURVEY = f"""
SELECT 1 FROM survey_session
WHERE phone = ? AND survey_id = ? AND NOT test AND status = '{OPEN}' AND updated_at >= ? LIMIT 1
"""
ADD_OUTBOUND = f"""
INSERT INTO outbound_message
    (phone, session_id, kind, body, status, created_at, updated_at, holder, lease_until)
VALUES (?, ?, ?, ?, '{PENDING}', ?, ?, ?, ?) RETURNING id
"""


def last_invite(*, db: Connection, phone: str, survey_id: str, now: datetime) -> Invitation | None:
    """The newest invitation of `phone` to a survey, with its session's state, or None."""
    hot = driver(db)
    row = hot.execute(db, LAST_INVITE, (hot.time(now), phone, survey_id)).fetchone()
    if row is None:
        return None
    return Invitation(*row[:-2], held=bool(row[-2]), untouched=bool(row[-1]))


def in_survey(*, db: Connection, phone: str, survey_id: str, active_since=None) -> bool:
    """Whether `phone` has a session of the survey (with `active_since`: open, used since)."""
    hot = driver(db)
    if active_since is None:
        cursor = hot.execute(db, IN_SURVEY, (phone, survey_id))
    else:
        cursor = hot.execute(db, ACTIVE_IN_SURVEY, (phone, survey_id, hot.time(active_since)))
    return cursor.fetchone() is not None


def add_outbound(
    *,
    db: Connection,
    phone: str,
    session_id: int | None,
    kind: str,
    body: str,
    now: datetime,
    holder: str | None = None,
    lease_until: datetime | None = None,
) -> int:
    """Record a message about to be sent ("pending", no sid yet), held by a run; returns its id."""
    hot = driver(db)
    at = hot.time(now)
    values = (phone, session_id, kind, body, at, at, holder, hot.time(lease_until))
    return hot.execute(db, ADD_OUTBOUND, values).fetchone()[0]


def record_send(
    *,
    db: Connection,
    message_id: int,
    sid: str | None,
    status: str,
    error_code: int | None,
    now: datetime,
) -> None:
    """Store what came of sending a message: Twilio's sid and status, or the failure."""
    table = OutboundMessage.__table__
    db.execute(
        update(table)
        .where(table.c.id == message_id)
        .values(sid=sid, status=status, error_code=error_code, updated_at=now)
    )


def record_sends(*, db: Connection, sends: list[tuple[int, str, str]], now: datetime) -> None:
    """Store the (message id, sid, status) of messages Twilio took, in one statement."""
    hot = driver(db)
    rows = [(sid, status, hot.time(now), message_id) for message_id, sid, status in sends]
    db.connection.dbapi_connection.cursor().executemany(hot.dialect_sql(RECORD_SEND), rows)


RECORD_SEND = "UPDATE outbound_message SET sid = ?, status = ?, updated_at = ? WHERE id = ?"


def withdraw(
    *,
    db: Connection,
    message_id: int,
    session_id,
    kind: str,
    resend: bool,
    now=None,
    holder: str | None = None,
) -> None:
    """Undo a message prepared but never handed to Twilio, as if it had not been prepared.

    With `holder`, only while that run still holds the message.
    """
    table = OutboundMessage.__table__
    mine = [table.c.id == message_id] + ([] if holder is None else [table.c.holder == holder])
    if resend:  # an earlier run's message, claimed for sending: pending again, free to take
        db.execute(update(table).where(*mine).values(status=PENDING, holder=None, lease_until=None))
        return
    if db.execute(delete(table).where(*mine)).rowcount == 0:
        return  # another run took it over (this run's lease ran out): its own now
    if kind == INVITE:
        drop_unanswered_session(db=db, session_id=session_id)
    elif kind == REMINDER:
        db.execute(update(SESSION).where(SESSION.c.id == session_id).values(reminded_at=None))
    elif kind == RECONTACT:  # due again at once, as if never claimed
        db.execute(
            update(SESSION)
            .where(SESSION.c.id == session_id)
            .values(recontact_due=now, recontacts=SESSION.c.recontacts - 1)
        )


def claim_resend(
    *,
    db: Connection,
    message_id: int,
    now: datetime,
    holder: str | None = None,
    lease_until: datetime | None = None,
) -> bool:
    """Mark a pending message, never confirmed sent, as sent once more by `holder`.

    Only a message whose lease is over (its run died) or that has none: False for
    one still pending in a live run, or no longer pending. One UPDATE, so of two
    runs that try at once only one gets it.
    """
    table = OutboundMessage.__table__
    result = db.execute(
        update(table)
        .where(
            table.c.id == message_id,
            table.c.status == PENDING,
            table.c.sid.is_(None),
            or_(table.c.lease_until.is_(None), table.c.lease_until <= now),
        )
        .values(status=RESENDING, updated_at=now, holder=holder, lease_until=lease_until)
    )
    return result.rowcount > 0


def renew_leases(
    *, db: Connection, message_ids: list[int], holder: str, lease_until: datetime
) -> set[int]:
    """Extend `holder`'s lease on its messages still on their way; the ids it still holds."""
    table = OutboundMessage.__table__
    result = db.execute(
        update(table)
        .where(table.c.id.in_(message_ids), table.c.holder == holder, table.c.sid.is_(None))
        .values(lease_until=lease_until)
        .returning(table.c.id)
    )
    return set(result.scalars())


def release_leases(*, db: Connection, message_ids: list[int], holder: str) -> None:
    """End `holder`'s lease on messages it leaves unconfirmed: the next run may take them."""
    table = OutboundMessage.__table__
    db.execute(
        update(table)
        .where(table.c.id.in_(message_ids), table.c.holder == holder, table.c.sid.is_(None))
        .values(lease_until=None)
    )


def unsent(*, db: Connection, survey_id: str, kind: str) -> list:
    """Pending messages of `kind`, never confirmed sent, whose session of a survey is open."""
    table = OutboundMessage.__table__
    return db.execute(
        select(table.c.id, table.c.phone, table.c.session_id, table.c.kind, table.c.body)
        .join(SESSION, SESSION.c.id == table.c.session_id)
        .where(
            SESSION.c.survey_id == survey_id,
            SESSION.c.status == OPEN,
            table.c.kind == kind,
            table.c.status == PENDING,
            table.c.sid.is_(None),
        )
        .order_by(table.c.id)
    ).all()


def drop_unanswered_session(*, db: Connection, session_id: int) -> bool:
    """Delete an open session nobody has written to yet (its first message never went out)."""
    table = OutboundMessage.__table__
    unanswered = (
        SESSION.c.id == session_id,
        SESSION.c.status == OPEN,
        SESSION.c.updated_at == SESSION.c.started_at,
        ~select(ANSWER.c.id).where(ANSWER.c.session_id == session_id).exists(),
    )
    # Its first question's visit goes with it: it was never sent.
    db.execute(delete(VISIT).where(VISIT.c.session_id.in_(select(SESSION.c.id).where(*unanswered))))
    result = db.execute(delete(SESSION).where(*unanswered))
    if result.rowcount:
        db.execute(update(table).where(table.c.session_id == session_id).values(session_id=None))
    return result.rowcount > 0


def unsend(*, db: Connection, sid: str) -> None:
    """Treat a message Twilio dropped unsent as never sent: a later run sends it again.

    An invitation's session goes, if nobody has written to it; a reminder's
    session may be reminded again. Neither touches the session's idle time.
    """
    table = OutboundMessage.__table__
    row = db.execute(
        select(table.c.kind, table.c.session_id).where(table.c.sid == sid)
    ).one_or_none()
    if row is None or row.session_id is None:
        return
    if row.kind == INVITE:
        key = db.execute(
            select(SESSION.c.survey_id, SESSION.c.phone).where(SESSION.c.id == row.session_id)
        ).one_or_none()
        if drop_unanswered_session(db=db, session_id=row.session_id) and key is not None:
            case_store.forget(db, survey_id=key[0], phone=key[1], session_id=row.session_id)
    elif row.kind == REMINDER:
        db.execute(
            update(SESSION)
            .where(SESSION.c.id == row.session_id, SESSION.c.status == OPEN)
            .values(reminded_at=None)
        )


def reminder_candidates(
    *, db: Connection, survey_id: str, idle_before: datetime, active_since: datetime
) -> list:
    """Open, never reminded sessions of a survey last used between the two times: (id, phone)."""
    return db.execute(
        select(SESSION.c.id, SESSION.c.phone)
        .where(
            SESSION.c.survey_id == survey_id,
            SESSION.c.status == OPEN,
            SESSION.c.test.is_(False),  # a test number is never sent anything (SPEC 9)
            SESSION.c.reminded_at.is_(None),
            SESSION.c.updated_at <= idle_before,
            SESSION.c.updated_at >= active_since,
        )
        .order_by(SESSION.c.id)
    ).all()


def claim_reminder(
    *, db: Connection, session_id: int, idle_before: datetime, now: datetime
) -> bool:
    """Note that an idle session is being reminded; False if it was reminded or used since."""
    result = db.execute(
        update(SESSION)
        .where(
            SESSION.c.id == session_id,
            SESSION.c.status == OPEN,
            SESSION.c.reminded_at.is_(None),
            SESSION.c.updated_at <= idle_before,
        )
        .values(reminded_at=now)
    )
    return result.rowcount > 0


def recipient(*, db: Connection, sid: str) -> str | None:
    """The number a sent message went to, by its Twilio sid."""
    table = OutboundMessage.__table__
    return db.execute(select(table.c.phone).where(table.c.sid == sid)).scalar_one_or_none()


def opt_out_everywhere(*, db: Connection, phone: str, now: datetime) -> None:
    """Opt a number out and end every open session it has as opted out."""
    set_opt_out(db=db, phone=phone, opted_out=True, now=now)
    open_ids = select(SESSION.c.id).where(SESSION.c.phone == phone, SESSION.c.status == OPEN)
    ending = list(db.execute(open_ids).scalars())
    db.execute(
        update(SESSION)
        .where(SESSION.c.phone == phone, SESSION.c.status == OPEN)
        .values(status=OPTED_OUT, updated_at=now)
    )
    case_store.ended(db, session_ids=ending)


# -- which file serves each id, keyword and default (SPEC 1) ---------------------------------


def claims(*, db: Connection) -> dict[Claim, str]:
    """Every recorded claim and the file that holds it."""
    rows = db.execute(select(CLAIM.c.kind, CLAIM.c.name, CLAIM.c.file))
    return {(kind, name): file for kind, name, file in rows}


def record_claims(*, db: Connection, held: dict[Claim, tuple[str, str]], now: datetime) -> None:
    """Make the recorded claims these: claim -> (file, survey id); the others are released."""
    recorded = claims(db=db)
    for kind, name in set(recorded) - set(held):
        db.execute(delete(CLAIM).where(CLAIM.c.kind == kind, CLAIM.c.name == name))
    for (kind, name), (file, survey_id) in held.items():
        if recorded.get((kind, name)) == file:
            continue
        row = {"kind": kind, "name": name, "file": file, "survey_id": survey_id}
        upsert = _upsert(db, CLAIM).values(**row, claimed_at=now)
        changes = {"file": file, "survey_id": survey_id, "claimed_at": now}
        db.execute(upsert.on_conflict_do_update(index_elements=["kind", "name"], set_=changes))


def version_keys(*, db: Connection) -> set[tuple[str, str]]:
    """Every (survey id, version) a session has started on."""
    return {tuple(row) for row in db.execute(select(VERSION.c.survey_id, VERSION.c.version))}


# -- re-contacts (SPEC 11: `recontact`, flask worker) ---------------------------------------

CLAIM_DUE = """
UPDATE survey_session SET recontact_due = ?
WHERE id IN (SELECT id FROM survey_session WHERE recontact_due <= ?
             ORDER BY recontact_due LIMIT ? {skip_locked})
RETURNING id, phone, survey_id, survey_version
"""


def claim_due(*, db: Connection, now: datetime, lease_until: datetime, limit: int) -> list:
    """Claim up to `limit` due re-contacts until `lease_until`: (id, phone, survey, version).

    Claimed sessions are due again only once the lease is over, so other workers
    pass them by; PostgreSQL's SKIP LOCKED lets two claims run at once without
    waiting for each other, and SQLite's single writer takes them one after the other.
    """
    hot = driver(db)
    skip = "" if hot.sqlite else "FOR UPDATE SKIP LOCKED"
    sql = CLAIM_DUE.format(skip_locked=skip)
    rows = hot.execute(db, sql, (hot.time(lease_until), hot.time(now), limit)).fetchall()
    return sorted(rows, key=lambda row: row[0])


def take_recontact(
    *, db: Connection, session_id: int, lease_until: datetime, next_due: datetime | None
) -> bool:
    """Count one re-contact of a session this worker claimed; False if it lost the claim."""
    result = db.execute(
        update(SESSION)
        .where(SESSION.c.id == session_id, SESSION.c.recontact_due == lease_until)
        .values(recontact_due=next_due, recontacts=SESSION.c.recontacts + 1)
    )
    return result.rowcount > 0


def recontact_later(*, db: Connection, session_id: int, due: datetime | None) -> None:
    """Move a session's next re-contact (None: it has no more)."""
    db.execute(update(SESSION).where(SESSION.c.id == session_id).values(recontact_due=due))


def left_in_flight(*, db: Connection, kind: str, before: datetime) -> list:
    """Pending messages of `kind` never confirmed sent, prepared before `before` (a stopped run)."""
    table = OutboundMessage.__table__
    return db.execute(
        select(table.c.id, table.c.phone, table.c.session_id, table.c.kind, table.c.body)
        .where(
            table.c.kind == kind,
            table.c.status == PENDING,
            table.c.created_at < before,
            table.c.sid.is_(None),
        )
        .order_by(table.c.id)
    ).all()


def session_version(*, db: Connection, session_id: int | None) -> tuple[str, str] | None:
    """A session's (survey id, version), None when it is gone."""
    if session_id is None:
        return None
    query = select(SESSION.c.survey_id, SESSION.c.survey_version).where(SESSION.c.id == session_id)
    row = db.execute(query).one_or_none()
    return None if row is None else (row[0], row[1])


def recontacts_sent(*, db: Connection, session_id: int) -> int:
    """How many re-contacts a session has had."""
    query = select(SESSION.c.recontacts).where(SESSION.c.id == session_id)
    return db.execute(query).scalar_one_or_none() or 0
