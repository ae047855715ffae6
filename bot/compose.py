"""Every message the bot sends, composed in one place from its parts.

The conversation composes what it sends here, and the cost report (`bot/cost.py`,
`surveys check`, the load-time length check) composes what it counts here too,
only with texts rendered at their worst case: the two cannot drift apart. A
message is a list of `Part`s (an intro, notes, a reason, a question with its
numbered choices...), joined by blank lines, empty parts left out; with
`smart_encoding: true` the whole message then goes to GSM-7 look-alikes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from bot.design import as_shown
from bot.model import NOTE, Question, Survey
from bot.segments import smart_encode
from bot.templates import Text
from bot.texts import text as bot_text

PARAGRAPH = "\n\n"  # between the parts of one message


class Part(NamedTuple):
    """One part of a message and, for the cost report, where an author wrote it."""

    text: str
    line: int = 0  # 0: the bot's own words
    piped: frozenset[str] = frozenset()  # text questions whose answers it prints
    worst_case: bool = False  # rendered with answers at their longest


NOTHING = Part("")

# How a caller renders an author's text: the text, and the question it belongs to
# or the survey's key ("intro", "outro", "help", "reminder"), for its line.
Render = Callable[[Text, "Question | str"], Part]


class Composer:
    """The messages of one survey version in one language, its texts rendered by `render`."""

    __slots__ = ("survey", "language", "render", "orders")

    def __init__(self, survey: Survey, language: str, render: Render, orders: dict | None = None):
        self.survey = survey.in_language(language)
        self.language = language
        self.render = render
        self.orders = orders or {}  # a session's shown orders (SPEC 12): choices as it sees them

    # -- the parts ------------------------------------------------------

    def said(self, key: str, **fields: object) -> Part:
        """The bot's own words (bot/words.py `TEXTS`) in this language."""
        return Part(bot_text(key, self.language, **fields))

    def ask(self, question: Question) -> Part:
        """A question's text, then its choices (in this language, in the order shown) as
        numbered lines."""
        question = as_shown(self.survey.by_id[question.id], self.orders)
        part = self.render(question.text, question)
        if not question.choices:
            return part
        lines = [f"{i}. {choice.label}" for i, choice in enumerate(question.choices, 1)]
        return part._replace(text="\n".join([part.text, *lines]))

    def note(self, question: Question) -> Part:
        """A note's text."""
        return self.render(self.survey.by_id[question.id].text, question)

    def intro(self) -> Part:
        """The survey's intro, if it has one."""
        return self._authored(self.survey.intro, "intro") or NOTHING

    def outro(self) -> Part:
        """The survey's outro, else (none, or one that comes out empty) the bot's."""
        outro = self._authored(self.survey.outro, "outro")
        return outro if outro and outro.text else self.said("outro")

    def quota_full(self) -> Part:
        """The survey's quota_full text, else the bot's: the respondent's quota has enough."""
        text = self._authored(self.survey.quota_full, "quota_full")
        return text if text and text.text else self.said("quota_full")

    def closed(self) -> Part:
        """The survey's closed text, else the bot's: it has its target of completes."""
        text = self._authored(self.survey.closed, "closed")
        return text if text and text.text else self.said("closed", name=self.survey.name)

    def help(self) -> Part:
        """The survey's help text, else the bot's."""
        return self._authored(self.survey.help, "help") or self.said("help", name=self.survey.name)

    def reminder(self) -> Part:
        """The survey's reminder, if it has one."""
        return self._authored(self.survey.reminder, "reminder") or NOTHING

    def reason(self, question: Question, reason: str) -> Part:
        """Why a reply was refused: the question's own `error`, else the reply reading's."""
        error = self.survey.by_id[question.id].error
        return Part(reason) if error is None else self.render(error, question)

    def _authored(self, text: Text | None, key: str) -> Part | None:
        """A survey-level text rendered, None when the survey has none."""
        return None if text is None else self.render(text, key)

    # -- the messages ---------------------------------------------------

    def arrival(self, question: Question | None, lead: Iterable[Part] = ()) -> list[Part]:
        """What comes with a move: `lead` (an intro, "let's move on", notes), then the
        question, or the outro when `question` is None (the end)."""
        return [*lead, self.ask(question) if question is not None else self.outro()]

    def with_question(self, lead: Part, question: Question) -> list[Part]:
        """`lead` (help, a reminder, a re-prompt's reason...), then the question again."""
        return [lead, self.ask(question)]

    def reprompt(self, question: Question, reason: str) -> list[Part]:
        """Why the reply was refused, then the question again."""
        return self.with_question(self.reason(question, reason), question)

    def confirm(self, label: str) -> list[Part]:
        """The question that confirms a near miss."""
        return [self.said("did_you_mean", label=label)]

    def notes_before(self, question: Question, applies: Callable[[Question], bool]) -> list[Part]:
        """The notes sent with `question`: those right before it for which `applies` holds."""
        questions = self.survey.questions
        index = next(i for i, q in enumerate(questions) if q.id == question.id)
        notes: list[Part] = []
        for before in reversed(questions[:index]):
            if before.type != NOTE:
                break
            if applies(before):
                notes.insert(0, self.note(before))
        return notes


def message(parts: Iterable[Part], smart_encoding: bool = False) -> str:
    """A message as sent: its parts that have text, separated by blank lines."""
    return as_sent(PARAGRAPH.join(part.text for part in parts if part.text), smart_encoding)


def as_sent(text: str, smart_encoding: bool) -> str:
    """`text` after Twilio's Smart Encoding replacements when the survey asks for them."""
    return smart_encode(text) if smart_encoding and text else text
