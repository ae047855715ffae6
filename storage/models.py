"""All tables. Times are timezone-aware and stored in UTC (SQLModel's UTCDateTime)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, Index, Integer, Text, false, text
from sqlmodel import Field, SQLModel

from bot.model import OPEN


class Contact(SQLModel, table=True):
    """A phone number that has opted out or back in (no row: never opted out)."""

    phone: str = Field(primary_key=True)
    opted_out: bool = False
    changed_at: datetime


class SurveyVersion(SQLModel, table=True):
    """The source of each survey version a session started on, so it outlives edits."""

    __tablename__ = "survey_version"
    survey_id: str = Field(primary_key=True)
    version: str = Field(primary_key=True)
    path: str
    source: str = Field(sa_column=Column(Text, nullable=False))
    first_seen: datetime


OPEN_ONLY = text(f"status = '{OPEN}'")
DUE_ONLY = text("recontact_due IS NOT NULL")


class SurveySession(SQLModel, table=True):
    """One respondent's session with one survey version."""

    __tablename__ = "survey_session"
    __table_args__ = (
        Index("ix_session_phone", "phone", "id"),
        # A number's sessions of one survey (flask invite asks for every number).
        Index("ix_session_phone_survey", "phone", "survey_id", "id"),
        Index("ix_session_survey", "survey_id", "started_at"),
        # The re-contacts due (flask worker): only sessions that have one are in it.
        Index(
            "ix_session_recontact_due",
            "recontact_due",
            sqlite_where=DUE_ONLY,
            postgresql_where=DUE_ONLY,
        ),
        # At most one open session per number and kind (real, test), whatever races happen.
        Index(
            "uq_session_open_phone",
            "phone",
            "test",
            unique=True,
            sqlite_where=OPEN_ONLY,
            postgresql_where=OPEN_ONLY,
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    phone: str
    survey_id: str
    survey_version: str
    state: str  # the current question id, `completed`, or where it stopped
    status: str  # open, completed, opted_out, expired, abandoned
    retries: int = 0
    # Answers only, by question id (JSON): a copy of the session's `answer` rows, read in one go.
    answers: str = Field(sa_column=Column(Text, nullable=False))
    # The engine's bookkeeping, apart from the answers (see bot/conversation.py `Run`):
    # [[question id, language], ...] of the questions left, where BACK goes (JSON)
    trail: str = Field(sa_column=Column(Text, nullable=False, server_default="[]"))
    pending: str | None = Field(default=None, sa_column=Column(Text))  # a choice awaiting YES
    arm: str | None = None  # the study arm it was given (SPEC 10), if any
    orders: str | None = Field(default=None, sa_column=Column(Text))  # shown orders (JSON)
    started_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    reminded_at: datetime | None = None
    language: str | None = None  # the session's language code (SPEC 7); None: the default
    # A test session (flask simulate, the studio's try page); the database fills it in.
    test: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    # What ended it when not its last question: refused, ineligible, quota_full (SPEC 11).
    outcome: str | None = None
    disposition: str | None = None  # its own AAPOR code, as if it ended now (SPEC 11)
    # Messages the bot started to its number for it that Twilio took (invitation, re-contacts).
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # When its next re-contact is due (SPEC 11; None: none), and how many have gone.
    recontact_due: datetime | None = None
    recontacts: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    # Started by the default survey for a number that sent no keyword and was not invited:
    # another survey's keyword takes over until it holds an answer (SPEC 2).
    by_default: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )


class Answer(SQLModel, table=True):
    """One stored answer, with the reply it was read from."""

    __table_args__ = (
        Index("uq_answer_question", "session_id", "question_id", unique=True),
        # A session's answers in the order given, for the long export (migration 0014).
        Index("ix_answer_session_order", "session_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="survey_session.id")
    question_id: str
    value: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    raw_reply: str = Field(sa_column=Column(Text, nullable=False))
    answered_at: datetime
    message_sid: str | None = None


class QuestionVisit(SQLModel, table=True):
    """A question sent to a session, and how it went: the studio's funnel counts these."""

    __tablename__ = "question_visit"
    # SQLite: rows kept in key order, so a session's visits are read together without
    # a second lookup per row (the studio's funnel reads them all; halves its time).
    __table_args__ = {"sqlite_with_rowid": False}
    session_id: int = Field(foreign_key="survey_session.id", primary_key=True)
    question_id: str = Field(primary_key=True)
    reprompts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    outcome: str | None = None  # skipped, unanswered; None: answered or not yet


class LoginFailure(SQLModel, table=True):
    """A wrong studio token, by address: the throttle every worker and machine shares."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_address", "address", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    address: str
    at: datetime


class StudioSignout(SQLModel, table=True):
    """A studio session ended by signing out: its cookie is refused from then on."""

    __tablename__ = "studio_signout"
    session_id: str = Field(primary_key=True)  # the random id the session's cookie carries
    at: datetime


class InboundMessage(SQLModel, table=True):
    """Every message handled, with the reply sent, so a redelivery gets the same reply."""

    __tablename__ = "inbound_message"
    message_sid: str = Field(primary_key=True)
    phone: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime
    # The reply's text as sent ("" for none): TwiML is made only by the webhook (web/twiml.py).
    reply: str = Field(sa_column=Column(Text, nullable=False))
    session_id: int | None = None


class OutboundMessage(SQLModel, table=True):
    """A message the bot sent through Twilio's REST API, and its delivery state."""

    __tablename__ = "outbound_message"
    __table_args__ = (
        Index("ix_outbound_session", "session_id"),
        # Messages a stopped worker left unsent, found by their kind and age (SPEC 11).
        Index("ix_outbound_kind_status", "kind", "status", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    sid: str | None = Field(default=None, unique=True)  # Twilio's MessageSid once accepted
    phone: str
    session_id: int | None = None
    kind: str  # invite or reminder
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str  # pending, queued, sent, delivered, undelivered, failed
    error_code: int | None = None
    created_at: datetime
    updated_at: datetime
    # A pending message is the run's that holds it until lease_until (renewed while
    # the run lives); another run takes it only after that (migration 0015).
    holder: str | None = None
    lease_until: datetime | None = None


class Secret(SQLModel, table=True):
    """A random key the app made once (e.g. for hashing phones), shared by every machine."""

    name: str = Field(primary_key=True)
    value: str


class SurveyClaim(SQLModel, table=True):
    """Which file serves a survey id, a keyword or the default, so every process agrees."""

    __tablename__ = "survey_claim"
    kind: str = Field(primary_key=True)  # id, keyword or default
    name: str = Field(primary_key=True)  # the survey id or the keyword; "" for the default
    file: str  # the file's name in the surveys folder
    survey_id: str
    claimed_at: datetime


class ArmBlock(SQLModel, table=True):
    """The arm draws of one survey version (SPEC 12): how many so far, and the current block.

    Every worker draws from this row, locked by the UPDATE that counts the draw, so
    each block of (sum of weights) new cases holds each arm exactly its weight.
    """

    __tablename__ = "arm_block"
    survey_id: str = Field(primary_key=True)
    version: str = Field(primary_key=True)
    drawn: int = 0  # new cases assigned an arm so far
    block: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON arm ids


class QuotaCount(SQLModel, table=True):
    """Completes counted toward a survey's target ("") or one of its quotas, every version."""

    __tablename__ = "quota_count"
    survey_id: str = Field(primary_key=True)
    key: str = Field(primary_key=True)  # the quota's `when`, spaces squeezed; "" the target
    completes: int = 0


# -- running tallies of the studio's results (migration 0011), kept by triggers ------------


def _count() -> int:
    """A count column: 0 until a trigger adds to it."""
    return Field(default=0, sa_column_kwargs={"server_default": "0"})


class _TallyKey(SQLModel):
    """What a results filter can pick; one tally row per key (and its own columns)."""

    survey_id: str = Field(primary_key=True)
    survey_version: str = Field(primary_key=True)
    language: str = Field(primary_key=True)  # "" for a session without one (the default)
    arm: str = Field(primary_key=True)  # "" for a session without one (SPEC 12)
    test: bool = Field(primary_key=True)
    day: str = Field(primary_key=True)  # YYYY-MM-DD the session started, UTC
    status: str = Field(primary_key=True)  # as stored: an idle open session is still open


TALLY_ARGS = {"sqlite_with_rowid": False}


class TallySession(_TallyKey, table=True):
    """Ended sessions by the state they stopped at (open ones are read from their rows)."""

    __tablename__ = "tally_session"
    __table_args__ = TALLY_ARGS
    state: str = Field(primary_key=True)
    sessions: int = _count()


class TallyQuestion(_TallyKey, table=True):
    """A question's visits and answers, as the funnel counts them."""

    __tablename__ = "tally_question"
    __table_args__ = TALLY_ARGS
    question_id: str = Field(primary_key=True)
    asked: int = _count()
    answered: int = _count()
    skipped: int = _count()
    unanswered: int = _count()
    reprompts: int = _count()


class TallyAnswer(_TallyKey, table=True):
    """Answers by stored value, except text questions' (see TextQuestion)."""

    __tablename__ = "tally_answer"
    __table_args__ = TALLY_ARGS
    question_id: str = Field(primary_key=True)
    value: str = Field(sa_column=Column(Text, primary_key=True))
    answers: int = _count()


class TallyDuration(_TallyKey, table=True):
    """Completed sessions by whole seconds from start to completion."""

    __tablename__ = "tally_duration"
    __table_args__ = TALLY_ARGS
    seconds: int = Field(primary_key=True)
    sessions: int = _count()


class TextQuestion(SQLModel, table=True):
    """The text questions of each stored version: their answers are counted, not tallied."""

    __tablename__ = "text_question"
    __table_args__ = TALLY_ARGS
    survey_id: str = Field(primary_key=True)
    survey_version: str = Field(primary_key=True)
    question_id: str = Field(primary_key=True)


class SurveyCase(SQLModel, table=True):
    """One number in one survey (SPEC 11): its disposition, kept up to date as events arrive.

    The facts of its latest session decide that session's code (bot/outcomes.py);
    `settled` is the best code its earlier sessions reached, `code` the case's.
    """

    __tablename__ = "survey_case"
    # The report reads only this index: one row per case, no table lookups.
    __table_args__ = (Index("ix_case_survey_code", "survey_id", "walk_in", "code", "active_at"),)
    survey_id: str = Field(primary_key=True)
    phone: str = Field(primary_key=True)
    walk_in: bool = False  # started by its number (a keyword), not by an invitation
    created_at: datetime
    code: str  # the disposition, as if its open session ended now
    settled: str | None = None  # the best code of its earlier sessions
    session_id: int | None = None  # its latest session (None once that is gone)
    arm: str | None = None  # its session's experiment arm (SPEC 12)
    ended: str | None = None  # the latest session's facts (bot.outcomes.Facts)...
    answered: bool = False
    partial: bool = False
    replied: bool = False
    delivery: str | None = None
    active_at: datetime | None = None  # ...and its last activity while open (None: ended)
