"""The conversation engine: one inbound message in, the changes and the reply out.

`Conversation.handle` is pure with respect to the outside world: it reads a
`Situation` (what storage knows about the phone number) and returns `Effects`
(what storage must write and what to send back). Storage applies them in the
same transaction that read the situation.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.compose import Composer, Part, Render, message
from bot.design import (
    applying,
    as_shown,
    closed,
    count_keys,
    counted,
    draw_orders,
    draw_outside,
    full,
    in_choice_order,
    judged,
)
from bot.flow import FINISHED, NEW, OUTCOME_END, Flow, Position, outcome_of
from bot.loader import as_keyword
from bot.model import (
    ABANDONED,
    COMPLETED,
    EXPIRED,
    LANGUAGE,
    NOTE,
    OPEN,
    OPTED_OUT,
    Question,
    Quota,
    Survey,
)
from bot.outcomes import COMPLETE_OUTCOME, QUOTA_FULL
from bot.replies import Invalid, near_miss, normalise, read_confirmation, read_reply
from bot.shown import shown
from bot.texts import keywords_text
from bot.texts import text as bot_text
from bot.words import (
    COMMAND_WORDS,
    ENGLISH,
    LANGUAGES,
    TWILIO_OPT_OUT_WORDS,
    command_of,
    plain,
)


class SurveySource(Protocol):
    """The served surveys the engine may start (the catalog, already in memory)."""

    def get(self, survey_id: str) -> Survey | None: ...
    def by_keyword(self, word: str) -> Survey | None: ...
    def default(self) -> Survey | None: ...
    def surveys(self) -> list[Survey]: ...


@dataclass
class Run:
    """A respondent's session with one survey version.

    `answers` holds answers only, by question id; what the engine keeps to go on
    (where BACK goes, a confirmation waiting, the arm, the orders) has fields of its own.
    """

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
    # [question id, language it was asked in] of each question left (answered, skipped or
    # given up), oldest first: where BACK goes
    trail: list[list[str]] = field(default_factory=list)
    pending: str | None = None  # a near-miss choice's value waiting for YES or NO
    arm: str | None = None  # the study arm the session was given, if the survey has arms
    # The order things are shown in this round: {"questions": [ids], "choices": {qid:
    # [values]}}; empty when nothing is shuffled.
    orders: dict[str, Any] = field(default_factory=dict)
    # Started by the default survey for a number that sent no keyword and was not invited:
    # until it holds an answer, another survey's exact keyword takes over (SPEC 2).
    by_default: bool = False
    outcome: str | None = None  # what ended it early: refused, ineligible, quota_full (SPEC 11)
    # The survey version it runs on, resolved by the caller from `version` before the
    # engine sees the run (None: that version is gone); never stored.
    survey: Survey | None = field(default=None, repr=False, compare=False)


@dataclass
class Situation:
    """What storage knows about a phone number as a message arrives (the engine only reads it)."""

    phone: str
    opted_out: bool = False
    run: Run | None = None  # the open session, if any
    latest_survey: str | None = None  # survey of the latest session, open or not
    latest_status: str | None = None
    test: bool = False  # a test number (flask simulate, the try page): its sessions are tests
    # What the engine asked for (Needs) and the caller loaded, by survey id: completes
    # counted toward the target and quotas, and the arm of this number's case.
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    arms: dict[str, str] = field(default_factory=dict)
    test_arm: str | None = None  # the arm a test session takes (flask simulate --arm)
    ended: Run | None = None  # the latest session when an opt-out ended it: START may reopen it


class Needs(Exception):
    """The engine needs something loaded from storage before it can decide (SPEC 12)."""

    def __init__(self, kind: str, survey_id: str):
        super().__init__(kind, survey_id)
        self.kind, self.survey_id = kind, survey_id


COUNTS, ARM = "counts", "arm"  # what Needs may ask for


# What happened to a question in one message (`Effects.visits`), for the studio's
# funnel: storage keeps one row per question a session was asked.
ASKED, REPROMPTED, SKIPPED, UNANSWERED = "asked", "reprompted", "skipped", "unanswered"


@dataclass
class Effects:
    """What one message changes, for storage to write, and the reply to send.

    The runs here are the engine's own copies: a new run has no id, and storage
    reports the ids it gave them instead of writing them back.
    """

    reply: str | None = None  # the reply's text; None: no reply (the webhook: an empty <Response/>)
    opted_out: bool | None = None  # the contact's new opt-out state, None if unchanged
    runs: list[Run] = field(default_factory=list)  # every run whose row changed
    saved: list[tuple[Run, str, Any]] = field(default_factory=list)  # (run, question id, value)
    removed: list[tuple[Run, str]] = field(default_factory=list)  # answers taken back
    visits: list[tuple[Run, str, str]] = field(default_factory=list)  # (run, question id, ASKED...)
    # (run, count keys, quotas): completes to count in the same transaction, unless
    # one of the quotas is full by then (bot.design.count_keys)
    completes: list[tuple[Run, list[str], list[Quota]]] = field(default_factory=list)
    needs: tuple[str, str] | None = None  # (COUNTS or ARM, survey id): load it, decide again
    situation: Situation | None = field(default=None, repr=False)  # what it was decided from
    reopened: Run | None = None  # an opted-out session that is open again (its status changes)

    def touch(self, run: Run) -> Run:
        """Note that `run` must be written."""
        if run not in self.runs:
            self.runs.append(run)
        return run


OPT_IN_WHILE_OUT = "yes"  # also opts a number back in, but only while it is opted out


class Conversation:
    """Reads messages and moves sessions, sharing one Flow per survey version."""

    def __init__(self, library: SurveySource, rng: random.Random | None = None):
        self.library = library  # the served surveys; a run's own version comes with the run
        self._flows: dict[tuple[str, str], Flow] = {}
        self.rng = rng or random.SystemRandom()  # arms of test sessions, orders

    def flow(self, survey: Survey) -> Flow:
        """The machine of this survey version, built once (its languages share it)."""
        key = (survey.id, survey.version)
        if key not in self._flows:
            self._flows[key] = Flow(survey)
        return self._flows[key]

    def handle(self, situation: Situation, text: str, *, now: datetime, media: int = 0) -> Effects:
        """Read one message from `situation.phone` and decide what changes.

        Effects with `needs` set, and nothing else, when it must know more first.
        """
        try:
            return self._handle(situation, text, now, media)
        except Needs as need:
            return Effects(needs=(need.kind, need.survey_id))

    def _handle(self, situation: Situation, text: str, now: datetime, media: int) -> Effects:
        """`handle`, which may raise Needs."""
        effects = Effects(situation=situation)
        word = normalise(text)
        if situation.opted_out:
            return self._while_opted_out(situation, word, effects, now)
        if command_of(word, ()) == "opt_out":  # every built-in language's, in every survey
            return self._opt_out(situation, word, effects, now)
        run = self._live_run(situation, effects, now)
        language = self._language(run) if run else None
        command = command_of(word, (language, ENGLISH) if language else LANGUAGES)
        if not word and not text.strip():
            lead = Part(bot_text("need_text", language or ENGLISH))
            effects.reply = self._with_current(lead, run, now, effects=effects)
            return effects
        said = language or _language_of_word(word, command)  # with no session: the word's
        if command == "help":
            effects.reply = self._help(run, said, now, effects)
            return effects
        if command == "opt_in":  # already subscribed: confirm, carry on
            lead = Part(bot_text("opted_in", said))
            effects.reply = self._with_current(lead, run, now, said, effects)
            return effects
        if command == "restart":
            return self._restart(situation, run, effects, now)
        keyword = self.library.by_keyword(word)
        if run is not None and keyword is not None and self._yields(run, keyword):
            return self._start(keyword, run, effects, now, situation.test, _said(keyword, word))
        if run is None:
            if keyword is not None:
                return self._start(
                    keyword, None, effects, now, situation.test, _said(keyword, word)
                )
            latest = situation.latest_status if situation.run is None else EXPIRED
            return self._no_session(situation, latest, effects, now)
        return self._answer(run, text, command, keyword, effects, now)

    def begin(
        self, situation: Situation, survey: Survey, *, now: datetime, language: str | None = None
    ) -> Effects:
        """Start `survey` for a number (an invitation, a simulation), ending its open session."""
        effects = Effects(situation=situation)
        try:
            run = self._live_run(situation, effects, now)
            return self._start(survey, run, effects, now, situation.test, language)
        except Needs as need:
            return Effects(needs=(need.kind, need.survey_id))

    def remind(self, run: Run, now: datetime | None = None, fallback: bool = False) -> str | None:
        """A nudge for an unfinished session: the survey's `reminder`, then its question again.

        With `fallback`, a survey without a reminder gets a built-in line (a re-contact's).
        """
        survey = self._survey_of(run)
        if survey is None or run.state not in survey.by_id:
            return None
        compose = self._composer(survey, run, now)
        lead = compose.reminder()
        if fallback and not lead.text:
            lead = compose.said("recontact")
        return self._with_current(lead, run, now)

    # -- commands ---------------------------------------------------------

    def _while_opted_out(self, situation: Situation, word: str, effects: Effects, now) -> Effects:
        """Only an opt-in word (or YES) gets a reply while a number is opted out.

        It reopens the session the opt-out ended, if that has not expired since, and asks
        its waiting question again (SPEC 2).
        """
        if command_of(word, ()) == "opt_in" or word == OPT_IN_WHILE_OUT:
            effects.opted_out = False
            language = _language_of_word(word, "opt_in")
            run = self._reopened(situation, now)  # its question in its language; the
            if run is not None:  # confirmation in the word's, as with no session
                effects.reopened = effects.touch(run)
            lead = Part(bot_text("opted_in", language))
            effects.reply = self._with_current(lead, run, now, language, effects)
        return effects

    def _reopened(self, situation: Situation, now: datetime) -> Run | None:
        """The session an opt-out ended, open again, or None once it has expired."""
        ended = situation.ended
        survey = self._survey_of(ended) if ended else None
        if ended is None or survey is None or situation.run is not None:
            return None
        if survey.expired(ended.updated_at, now) or ended.state not in survey.by_id:
            return None
        run = _copy(ended)
        run.status, run.updated_at = OPEN, now  # idle time counts from the START
        return run

    def _yields(self, run: Run, keyword: Survey) -> bool:
        """Whether an exact keyword of another survey takes over `run`: a session the default
        survey started that holds no answer yet (`hi`, then `VAX`, starts VAX)."""
        return run.by_default and keyword.id != run.survey_id and not run.answers

    def _opt_out(self, situation: Situation, word: str, effects: Effects, now) -> Effects:
        """End the open session as opted out; confirm only what the carrier does not."""
        effects.opted_out = True
        language = _language_of_word(word, "opt_out")
        if situation.run is not None:
            run = _copy(situation.run)
            language = self._language(run)
            self._close(run, OPTED_OUT, effects, now)
        if plain(word) not in TWILIO_OPT_OUT_WORDS:
            effects.reply = bot_text("opted_out", language)
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

    def _help(self, run: Run | None, language: str, now: datetime, effects: Effects) -> str:
        """The survey's help text (else the standard one), then the current question again."""
        survey = self._survey_of(run) if run else self.library.default()
        if survey is None:
            lead = Part(bot_text("help", language, name="Surveys"))
            return self._with_current(lead, run, now, language, effects)
        local = survey.in_language(language)
        answers = run.answers if run else {}
        context = Position(local, NEW, answers, _today(survey, now), language).context
        lead = Composer(survey, language, _rendered(context)).help()
        return self._with_current(lead, run, now, language, effects)

    def _restart(self, situation: Situation, run: Run | None, effects: Effects, now: datetime):
        """Start the same survey again, in its current version, from the top.

        A survey whose file is gone acts as with no open session (SPEC 2): the default
        starts, else the keywords are listed; its session ends as abandoned either way.
        """
        survey_id = run.survey_id if run else situation.latest_survey
        survey = (survey_id and self.library.get(survey_id)) or self.library.default()
        if survey is None:
            if run is not None:  # nothing starts: without this it would go on answering
                self._close(run, ABANDONED, effects, now)
            effects.reply = self._keyword_list(self._language(run) if run else ENGLISH, effects)
            return effects
        language = run.language if run else None
        return self._start(survey, run, effects, now, situation.test, language)

    def _no_session(self, situation: Situation, latest_status, effects: Effects, now) -> Effects:
        """A number with no open session: already completed, the default survey, or keywords."""
        if latest_status == COMPLETED:
            survey = self.library.get(situation.latest_survey or "")
            language = survey.language if survey else ENGLISH
            name = survey.name if survey else "this survey"
            done = bot_text("already_completed", language, name=name)
            # The other surveys it may take, not the one it just finished.
            others = self._keyword_list(language, effects, situation.latest_survey, empty="")
            effects.reply = " ".join(filter(None, [done, others]))
            return effects
        default = self.library.default()
        if default is None:
            effects.reply = self._keyword_list(ENGLISH, effects)
            return effects
        effects = self._start(default, None, effects, now, situation.test)
        effects.runs[-1].by_default = True
        return effects

    # -- the survey itself ------------------------------------------------

    def _start(
        self,
        survey: Survey,
        run: Run | None,
        effects: Effects,
        now: datetime,
        test: bool,
        language: str | None = None,
    ) -> Effects:
        """Abandon the open session, if any, and start `survey` from the first question.

        The session is in `language` when the survey has it, else in its default language.
        """
        language = language if language in survey.languages else survey.language
        if not test and closed(survey, self._counts(survey, effects)):
            context = {"survey": survey.in_language(language).info}
            effects.reply = message([Composer(survey, language, _rendered(context)).closed()])
            return effects
        if run is not None:
            self._close(run, ABANDONED, effects, now)
        arm = self._arm(survey, effects, test)
        new = Run(survey.id, survey.version, NEW, now, now, language=language, test=test, arm=arm)
        new.orders = draw_orders(survey, self.rng)
        new.survey = survey
        effects.touch(new)
        local = survey.in_language(language)
        position = self._position(local, new, now)
        state = self.flow(survey).trigger("start", position)
        intro = Composer(survey, language, _rendered(position.context)).intro()
        effects.reply = self._arrive(survey, new, state, [intro], effects, now)
        return effects

    def _answer(
        self,
        run: Run,
        text: str,
        command: str | None,
        keyword: Survey | None,
        effects: Effects,
        now: datetime,
    ) -> Effects:
        """Read a reply to the current question: move on, confirm, re-prompt or take back.

        A reply is an answer first: a survey keyword starts its survey only when the reply
        is not a valid answer to the question waiting.
        """
        survey = self._survey_of(run)
        question = survey.by_id.get(run.state) if survey else None
        if question is None:  # the session's version lost the question: start again
            survey = self.library.get(run.survey_id) or survey
            return self._start(survey, run, effects, now, run.test, run.language)
        effects.touch(run).updated_at = now
        if command == "back":
            return self._back(survey, run, effects, now)
        language = self._language(run)
        local = survey.in_language(language)
        asked = as_shown(local.by_id[question.id], run.orders)  # a number means what was shown
        pending, run.pending = run.pending, None  # any reply ends a confirmation
        confirmed = read_confirmation(asked, text, language) if pending is not None else None
        if confirmed is False:
            effects.reply = message([self._composer(survey, run, now).ask(asked)])
            return effects
        value = pending if confirmed is True else self._read(survey, run, asked, text, command, now)
        if isinstance(value, list) and asked is not local.by_id[question.id]:  # shuffled choices
            value = in_choice_order(question, value)  # stored in choice order (SPEC 1, 12)
        value = self._constrained(local, asked, run, value, now)
        if isinstance(value, Invalid) and keyword is not None:
            return self._start(
                keyword, run, effects, now, run.test, _said(keyword, normalise(text))
            )
        if isinstance(value, Invalid):
            return self._invalid(survey, run, asked, value, text, effects, now)
        self._leave(run, question, language)
        position = self._position(local, run, now)
        if value is None:
            effects.visits.append((run, question.id, SKIPPED))
            state = self.flow(survey).trigger("unanswered", position)
        else:
            run.answers[question.id] = value
            effects.saved.append((run, question.id, value))
            if question.type == LANGUAGE:  # the reply to it is already in the new language
                run.language = value
            state = self.flow(survey).trigger("answered", position)
        effects.reply = self._arrive(survey, run, state, [], effects, now)
        return effects

    def _invalid(
        self,
        survey: Survey,
        run: Run,
        asked: Question,
        value: Invalid,
        text: str,
        effects: Effects,
        now: datetime,
    ) -> Effects:
        """Confirm a near miss, re-prompt, or give up on the question after too many tries."""
        language = self._language(run)
        local = survey.in_language(language)
        position = self._position(local, run, now)
        compose = Composer(survey, language, _rendered(position.context), run.orders)
        if (close := near_miss(asked, text, language)) is not None:  # uses no retry
            run.pending = close.value
            effects.reply = message(compose.confirm(close.label))
            return effects
        flow = self.flow(survey)
        if run.retries < survey.max_retries:
            run.retries += 1
            effects.visits.append((run, asked.id, REPROMPTED))
            flow.trigger("reprompt", position)
            effects.reply = message(compose.reprompt(asked, value.reason))
            return effects
        self._leave(run, asked, language)
        effects.visits.append((run, asked.id, UNANSWERED))
        state = flow.trigger("unanswered", position)
        effects.reply = self._arrive(survey, run, state, [compose.said("move_on")], effects, now)
        return effects

    def _constrained(self, local: Survey, asked: Question, run: Run, value, now: datetime):
        """`value`, or an Invalid when the question's `constraint` does not hold for it."""
        if asked.constraint is None or value is None or isinstance(value, Invalid):
            return value
        value_shown = shown(asked, value, self._language(run))
        context = {**self._position(local, run, now).context, "value": value_shown}
        if asked.constraint.is_true(context):
            return value
        return Invalid(bot_text("constraint", self._language(run)))

    def _leave(self, run: Run, question: Question, language: str) -> None:
        """Note that `question` was asked and left (answered, skipped or given up), for BACK."""
        run.trail = [*run.trail, [question.id, language]]

    def _back(self, survey: Survey, run: Run, effects: Effects, now: datetime) -> Effects:
        """Ask the previous question again, its answer taken back and its language restored."""
        run.retries = 0
        run.pending = None
        history = run.trail
        if not history:  # at the first question: say so, and ask it again
            compose = self._composer(survey, run, now)
            lead = compose.said("back_at_first")
            effects.reply = message(compose.with_question(lead, survey.by_id[run.state]))
            return effects
        last, language = history[-1]
        run.trail = history[:-1]
        if last in run.answers:
            del run.answers[last]
            effects.removed.append((run, last))
        effects.visits.append((run, last, ASKED))  # again: a skip or give-up there is undone
        run.language = language
        local = survey.in_language(language)
        position = self._position(local, run, now)
        run.state = self.flow(survey).trigger(f"back_to_{last}", position)
        compose = Composer(survey, language, _rendered(position.context), run.orders)
        context = position.context
        notes = compose.notes_before(
            survey.by_id[last], lambda note: note.when is None or note.when.is_true(context)
        )
        effects.reply = message(compose.arrival(survey.by_id[last], notes))
        return effects

    def _arrive(self, survey: Survey, run: Run, state: str, lead: list[Part], effects, now) -> str:
        """Put `run` in `state` and say the next question (notes first), or the outro at the end."""
        run.retries, run.updated_at = 0, now
        effects.touch(run)
        language = self._language(run)
        local = survey.in_language(language)
        parts = list(lead)
        position = self._position(local, run, now)
        position.state = state
        compose = Composer(survey, language, _rendered(position.context), run.orders)
        if self._full_quota(survey, run, position, effects) is not None:
            # Its own end state, so that the studio's tallies never count it as a completion.
            run.state, run.outcome = OUTCOME_END + QUOTA_FULL, QUOTA_FULL
            self._close(run, COMPLETED, effects, now)
            position.context["outcome"] = QUOTA_FULL
            return message([*parts, compose.quota_full()])
        while state in local.by_id and local.by_id[state].type == NOTE:
            parts.append(compose.note(local.by_id[state]))
            state = self.flow(survey).trigger("unanswered", position)
        run.state = state
        if state == FINISHED or outcome_of(state):
            run.outcome = outcome_of(state)  # its state stays the outcome's end ("end:refused")
            self._close(run, COMPLETED, effects, now)
            position.context["outcome"] = run.outcome or COMPLETE_OUTCOME  # the outro sees it
            if run.outcome is None:  # an outcome is never a complete (SPEC 11)
                self._count(survey, run, position, effects)
            return message(compose.arrival(None, parts))
        effects.visits.append((run, state, ASKED))
        return message(compose.arrival(local.by_id[state], parts))

    # -- study design (SPEC 12) --------------------------------------------

    def _counts(self, survey: Survey, effects: Effects) -> dict[str, int]:
        """Completes counted toward the survey's target and quotas; {} when it counts none."""
        if not counted(survey):
            return {}
        known = effects.situation.counts if effects.situation else {}
        if survey.id not in known:
            raise Needs(COUNTS, survey.id)
        return known[survey.id]

    def _closed(self, survey: Survey, effects: Effects | None) -> bool:
        """Whether `survey` starts nothing new for this message's number (a test's always start)."""
        if effects is None or (effects.situation is not None and effects.situation.test):
            return False
        return closed(survey, self._counts(survey, effects))

    def _arm(self, survey: Survey, effects: Effects, test: bool) -> str | None:
        """A new session's arm: its case's, else the next of the block; a test draws its own."""
        if not survey.arms:
            return None
        situation = effects.situation
        if test:
            chosen = situation.test_arm if situation else None
            return chosen or draw_outside(survey.arms, self.rng)
        if situation is None or survey.id not in situation.arms:
            raise Needs(ARM, survey.id)
        return situation.arms[survey.id]

    def _full_quota(self, survey: Survey, run: Run, position: Position, effects: Effects):
        """The first full quota whose `when` holds for this session now, if any (never a test)."""
        if run.test or not survey.quotas:
            return None
        quotas = applying(self._judged(survey), position.context)
        return full(quotas, self._counts(survey, effects))

    def _count(self, survey: Survey, run: Run, position: Position, effects: Effects) -> None:
        """Ask for a complete to be counted toward the target and the quotas it meets."""
        if run.test or not counted(survey):
            return
        quotas = applying(self._judged(survey), position.context)
        effects.completes.append((run, count_keys(survey, quotas), quotas))

    def _judged(self, survey: Survey) -> tuple[Quota, ...]:
        """The session's version's quotas and the served version's (bot.design.judged)."""
        return judged(survey, self.library.get(survey.id))

    def _read(self, survey: Survey, run: Run, asked: Question, text: str, command, now):
        """Read a reply in the survey's own calendar and the session's language; None: SKIP."""
        language = self._language(run)
        if command == "skip":
            return None if asked.optional else Invalid(bot_text("skip_refused", language))
        today = _today(survey, now)
        return read_reply(asked, text, today=today, date_order=survey.date_order, language=language)

    # -- helpers ----------------------------------------------------------

    def _close(self, run: Run, status: str, effects: Effects, now: datetime) -> None:
        """End `run` with `status`."""
        run.status, run.updated_at = status, now
        if status == COMPLETED:
            run.completed_at = now
        effects.touch(run)

    def _survey_of(self, run: Run) -> Survey | None:
        """The survey version a session started on, as the caller resolved it."""
        return run.survey

    def _language(self, run: Run) -> str:
        """The language a session is in: its own, else (a session from before languages) the
        default of its survey."""
        if run.language:  # set when it starts, always one of its survey version's
            return run.language
        survey = self._survey_of(run)
        return survey.language if survey else ENGLISH

    def _position(self, local: Survey, run: Run, now: datetime | None) -> Position:
        """Where `run` stands, with templates seeing `local`'s labels and today's date."""
        today = _today(local, now) if now else None
        language = self._language(run)
        return Position(local, run.state, run.answers, today, language, run.arm, run.orders)

    def _composer(self, survey: Survey, run: Run, now: datetime | None) -> Composer:
        """The composer of `run`'s messages: in its language, rendering where it stands."""
        language = self._language(run)
        position = self._position(survey.in_language(language), run, now)
        return Composer(survey, language, _rendered(position.context), run.orders)

    def _with_current(
        self,
        lead: Part,
        run: Run | None,
        now: datetime | None,
        language: str = ENGLISH,
        effects: Effects | None = None,
    ) -> str:
        """`lead`, then the current question when a session is open, else the keywords
        (of the surveys still open, given the message's `effects`)."""
        survey = self._survey_of(run) if run else None
        question = survey.by_id.get(run.state) if survey else None
        if question is None:
            keywords = self._keyword_list(self._language(run) if run else language, effects)
            return message([lead, Part(keywords)])
        return message(self._composer(survey, run, now).with_question(lead, question))

    def _keyword_list(
        self,
        language: str,
        effects: Effects | None,
        leaving_out: str | None = None,
        empty: str | None = None,
    ) -> str:
        """A short line that says which keywords start which survey, in `language` (`empty`,
        else the "no survey" text, when there is none to offer).

        A survey with its target of completes is not offered to a real number (SPEC 12):
        its keyword would only get the closed line.
        """
        offers = [
            _offer(s, language)
            for s in self.library.surveys()
            if s.keywords and s.id != leaving_out and not self._closed(s, effects)
        ]
        if not offers:
            return bot_text("no_survey", language) if empty is None else empty
        return keywords_text(offers, language)


def _offer(survey: Survey, language: str) -> tuple[str, str]:
    """A survey's keyword (one in `language` if it has one) and name, to list."""
    local = survey.in_language(language)
    mine = [k for k in survey.keywords if survey.keyword_languages.get(k) == language]
    return (mine or list(survey.keywords))[0], local.name


def _said(survey: Survey, word: str) -> str:
    """The language of the keyword `word` that starts `survey`."""
    return survey.keyword_language(as_keyword(word))


def _language_of_word(word: str, command: str | None) -> str:
    """The first built-in language in which `word` is that command (English if none)."""
    word = plain(word)
    found = (code for code in LANGUAGES if word in COMMAND_WORDS[code].get(command or "", ()))
    return next(found, ENGLISH)


def _copy(run: Run) -> Run:
    """A run the engine may change, leaving the one it was given as it was."""
    copied = copy.copy(run)  # a fraction of dataclasses.replace's cost, on every message
    copied.answers, copied.trail = dict(run.answers), list(run.trail)
    if run.orders:
        copied.orders = copy.deepcopy(run.orders)
    return copied


def _rendered(context: dict[str, Any]) -> Render:
    """How the conversation renders an author's text: with the session's answers and today."""
    return lambda text, where: Part(text.render(context))


def _today(survey: Survey, now: datetime) -> date:
    """Today's date where the survey's respondents are."""
    return _date_in(survey.timezone, now)


@lru_cache(maxsize=16)  # asked several times while one message is handled
def _date_in(timezone: str, now: datetime) -> date:
    """The date at `now` in `timezone`."""
    return now.astimezone(ZoneInfo(timezone)).date()
