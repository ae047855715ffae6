"""Warnings for authors (SPEC 8): what loads but will surprise respondents.

A warning never stops a survey from being served; `surveys check` prints it
with its line. Missing translations and languages without built-in words are
warned about by the languages work: add them to `WARNINGS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from bot.loader import Problem, as_keyword, line_of
from bot.model import Question, Survey
from bot.replies import normalise
from bot.words import LANGUAGES, TWILIO_OPT_OUT_WORDS, command_of, plain


def _choice_texts(survey: Survey) -> Iterator[tuple[Question, str, int]]:
    """What a respondent may type to pick each choice (label, value, aliases), with its line."""
    for question in survey.questions:
        for choice in question.choices:
            for text in dict.fromkeys((choice.label, choice.value, *choice.aliases)):
                yield question, text, _choice_line(survey, question, text)


def _choice_line(survey: Survey, question: Question, text: str) -> int:
    """The line a choice's text is written on, from its question's line on."""
    lines = survey.source.splitlines()
    for number in range(question.line, len(lines) + 1):
        if text in lines[number - 1]:
            return number
    return question.line


def _command(text: str) -> str | None:
    """Why a choice reading as `text` is never picked by typing it, or None.

    Any built-in language's command counts: a survey may be answered in each.
    """
    word = plain(normalise(text))
    command = command_of(word, LANGUAGES)
    if command is None:
        return None
    if word in TWILIO_OPT_OUT_WORDS:
        return f"Twilio opts out anyone who texts {word.upper()}"
    if command == "opt_out":
        return f"texting {word.upper()} opts the respondent out"
    return f"{word.upper()} is a command word, read before any answer"


def command_choices(survey: Survey, others: list[Survey]) -> list[Problem]:
    """A choice that reads as a command or opt-out word: typing it never picks the choice."""
    return [
        Problem(
            survey.path,
            line,
            f'choice "{text}" of {question.id}: {why}; reply with its number instead or rename it',
        )
        for question, text, line in _choice_texts(survey)
        if (why := _command(text))
    ]


def keyword_choices(survey: Survey, others: list[Survey]) -> list[Problem]:
    """A choice that is another survey's keyword: a respondent may mean either."""
    keywords = {word: other for other in others if other.id != survey.id for word in other.keywords}
    return [
        Problem(
            survey.path,
            line,
            f'choice "{text}" of {question.id} is also the keyword of survey "{other.id}": '
            "here it answers the question, elsewhere it starts that survey",
        )
        for question, text, line in _choice_texts(survey)
        if (other := keywords.get(as_keyword(text)))
    ]


def single_choices(survey: Survey, others: list[Survey]) -> list[Problem]:
    """A choice or multi question with one choice: it gives the respondent no choice."""
    return [
        Problem(
            survey.path,
            question.line,
            f"question {question.id} has a single choice; add another, or ask a yesno question",
        )
        for question in survey.questions
        if question.type in ("choice", "multi") and len(question.choices) == 1
    ]


def unreachable(survey: Survey, others: list[Survey]) -> list[Problem]:
    """A survey no text can start: no keyword, and not the default."""
    if survey.keywords or survey.default:
        return []
    return [
        Problem(
            survey.path,
            line_of(survey, "keywords"),
            f'survey "{survey.id}" has no keywords and is not the default: no text starts it, '
            "only `flask invite` can; add keywords: [...] to let people text in",
        )
    ]


WARNINGS: tuple[Callable[[Survey, list[Survey]], list[Problem]], ...] = (
    command_choices,
    keyword_choices,
    single_choices,
    unreachable,
)


def warnings(survey: Survey, others: list[Survey]) -> list[Problem]:
    """Every warning about `survey`, served next to `others`, by line."""
    found = [problem for warn in WARNINGS for problem in warn(survey, others)]
    return sorted(found, key=lambda p: p.line)
