"""Answers as templates see them: printed as the respondent saw them, used as stored.

`{{ answers.x }}` prints a choice's label (in the session's language), several
labels joined with commas and "and", Yes/No, a date written out (`28 Nov 2026`)
and a whole number without `.0`, each in the session's language. Every other
use (comparisons, `not`, `in`, filters, loops, arithmetic) sees the stored
value: each wrapper is a subclass of the stored value's own type, and `str()`
of it (what `| string`, `| format` and `%` use) is the stored value's. Only
the template's output (bot/templates.py: `{{ }}` and `~`) asks a wrapper for
`_printed()`, a name templates themselves cannot reach.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from bot.model import Question, Survey
from bot.texts import text, written_date
from bot.words import ENGLISH


class Label(str):
    """A choice answer: its stored value, printed as its label."""

    shown: str

    def _printed(self) -> str:
        return self.shown


class Picks(list):
    """A multi answer: its stored values, printed as labels joined with commas and "and"."""

    shown: str = ""

    def _printed(self) -> str:
        return self.shown


class YesNo(int):
    """A yes/no answer: true or false (1 or 0), printed Yes or No."""

    shown: str

    def __str__(self) -> str:
        return str(bool(self))  # the stored value's: True or False, not 1 or 0

    __repr__ = __str__

    def _printed(self) -> str:
        return self.shown

    def _stored(self) -> bool:
        return bool(self)


class Day(date):
    """A date answer, printed written out (`28 Nov 2026`)."""

    shown: str

    def _printed(self) -> str:
        return self.shown


class Number(float):
    """A decimal answer, printed without `.0` when it is whole."""

    def _printed(self) -> str:
        return str(int(self)) if self.is_integer() else str(self)


def join_labels(labels: list[str], language: str = ENGLISH) -> str:
    """Labels as the bot lists them: `A`, `A and B`, `A, B and C` (`y`, `et`, `e`...)."""
    last = f" {text('shown_and', language)} "
    return last.join(filter(None, [", ".join(labels[:-1]), *labels[-1:]]))


def label(value: str, shown: str) -> Label:
    """A choice answer that prints as `shown`."""
    wrapped = Label(value)
    wrapped.shown = shown
    return wrapped


def picks(values: list[str], labels: list[str], language: str = ENGLISH) -> Picks:
    """A multi answer that prints as its labels joined."""
    wrapped = Picks(values)
    wrapped.shown = join_labels(labels, language)
    return wrapped


def yes_no(value: bool, language: str = ENGLISH) -> YesNo:
    """A yes/no answer that prints as Yes or No."""
    wrapped = YesNo(value)
    wrapped.shown = text("shown_yes" if value else "shown_no", language)
    return wrapped


def day(value: date, language: str = ENGLISH) -> Day:
    """A date answer that prints written out."""
    wrapped = Day(value.year, value.month, value.day)
    wrapped.shown = written_date(value, language)
    return wrapped


def shown(question: Question | None, value: Any, language: str = ENGLISH) -> Any:
    """`value`, an answer to `question` (as seen in `language`), wrapped to print as seen."""
    if question is None or value is None:
        return value
    if question.type == "choice" and isinstance(value, str):
        return label(value, next((c.label for c in question.choices if c.value == value), value))
    if question.type == "multi" and isinstance(value, list):
        labels = {choice.value: choice.label for choice in question.choices}
        return picks(value, [labels.get(v, str(v)) for v in value], language)
    if isinstance(value, bool):
        return yes_no(value, language)
    if isinstance(value, date):
        return day(value, language)
    if isinstance(value, float):
        return Number(value)
    return value


class Answers(Mapping):
    """A session's answers as templates see them, read live from the dict they wrap."""

    __slots__ = ("_answers", "_survey", "_language")

    def __init__(self, answers: dict[str, Any], survey: Survey, language: str = ENGLISH):
        self._answers = answers
        self._survey = survey  # as seen in `language`: its labels
        self._language = language

    def __getitem__(self, qid: str) -> Any:
        return shown(self._survey.by_id.get(qid), self._answers[qid], self._language)

    def __iter__(self) -> Iterator[str]:
        return iter(self._answers)

    def __len__(self) -> int:
        return len(self._answers)
