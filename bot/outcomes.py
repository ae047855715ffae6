"""AAPOR dispositions and rates (SPEC 11): pure rules over a case's facts, no storage.

A *case* is one number in one survey. Storage keeps, for each case, the facts
of its latest session (`Facts`) and the best code its earlier sessions reached
(`settled`); the rules here turn those into the case's disposition, and a
report's counts into the sixteen rates of AAPOR's Standard Definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.model import ABANDONED, COMPLETED, EXPIRED, OPEN, OPTED_OUT

# The disposition codes in the order that decides a case (SPEC 11's table).
COMPLETE, PARTIAL, QUOTA_FILLED, NOT_ELIGIBLE = "1.1", "1.2", "4.80", "4.10"
REFUSAL, BREAK_OFF, NO_REPLY, NOT_DELIVERED, NON_WORKING = (
    "2.11",
    "2.12",
    "3.19",
    "3.20",
    "4.30",
)
CODES = (
    (COMPLETE, "complete"),
    (PARTIAL, "partial"),
    (QUOTA_FILLED, "quota filled"),
    (NOT_ELIGIBLE, "not eligible"),
    (REFUSAL, "refusal"),
    (BREAK_OFF, "break-off"),
    (NO_REPLY, "no reply"),
    (NOT_DELIVERED, "not delivered"),
    (NON_WORKING, "non-working number"),
)
RANK = {code: rank for rank, (code, _) in enumerate(CODES)}
NAMES = dict(CODES)

# How a session can end by an author's `outcome` (a `next` entry) or a full quota.
REFUSED, INELIGIBLE, QUOTA_FULL = "refused", "ineligible", "quota_full"
AUTHOR_OUTCOMES = (REFUSED, INELIGIBLE)  # what a survey file may write
OUTCOME_CODES = {REFUSED: REFUSAL, INELIGIBLE: NOT_ELIGIBLE, QUOTA_FULL: QUOTA_FILLED}
COMPLETE_OUTCOME = "complete"  # what templates see as `outcome` at a normal end

# The latest message to a session, as its status callbacks or send error left it.
SENT_OK, FAILED, BAD_NUMBER = "ok", "failed", "bad"
# Twilio's errors that show the number cannot take SMS (SPEC 11: 4.30).
NON_WORKING_ERRORS = frozenset({21211, 21614, 30005, 30006})
UNSENT_STATUSES = frozenset({"failed", "undelivered"})


def delivery_of(status: str, error_code: int | None) -> str:
    """What a message's status and error say about its number: ok, failed or bad."""
    if error_code in NON_WORKING_ERRORS:
        return BAD_NUMBER
    return FAILED if status in UNSENT_STATUSES else SENT_OK


@dataclass(frozen=True)
class Facts:
    """What is known of one session that decides its code."""

    ended: str | None = None  # None while open; else its status, or the outcome that ended it
    answered: bool = False  # answered at least one question
    partial: bool = False  # answered `partial_after` or a question after it
    replied: bool = False  # sent a message after the one that started it
    delivery: str | None = None  # the latest message sent to it by the API; None: none

    def code(self) -> str:
        """The session's code, as if it ended now (SPEC 11: the first row that fits)."""
        if self.ended in OUTCOME_CODES:
            return OUTCOME_CODES[self.ended]
        if self.ended == COMPLETED:
            return COMPLETE
        if self.partial:
            return PARTIAL
        if self.answered:
            return BREAK_OFF
        if self.replied or self.ended == OPTED_OUT:
            return REFUSAL
        if self.delivery == BAD_NUMBER:
            return NON_WORKING
        return NOT_DELIVERED if self.delivery == FAILED else NO_REPLY


def best(*codes: str | None) -> str | None:
    """The code that comes first in the table, of those given."""
    found = [code for code in codes if code is not None]
    return min(found, key=RANK.__getitem__) if found else None


def ended_as(status: str, outcome: str | None) -> str | None:
    """A session's `Facts.ended` from its status and the outcome that ended it, if any."""
    if status == OPEN:
        return None
    return outcome if outcome in OUTCOME_CODES else status


def passed_partial(question_ids: list[str], partial_after: str | None, answered) -> bool:
    """Whether answers reach the survey's `partial_after` question (or one after it)."""
    if partial_after is None or partial_after not in question_ids:
        return False
    later = question_ids[question_ids.index(partial_after) :]
    return any(qid in answered for qid in later)


# -- rates ------------------------------------------------------------------------------

RATE_NAMES = (
    "RR1",
    "RR2",
    "RR3",
    "RR4",
    "RR5",
    "RR6",
    "COOP1",
    "COOP2",
    "COOP3",
    "COOP4",
    "REF1",
    "REF2",
    "REF3",
    "CON1",
    "CON2",
    "CON3",
)


@dataclass(frozen=True)
class Groups:
    """AAPOR's groups: complete, partial, refusal and break-off, non-contact, other..."""

    I: int  # noqa: E741 (AAPOR's own letter)
    P: int
    R: int
    NC: int
    O: int  # noqa: E741 (AAPOR's own letter)
    U: int
    NE: int

    @classmethod
    def of(cls, counts: dict[str, int]) -> Groups:
        """The groups of a count per disposition code."""
        n = counts.get
        unknown = sum(count for code, count in counts.items() if code.startswith("3."))
        eligible_not = sum(count for code, count in counts.items() if code.startswith("4."))
        return cls(
            I=n(COMPLETE, 0),
            P=n(PARTIAL, 0),
            R=n(REFUSAL, 0) + n(BREAK_OFF, 0),
            NC=0,  # no code of SPEC 11's table is a non-contact (2.20) or other (2.30)
            O=0,
            U=unknown,
            NE=eligible_not,
        )

    def e(self) -> float:
        """The share of cases of known eligibility that are eligible (1 when none is known)."""
        known = self.I + self.P + self.R + self.NC + self.O
        return 1.0 if known + self.NE == 0 else known / (known + self.NE)


def rates(counts: dict[str, int], e: float | None = None) -> dict[str, float | None]:
    """The sixteen rates from counts per code; `e` estimated from the counts unless given."""
    return group_rates(Groups.of(counts), e)


def group_rates(g: Groups, e: float | None = None) -> dict[str, float | None]:
    """The sixteen rates of AAPOR's groups; `e` estimated from them unless given."""
    e = g.e() if e is None else e
    ip = g.I + g.P
    base = ip + g.R + g.NC + g.O  # eligible cases that were contacted or not
    contacted = ip + g.R + g.O
    over = {"all": base + g.U, "e": base + e * g.U, "known": base}
    values = {
        "RR1": (g.I, over["all"]),
        "RR2": (ip, over["all"]),
        "RR3": (g.I, over["e"]),
        "RR4": (ip, over["e"]),
        "RR5": (g.I, over["known"]),
        "RR6": (ip, over["known"]),
        "COOP1": (g.I, ip + g.R + g.O),
        "COOP2": (ip, ip + g.R + g.O),
        "COOP3": (g.I, ip + g.R),
        "COOP4": (ip, ip + g.R),
        "REF1": (g.R, over["all"]),
        "REF2": (g.R, over["e"]),
        "REF3": (g.R, over["known"]),
        "CON1": (contacted, over["all"]),
        "CON2": (contacted, over["e"]),
        "CON3": (contacted, over["known"]),
    }
    return {name: _fraction(*values[name]) for name in RATE_NAMES}


def _fraction(top: float, bottom: float) -> float | None:
    """top / bottom, None when bottom is 0."""
    return None if bottom == 0 else top / bottom


@dataclass(frozen=True)
class Tally:
    """A report's cases by code: how many, and how many of them are interim."""

    counts: dict[str, int]
    interim: dict[str, int]
    walk_ins: int  # walk-in cases, whether the counts include them or not


def report(survey_id: str, tally: Tally, e: float | None = None) -> dict[str, Any]:
    """The outcomes report as SPEC 11's JSON: dispositions (zeros too), e and the rates."""
    used_e = Groups.of(tally.counts).e() if e is None else e
    return {
        "survey": survey_id,
        "cases": sum(tally.counts.values()),
        "interim": sum(tally.interim.values()),
        "walk_ins": tally.walk_ins,
        "e": used_e,
        "dispositions": [
            {
                "code": code,
                "name": name,
                "count": tally.counts.get(code, 0),
                "interim": tally.interim.get(code, 0),
            }
            for code, name in CODES
        ],
        "rates": rates(tally.counts, used_e),
    }


def interim(code: str, active_at: datetime | None, idle_before: datetime) -> bool:
    """Whether a case is interim: an open session not idle past expire_after, not complete."""
    return code != COMPLETE and active_at is not None and active_at >= idle_before


# -- what one write tells a case ----------------------------------------------------------


@dataclass(frozen=True)
class Note:
    """What one message or start tells about a session's case (storage merges it in)."""

    survey_id: str
    facts: Facts  # its delivery is left as storage knows it
    starts: bool = False  # the number started this session itself: a walk-in, or a new one
    yielded: bool = False  # a default survey's session left for a keyword before any answer
    active_at: datetime | None = None  # while open: its last activity
    arm: str | None = None


def note(run, survey, *, message: bool) -> Note:
    """The note for a session (`bot.conversation.Run`) after a message (or a start without)."""
    ended = ended_as(run.status, run.outcome)
    # "After" means the file's order, whatever order a session was asked in (SPEC 12).
    ids = [q.id for q in survey.questions] if survey is not None else []
    partial_after = survey.partial_after if survey is not None else None
    facts = Facts(
        ended=ended,
        answered=bool(run.answers),
        partial=passed_partial(ids, partial_after, run.answers),
        # A message to a session it did not start, before it expired, is a reply.
        replied=message and run.id is not None and run.status != EXPIRED,
    )
    return Note(
        survey_id=run.survey_id,
        facts=facts,
        starts=message and run.id is None,
        # A default survey's session that gave way to a keyword before any answer (SPEC 2).
        yielded=run.status == ABANDONED and not run.answers and getattr(run, "by_default", False),
        active_at=run.updated_at if ended is None else None,
        arm=getattr(run, "arm", None),
    )


def merged(old: Facts, new: Facts) -> Facts:
    """The same session's facts after a new note: what it did stays done."""
    return Facts(
        ended=new.ended,
        answered=old.answered or new.answered,
        partial=old.partial or new.partial,
        replied=old.replied or new.replied,
        delivery=old.delivery,
    )
