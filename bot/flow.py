"""One `transitions` machine per survey version: where a conversation goes next.

The machine is data built once per version and shared by every respondent; a
respondent is a small `Position` (a state name and the answers) that the
machine moves. States are the question ids plus `new` and `completed` (FINISHED).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from transitions import Machine

from bot.design import slots
from bot.model import END, Survey
from bot.shown import Answers
from bot.templates import Expr
from bot.words import ENGLISH

NEW = "new"
FINISHED = "completed"  # the state after the last question
# The states a `next` entry with an `outcome` ends in (SPEC 11): "end:refused"...
OUTCOME_END = "end:"
BACK_TO = "back_to_"  # BACK_TO + a question id: the event that goes back to it


class Position:
    """A respondent's place in one survey: the state the machine moves, and the answers.

    `survey` is the version as seen in the session's `language`: templates print answers
    with its labels and words. `today` is the date where the respondents are. `arm` and
    `orders` are the session's draws (SPEC 12): `slots` says which question is asked at
    each shuffled place of the file, `places` the other way round.
    """

    __slots__ = ("state", "answers", "context", "orders", "slots", "places")

    def __init__(
        self,
        survey: Survey,
        state: str,
        answers: dict[str, Any],
        today: date | None = None,
        language: str = ENGLISH,
        arm: str | None = None,
        orders: dict[str, Any] | None = None,
    ):
        self.state = state
        self.answers = answers
        self.context = {
            "answers": Answers(answers, survey, language),
            "survey": survey.info,
            "arm": arm,
        }
        if today is not None:
            self.context["today"] = today
        self.orders = orders or {}
        self.slots = slots(survey, orders) if survey.shuffle and orders else {}
        self.places = {asked: place for place, asked in self.slots.items()}


def _holds(expr: Expr):
    """Wrap an author's expression as a transitions condition."""
    return lambda event: expr.is_true(event.model.context)


def _outcome_states(survey: Survey) -> list[str]:
    """The end states of the outcomes the survey's `next` entries name."""
    found = {b.outcome for q in survey.questions for b in q.next if b.outcome is not None}
    return [OUTCOME_END + outcome for outcome in sorted(found)]


def outcome_of(state: str) -> str | None:
    """The outcome an end state stands for; None for any other state."""
    return state.removeprefix(OUTCOME_END) if state.startswith(OUTCOME_END) else None


def _holds_at(survey: Survey, place: str):
    """The `when` of whichever question a session asks at a shuffled place, as a condition."""

    def holds(event) -> bool:
        asked = survey.by_id[event.model.slots.get(place, place)]
        return asked.when is None or asked.when.is_true(event.model.context)

    return holds


class Flow:
    """The machine of one survey version, and the events that move a Position.

    Its states are the places of the file's questions; a session whose groups are
    shuffled (SPEC 12) asks another question at a place, which `trigger` maps.
    """

    def __init__(self, survey: Survey):
        self.survey = survey
        # Places in a shuffle group where some question has a `when`: what holds there
        # depends on which question the session asks at that place.
        self._varying = {
            place
            for group in survey.shuffle
            for place in group
            if any(survey.by_id[qid].when for qid in group)
        }
        ids = [q.id for q in survey.questions]
        self._index = {qid: i for i, qid in enumerate(ids)}
        self.machine = Machine(
            model=None,
            states=[NEW, *ids, FINISHED, *_outcome_states(survey)],
            initial=NEW,
            auto_transitions=False,
            send_event=True,
        )
        self._add_onward("start", NEW, 0)
        for i, question in enumerate(survey.questions):
            for branch in question.next:
                if branch.outcome is not None:
                    end = OUTCOME_END + branch.outcome
                    self.machine.add_transition(
                        "answered", question.id, end, conditions=[_holds(branch.condition)]
                    )
                    continue
                start = len(ids) if branch.goto == END else self._index[branch.goto]
                self._add_onward("answered", question.id, start, branch.condition)
            self._add_onward("answered", question.id, i + 1)
            self._add_onward("unanswered", question.id, i + 1)
            self.machine.add_transition("reprompt", question.id, None)  # internal: stay put
            self.machine.add_transition(BACK_TO + question.id, "*", question.id)
        self._fixed = self._unconditional()

    def _unconditional(self) -> dict[tuple[str, str], str | None]:
        """(event, state) pairs whose first transition has no condition: where they go.

        The first transition whose conditions hold wins, so one without any
        always wins; most moves are such. None: an internal one (stay put).
        """
        fixed = {}
        for name, event in self.machine.events.items():
            for source, transitions in event.transitions.items():
                first = transitions[0]
                if not (first.conditions or first.prepare or first.before or first.after):
                    fixed[(name, source)] = first.dest
        return fixed

    def _add_onward(self, event: str, source: str, start: int, guard: Expr | None = None) -> None:
        """Go to the first question from `start` whose `when` holds, else to completed.

        Transitions are tried in order and the first whose conditions all hold
        wins, which is exactly "skip questions whose `when` is false".
        """
        guards = [_holds(guard)] if guard else []
        for question in self.survey.questions[start:]:
            if question.id in self._varying:
                conditions = guards + [_holds_at(self.survey, question.id)]
            else:
                conditions = guards + ([_holds(question.when)] if question.when else [])
            self.machine.add_transition(event, source, question.id, conditions=conditions)
            if not conditions:
                return  # an unconditional transition: nothing after it can be reached
        self.machine.add_transition(event, source, FINISHED, conditions=guards)

    def trigger(self, event: str, position: Position) -> str:
        """Fire `event` on `position` and return its new state: the question asked next."""
        if not position.slots:
            return self._fire(event, position)
        places = position.places
        if event.startswith(BACK_TO):
            asked = event[len(BACK_TO) :]
            event = BACK_TO + places.get(asked, asked)
        position.state = places.get(position.state, position.state)
        place = self._fire(event, position)
        position.state = position.slots.get(place, place)
        return position.state

    def _fire(self, event: str, position: Position) -> str:
        """Fire `event` on a position whose state is a place of the file."""
        key = (event, position.state)
        if key in self._fixed:  # the machine's answer without its per-event machinery
            position.state = self._fixed[key] or position.state
            return position.state
        self.machine.events[event].trigger(position)
        return position.state
