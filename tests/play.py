"""Plays a survey to its end with a valid reply for every question it asks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.flow import FINISHED, NEW, Flow, Position
from bot.model import Question, Survey

SURVEYS = Path(__file__).resolve().parent.parent / "surveys"
EXAMPLES = sorted(path.stem for path in SURVEYS.glob("*.y*ml"))


def sample(question: Question) -> tuple[str, object]:
    """A reply a respondent could send to `question`, and the value it stores."""
    kind = question.type
    if kind in ("choice", "language"):
        return "1", question.choices[0].value
    if kind == "multi":
        picks = max(1, int(question.min or 1))
        return ",".join(str(i) for i in range(1, picks + 1)), [
            c.value for c in question.choices[:picks]
        ]
    if kind == "yesno":
        return "yes", True
    if kind in ("number", "scale"):
        low = int(question.min if question.min is not None else 1)
        return str(low), low
    if kind == "date":
        return "today", date.today()
    return "Sam", "Sam"


def script(survey: Survey) -> list[tuple[str, str, object]]:
    """(question id, reply, stored value) for each question on one path through `survey`."""
    flow = Flow(survey)
    position = Position(survey, NEW, {})
    state = flow.trigger("start", position)
    steps = []
    while state != FINISHED:
        question = survey.by_id[state]
        if question.type == "note":  # takes no reply: sent with the next question
            state = flow.trigger("unanswered", position)
            continue
        reply, value = sample(question)
        steps.append((question.id, reply, value))
        position.answers[question.id] = value
        state = flow.trigger("answered", position)
    return steps
