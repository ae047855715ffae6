"""The conversation engine: one inbound message in, the changes and the reply out.

`Conversation.handle` is pure with respect to the outside world: it reads a
`Situation` (what storage knows about the phone number) and returns `Effects`
(what storage must write and what to send back). Storage applies them in the
same transaction that read the situation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.flow import FINISHED, NEW, Flow, Position
from bot.model import (
    ABANDONED,
    COMPLETED,
    EXPIRED,
    HELP_WORDS,
    OPEN,
    OPT_IN_WORDS,
    OPT_OUT_WORDS,
    OPTED_OUT,
    Question,
    Survey,
)
from bot.replies import Invalid, normalise, read_reply


class SurveySource(Protocol):
    """Where the engine finds surveys (the catalog, plus versions kept in storage)."""

    def get(self, survey_id: str) -> Survey | None: ...
    def version(self, survey_id: str, version: str) -> Survey | None: ...
    def by_keyword(self, word: str) -> Survey | None: ...
    def default(self) -> Survey | None: ...
    def surveys(self) -> list[Survey]: ...


@dataclass
class Run:
    """A respondent's session with one survey version."""

    survey_id: str
    version: str
    state: str
    started_at: datetime
    updated_at: datetime
    status: str = OPEN
    retries: int = 0
    answers: dict[str, Any] = field(default_factory=dict)  # insertion order = answer order
    completed_at: datetime | None = None
    id: int | None = None  # None: a new session, not yet written
    language: str | None = None  # the code it is answered in; None: the survey's default
    test: bool = False  # a test session (flask simulate, the studio's try page)


@dataclass
class Situation:
    """What storage knows about a phone number as a message arrives (the engine only reads it)."""

    phone: str
    opted_out: bool = False
    run: Run | None = None  # the open session, if any
    latest_survey: str | None = None  # survey of the latest session, open or not
    latest_status: str | None = None
    test: bool = False  # a test number (flask simulate, the try page): its sessions are tests


# What happened to a question in one message (`Effects.visits`), for the studio's
# funnel: storage keeps one row per question a session was asked.
ASKED, REPROMPTED, SKIPPED, UNANSWERED = "asked", "reprompted", "skipped", "unanswered"


@dataclass
class Effects:
    """What one message changes, for storage to write, and the reply to send.

    The runs here are the engine's own copies: a new run has no id, and storage
    reports the ids it gave them instead of writing them back.
    """

    reply: str | None = None  # None: an empty <Response/>
    opted_out: bool | None = None  # the contact's new opt-out state, None if unchanged
    runs: list[Run] = field(default_factory=list)  # every run whose row changed
    saved: list[tuple[Run, str, Any]] = field(default_factory=list)  # (run, question id, value)
    removed: list[tuple[Run, str]] = field(default_factory=list)  # answers taken back
    visits: list[tuple[Run, str, str]] = field(default_factory=list)  # (run, question id, ASKED...)

    def touch(self, run: Run) -> Run:
        """Note that `run` must be written."""
        if run not in self.runs:
            self.runs.append(run)
        return run


HELP_TEXT = (
    "{name}: a survey by text message. Reply STOP to opt out, BACK to change your last "
    "answer, RESTART to start over."
)
OPTED_IN_TEXT = "You are subscribed again and will get our messages. Reply STOP to opt out."
NEED_TEXT = "Please reply with text."
MOVE_ON_TEXT = "Let's move on."
SKIP_REFUSED = "This question needs an answer."


class Conversation:
    """Reads messages and moves sessions, sharing one Flow per survey version."""

    def __init__(self, library: SurveySource):
        self.library = library
        self._flows: dict[tuple[str, str], Flow] = {}

    def flow(self, survey: Survey) -> Flow:
        """The machine of this survey version, built once."""
        key = (survey.id, survey.version)
        if key not in self._flows:
            self._flows[key] = Flow(survey)
        return self._flows[key]

    def handle(self, situation: Situation, text: str, *, now: datetime, media: int = 0) -> Effects:
        """Read one message from `situation.phone` and decide what changes."""
        effects = Effects()
        word = normalise(text)
        if situation.opted_out:
            return self._while_opted_out(word, effects)
        if word in OPT_OUT_WORDS:
            return self._opt_out(situation, effects, now)
        run = self._live_run(situation, effects, now)
        if not word and not text.strip():
            effects.reply = self._with_current(NEED_TEXT, run)
            return effects
        if word in HELP_WORDS:
            effects.reply = self._help(run)
            return effects
        if word in OPT_IN_WORDS - {"yes"}:  # already subscribed: confirm, carry on
            effects.reply = self._with_current(OPTED_IN_TEXT, run)
            return effects
        keyword = self.library.by_keyword(word)
        if keyword is not None:
            return self._start(keyword, run, effects, now, situation.test)
        if word == "restart":
            return self._restart(situation, run, effects, now)
        if run is None:
            latest = situation.latest_status if situation.run is None else EXPIRED
            return self._no_session(situation, latest, effects, now)
        return self._answer(run, text, word, effects, now)

    def begin(self, situation: Situation, survey: Survey, *, now: datetime) -> Effects:
        """Start `survey` for a number (an invitation, a simulation), ending its open session."""
        effects = Effects()
        run = self._live_run(situation, effects, now)
        return self._start(survey, run, effects, now, situation.test)

    def remind(self, run: Run) -> str | None:
        """A nudge for an unfinished session: the survey's `reminder`, then its question again."""
        survey = self._survey_of(run)
        if survey is None or run.state not in survey.by_id:
            return None
        context = Position(survey, run.state, run.answers).context
        return self._with_current(survey.reminder.render(context) if survey.reminder else "", run)

    # -- commands ---------------------------------------------------------

    def _while_opted_out(self, word: str, effects: Effects) -> Effects:
        """Only an opt-in word gets a reply while a number is opted out."""
        if word in OPT_IN_WORDS:
            effects.opted_out = False
            effects.reply = OPTED_IN_TEXT
        return effects

    def _opt_out(self, situation: Situation, effects: Effects, now: datetime) -> Effects:
        """End the open session as opted out; send nothing (the carrier confirms)."""
        effects.opted_out = True
        if situation.run is not None:
            self._close(_copy(situation.run), OPTED_OUT, effects, now)
        return effects

    def _live_run(self, situation: Situation, effects: Effects, now: datetime) -> Run | None:
        """A copy of the open session, or None once it has expired (and is closed as such)."""
        if situation.run is None:
            return None
        run = _copy(situation.run)
        survey = self._survey_of(run)
        if survey is None or survey.expired(run.updated_at, now):
            self._close(run, EXPIRED, effects, now)
            return None
        return run

    def _help(self, run: Run | None) -> str:
        """The help text, then the current question again."""
        survey = self._survey_of(run) if run else self.library.default()
        name = survey.name if survey else "Surveys"
        return self._with_current(HELP_TEXT.format(name=name), run)

    def _restart(self, situation: Situation, run: Run | None, effects: Effects, now: datetime):
        """Start the same survey again, in its current version, from the top."""
        survey_id = run.survey_id if run else situation.latest_survey
        survey = (survey_id and self.library.get(survey_id)) or self.library.default()
        if survey is None:
            effects.reply = self._keyword_list()
            return effects
        return self._start(survey, run, effects, now, situation.test)

    def _no_session(self, situation: Situation, latest_status, effects: Effects, now) -> Effects:
        """A number with no open session: already completed, the default survey, or keywords."""
        if latest_status == COMPLETED:
            survey = self.library.get(situation.latest_survey or "")
            name = survey.name if survey else "this survey"
            effects.reply = f"You have already completed {name}. Thank you! " + self._keyword_list()
            return effects
        default = self.library.default()
        if default is None:
            effects.reply = self._keyword_list()
            return effects
        return self._start(default, None, effects, now, situation.test)

    # -- the survey itself ------------------------------------------------

    def _start(self, survey: Survey, run: Run | None, effects: Effects, now, test: bool) -> Effects:
        """Abandon the open session, if any, and start `survey` from the first question."""
        if run is not None:
            self._close(run, ABANDONED, effects, now)
        new = Run(survey.id, survey.version, NEW, started_at=now, updated_at=now, test=test)
        effects.touch(new)
        position = Position(survey, NEW, new.answers)
        state = self.flow(survey).trigger("start", position)
        intro = survey.intro.render(position.context) if survey.intro else ""
        effects.reply = self._arrive(survey, new, state, intro, effects, now)
        return effects

    def _answer(self, run: Run, text: str, word: str, effects: Effects, now: datetime) -> Effects:
        """Read a reply to the current question and move on, re-prompt or take back."""
        survey = self._survey_of(run)
        question = survey.by_id.get(run.state) if survey else None
        if question is None:  # the session's version lost the question: start again
            survey = self.library.get(run.survey_id) or survey
            return self._start(survey, run, effects, now, run.test)
        effects.touch(run).updated_at = now
        if word == "back":
            return self._back(survey, run, question, effects)
        value = self._read(survey, question, text, word, now)
        position = Position(survey, run.state, run.answers)
        flow = self.flow(survey)
        if isinstance(value, Invalid):
            if run.retries < survey.max_retries:
                run.retries += 1
                effects.visits.append((run, question.id, REPROMPTED))
                flow.trigger("reprompt", position)
                reason = question.error.render(position.context) if question.error else value.reason
                effects.reply = reason + "\n\n" + self._ask(survey, question, position)
                return effects
            effects.visits.append((run, question.id, UNANSWERED))
            state = flow.trigger("unanswered", position)
            effects.reply = self._arrive(survey, run, state, MOVE_ON_TEXT, effects, now)
            return effects
        if value is None:
            effects.visits.append((run, question.id, SKIPPED))
            state = flow.trigger("unanswered", position)
        else:
            run.answers[question.id] = value
            effects.saved.append((run, question.id, value))
            state = flow.trigger("answered", position)
        effects.reply = self._arrive(survey, run, state, "", effects, now)
        return effects

    def _back(self, survey: Survey, run: Run, question: Question, effects: Effects) -> Effects:
        """Take back the last answer and ask its question again."""
        run.retries = 0
        if run.answers:
            last = next(reversed(run.answers))
            del run.answers[last]
            effects.removed.append((run, last))
            effects.visits.append((run, last, ASKED))  # again: a skip or give-up there is undone
            position = Position(survey, run.state, run.answers)
            run.state = self.flow(survey).trigger(f"back_to_{last}", position)
            question = survey.by_id[last]
        effects.reply = self._ask(survey, question, Position(survey, run.state, run.answers))
        return effects

    def _arrive(self, survey: Survey, run: Run, state: str, lead: str, effects, now) -> str:
        """Put `run` in `state` and say the next question, or the outro at the end."""
        run.state, run.retries, run.updated_at = state, 0, now
        effects.touch(run)
        position = Position(survey, state, run.answers)
        if state == FINISHED:
            self._close(run, COMPLETED, effects, now)
            outro = survey.outro.render(position.context) if survey.outro else "Thank you!"
            return _join(lead, outro)
        effects.visits.append((run, state, ASKED))
        return _join(lead, self._ask(survey, survey.by_id[state], position))

    def _read(self, survey: Survey, question: Question, text: str, word: str, now: datetime):
        """Read a reply in the survey's own calendar; None is a permitted SKIP."""
        if word == "skip":
            return None if question.optional else Invalid(SKIP_REFUSED)
        return read_reply(question, text, today=_today(survey, now), date_order=survey.date_order)

    # -- helpers ----------------------------------------------------------

    def _close(self, run: Run, status: str, effects: Effects, now: datetime) -> None:
        """End `run` with `status`."""
        run.status, run.updated_at = status, now
        if status == COMPLETED:
            run.completed_at = now
        effects.touch(run)

    def _survey_of(self, run: Run) -> Survey | None:
        """The survey version a session started on."""
        return self.library.version(run.survey_id, run.version)

    def _ask(self, survey: Survey, question: Question, position: Position) -> str:
        """A question's text with its choices as numbered lines."""
        text = question.text.render(position.context)
        lines = [f"{i}. {choice.label}" for i, choice in enumerate(question.choices, 1)]
        return "\n".join([text, *lines])

    def _with_current(self, lead: str, run: Run | None) -> str:
        """`lead`, then the current question when a session is open, else the keywords."""
        survey = self._survey_of(run) if run else None
        question = survey.by_id.get(run.state) if survey else None
        if question is None:
            return _join(lead, self._keyword_list())
        return _join(lead, self._ask(survey, question, Position(survey, run.state, run.answers)))

    def _keyword_list(self) -> str:
        """A short line that says which keywords start which survey."""
        offers = [f"{s.keywords[0]} for {s.name}" for s in self.library.surveys() if s.keywords]
        if not offers:
            return "There is no survey to answer right now."
        return "Text " + ", or ".join(offers) + "."


def _copy(run: Run) -> Run:
    """A run the engine may change, leaving the one it was given as it was."""
    return replace(run, answers=dict(run.answers))


def _join(lead: str, text: str) -> str:
    """Two parts of a reply, separated by a blank line when both are there."""
    return f"{lead}\n\n{text}" if lead else text


def _today(survey: Survey, now: datetime) -> date:
    """Today's date where the survey's respondents are."""
    return now.astimezone(ZoneInfo(survey.timezone)).date()
