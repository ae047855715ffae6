"""One `transitions` machine per survey version: where a conversation goes next.

The machine is data built once per version and shared by every respondent; a
respondent is a small `Position` (a state name and the answers) that the
machine moves. States are the question ids plus `new` and `completed` (FINISHED).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from transitions import Machine

from bot.model import END, Survey
from bot.shown import Answers
from bot.templates import Expr
from bot.words import ENGLISH

NEW = "new"
FINISHED = "completed"  # the state after the last question
# The states a `next` entry with an `outcome` ends in (SPEC 11): "end:refused"...
OUTCOME_END = "end:"


class Position:
    """A respondent's place in one survey: the state the machine moves, and the answers.

    `survey` is the version as seen in the session's `language`: templates print answers
    with its labels and words. `today` is the date where the respondents are.
    """

    __slots__ = ("state", "answers", "context")

    def __init__(
        self,
        survey: Survey,
        state: str,
        answers: dict[str, Any],
        today: date | None = None,
        language: str = ENGLISH,
    ):
        self.state = state
        self.answers = answers
        self.context = {"answers": Answers(answers, survey, language), "survey": survey.info}
        if today is not None:
            self.context["today"] = today


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


class Flow:
    """The machine of one survey version, and the events that move a Position."""

    def __init__(self, survey: Survey):
        self.survey = survey
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
            self.machine.add_transition(f"back_to_{question.id}", "*", question.id)
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
            conditions = guards + ([_holds(question.when)] if question.when else [])
            self.machine.add_transition(event, source, question.id, conditions=conditions)
            if not conditions:
                return  # an unconditional transition: nothing after it can be reached
        self.machine.add_transition(event, source, FINISHED, conditions=guards)

    def trigger(self, event: str, position: Position) -> str:
        """Fire `event` on `position` and return its new state."""
        key = (event, position.state)
        if key in self._fixed:  # the machine's answer without its per-event machinery
            position.state = self._fixed[key] or position.state
            return position.state
        self.machine.events[event].trigger(position)
        return position.state
