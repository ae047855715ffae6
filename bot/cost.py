"""What each message costs (SPEC section 8): segments, worst cases, and what to change.

Every message is composed as the conversation composes it (`bot/compose.py`)
and measured as Twilio bills it (`bot/segments.py`).

A text that pipes answers is counted at its worst case: it is rendered with
each answer replaced by a stand-in as long as that answer can be, printed as
the bot shows it (a choice's label, yes/no as Yes/No...) while comparisons,
filters and loops see a value of the stored kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from bot.compose import Composer, Part
from bot.compose import message as composed
from bot.loader import Problem, line_of
from bot.model import NOTE, Question, Survey
from bot.replies import Invalid, read_reply
from bot.segments import (
    GSM7,
    SMART_ENCODING,
    TWILIO_MAX_CHARACTERS,
    UCS2,
    Measure,
    culprits,
    measure,
    smart_encode,
    ucs2,
)
from bot.shown import join_labels, shown
from bot.templates import Text
from bot.texts import text as bot_text
from bot.values import NUMBER_LIMIT

TEXT_ANSWER_LENGTH = 100  # a text answer without max_length, at its worst
NUMBER_ANSWER_LENGTH = 15  # a number without bounds, at its worst

# Replies that are invalid for some question type, each drawing one reason the bot
# can give (no number, two numbers, a decimal, out of range, too many digits, one pick).
_PROBES = ("zzz", "1 2", "0.5", "-999999999999", "999999999999", str(NUMBER_LIMIT), "1")
# The longest day to write: two-digit day and month, in example reasons and answers.
_LONGEST_DAY = date(2026, 12, 31)


# --- worst-case answers ---------------------------------------------------------------------


def _longest_choice(question: Question) -> str:
    """The value of the choice with the longest label."""
    return max(question.choices, key=lambda c: len(c.label)).value


def _number(question: Question) -> int | float:
    """The bound that takes the most characters to write, else a number of 15 digits."""
    bounds = [b for b in (question.min, question.max) if b is not None]
    if not bounds:
        return int("9" * NUMBER_ANSWER_LENGTH)
    whole = [int(b) if float(b).is_integer() else b for b in bounds]
    return max(whole, key=lambda b: len(str(b)))


def _text(question: Question, filler: str = "x") -> str:
    """A text answer as long as it may be."""
    return filler * (question.max_length or TEXT_ANSWER_LENGTH)


_STORED = {  # the stored value whose printed form is the longest, by question type
    "choice": _longest_choice,
    "language": _longest_choice,
    "multi": lambda question: [choice.value for choice in question.choices],
    "yesno": lambda question: True,  # and False: both are tried
    "number": _number,
    "scale": _number,
    "date": lambda question: _LONGEST_DAY,
}


def _stand_in(question: Question, language: str) -> Any:
    """A stand-in for `question`'s longest answer, printed as the bot shows it."""
    if question.type == "text":
        return _text(question)
    if question.type == "yesno":
        answers = (shown(question, value, language) for value in (True, False))
        return max(answers, key=lambda answer: len(answer.shown))
    return shown(question, _STORED[question.type](question), language)


def worst_answers(survey: Survey, language: str = "en") -> dict[str, Any]:
    """Each question id mapped to a stand-in for its longest answer (notes have none)."""
    local = survey.in_language(language)
    return {q.id: _stand_in(q, language) for q in local.questions if q.type != NOTE}


# --- the messages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One message the bot can send, as sent (worst case filled in), and what it costs."""

    what: str  # "question satisfaction", "re-prompt satisfaction", "outro"...
    language: str
    line: int
    text: str
    encoding: str
    units: int
    segments: int
    worst_case: bool  # the text pipes answers: counted with each at its longest

    def as_json(self) -> dict[str, Any]:
        """The message as `surveys check --json` prints it."""
        return asdict(self)


class _Composer(Composer):
    """A composer that builds each question's part once: it goes in about eight messages."""

    __slots__ = ("asked",)

    def __init__(self, survey: Survey, language: str, render) -> None:
        super().__init__(survey, language, render)
        self.asked: dict[str, Part] = {}

    def ask(self, question: Question) -> Part:
        """The question's text and numbered choices, as the conversation shows them."""
        if question.id not in self.asked:
            self.asked[question.id] = super().ask(question)
        return self.asked[question.id]


@dataclass
class _Counter:
    """Renders a survey's texts at their worst case, composes its messages and counts them."""

    survey: Survey  # as seen in `language`
    language: str
    smart_encoding: bool
    measured: bool = True  # False for the length check: it reads texts, not costs or pipes
    answers: dict[str, Any] = field(init=False)
    compose: Composer = field(init=False)
    composed: list[tuple[Message, list[Part]]] = field(default_factory=list)
    rendered: dict[tuple[int, str], Part] = field(default_factory=dict)
    # Each question's reasons, by what the reply reading looks at: a survey's many 0-10
    # scales (or yes/no questions) are probed once.
    reasons: dict[tuple, list[str]] = field(default_factory=dict)
    # What made a text fail with every answer given, by line: every respondent would get
    # it without that part (a render without answers is expected to fail, and is not here).
    failures: dict[int, Exception] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.answers = worst_answers(self.survey, self.language)
        self.compose = _Composer(self.survey, self.language, self.render)

    def context(self, answers: dict[str, Any], arm: str | None = None) -> dict[str, Any]:
        """What templates see: the answers, the survey, today (a date that takes two digits for
        its day and month) and the arm."""
        return {
            "answers": answers,
            "survey": self.survey.info,
            "today": _LONGEST_DAY,  # a plain date, as the conversation gives it (2026-12-31)
            "arm": arm,
        }

    def render(self, text: Text, where: Question | str) -> Part:
        """`text` rendered at its worst, once: a question's text goes in several messages."""
        key = (id(text), where if isinstance(where, str) else where.id)
        if key not in self.rendered:
            self.rendered[key] = self._worst(text, where)
        return self.rendered[key]

    def _worst(self, text: Text, where: Question | str) -> Part:
        """`text` rendered at its worst: with every answer at its longest, or with none, in
        each arm of the survey."""
        line = where.line if isinstance(where, Question) else line_of(self.survey, where)
        if text.constant:  # the same text in every arm, with or without answers: no worst case
            return Part(text.render({}), line)
        arms = [arm.id for arm in self.survey.arms] or [None]
        full = [self._answered(text, arm, line) for arm in arms]
        # Without answers a text may fail (`answers.n + 1`): the respondent then gets the
        # parts that render, as a missing answer shows as nothing; no news for anyone.
        empty = [text.attempt(self.context({}, arm), max_output=None)[0] for arm in arms]
        # A render that fails gives back the source: no respondent's message looks like that
        # when another render works (`answers.pain < 4` fails without an answer).
        failed = text.source.strip()
        rendered = [t for t in (*full, *empty) if t != failed] or [failed]
        worst = max(rendered, key=lambda t: _cost_key(measure(t)))
        pairs = zip(full, arms, strict=True) if self.measured else ()
        piped = frozenset().union(*(self.piped(text, shown, arm) for shown, arm in pairs))
        return Part(worst, line, piped, worst_case=full != empty)

    def _answered(self, text: Text, arm: str | None, line: int) -> str:
        """`text` with every answer at its longest; what makes it fail even so is kept."""
        rendered, failure = text.attempt(self.context(self.answers, arm), max_output=None)
        if failure is not None:
            self.failures.setdefault(line, failure)
        return rendered

    def piped(self, text: Text, full: str, arm: str | None) -> frozenset[str]:
        """The text questions whose answers `text` prints: changing them changes it."""
        if text.constant:  # the same for every respondent: it prints no answer
            return frozenset()
        found = set()
        for question in self.survey.questions:
            if question.type == "text":
                changed = {**self.answers, question.id: _text(question, "y")}
                if text.attempt(self.context(changed, arm))[0] != full:
                    found.add(question.id)
        return frozenset(found)

    def add(self, what: str, line: int, parts: list[Part]) -> None:
        """Count one message composed from its parts (empty ones left out)."""
        parts = [p for p in parts if p.text]
        text = composed(parts, self.smart_encoding)
        worst_case = any(p.worst_case for p in parts)
        cost = measure(text) if self.measured else _UNMEASURED
        counted = Message(what, self.language, line, text, *cost, worst_case)
        self.composed.append((counted, parts))


_UNMEASURED = Measure("", 0, 0)  # a message whose length alone is looked at


def _cost_key(cost: Measure) -> tuple[int, int]:
    """Order costs: more segments first, then more units."""
    return (cost.segments, cost.units)


def _reasons(counter: _Counter, question: Question) -> list[str]:
    """Each distinct reason the bot's reply reading gives for an invalid reply to `question`
    (worked out once for questions that differ only in what the reply reading ignores)."""
    key = (
        *(question.type, question.choices, question.min, question.max, question.integer),
        *(question.max_length, question.optional, question.constraint is not None),
    )
    if key not in counter.reasons:
        counter.reasons[key] = _reasons_of(counter.survey, question, counter.language)
    return counter.reasons[key]


def _reasons_of(survey: Survey, question: Question, language: str) -> list[str]:
    """Each distinct reason the bot's reply reading gives for an invalid reply to `question`."""
    probes = list(_PROBES)
    if question.choices:  # every choice picked: more than a multi may take
        probes.append(",".join(str(i) for i in range(1, len(question.choices) + 1)))
    if question.max_length:
        probes.append("x" * (question.max_length + 1))
    reasons = [
        value.reason
        for value in (
            read_reply(
                question,
                probe,
                today=_LONGEST_DAY,
                date_order=survey.date_order,
                language=language,
            )
            for probe in probes
        )
        if isinstance(value, Invalid)
    ]
    if not question.optional:
        reasons.append(bot_text("skip_refused", language))
    if question.constraint is not None:
        reasons.append(bot_text("constraint", language))
    return list(dict.fromkeys(reasons))


def _may_come_first(survey: Survey) -> list[Question]:
    """The questions that can open the survey: the first, and each after one with a `when`."""
    first = []
    for question in survey.questions:
        first.append(question)
        if question.when is None and question.type != NOTE:  # a note goes with the next one
            break
    return first


def _question_messages(counter: _Counter, index: int, notes: list[Part], opens: bool) -> None:
    """A question as sent, its re-prompts, confirmation, help, reminder and "let's move on"."""
    survey, compose = counter.survey, counter.compose
    question = survey.questions[index]
    line = question.line
    lead = [compose.intro(), *notes] if opens else notes
    counter.add(f"question {question.id}", line, compose.arrival(question, lead))
    reasons = _reasons(counter, question)
    if question.error is not None:  # the author's reason replaces every default one
        reasons = [""]
    for reason in reasons:
        counter.add(f"re-prompt {question.id}", line, compose.reprompt(question, reason))
    need_text = compose.with_question(compose.said("need_text"), question)
    counter.add(f"re-prompt {question.id}", line, need_text)
    if question.type == "choice":  # a near miss of its longest label, to confirm
        confirm = compose.confirm(max(question.choices, key=lambda c: len(c.label)).label)
        counter.add(f"confirm {question.id}", line, confirm)
    if index > 0:  # the question after one given up on
        move_on = compose.arrival(question, [compose.said("move_on"), *notes])
        counter.add(f"move on {question.id}", line, move_on)
    counter.add(f"help {question.id}", line, compose.with_question(compose.help(), question))
    reminder = compose.reminder()  # flask remind sends the question alone without one
    counter.add(
        f"reminder {question.id}", reminder.line or line, compose.with_question(reminder, question)
    )
    if survey.recontact and not reminder.text:  # flask worker's re-contact: the bot's own line
        recontact = compose.with_question(compose.said("recontact"), question)
        counter.add(f"reminder {question.id}", line_of(survey, "recontact"), recontact)


def _compose(
    survey: Survey, language: str, smart_encoding: bool, measured: bool = True
) -> _Counter:
    """Every message the bot can send from `survey`, with the parts each is made of (and
    their cost and the answers they print, unless not `measured`)."""
    counter = _Counter(survey.in_language(language), language, smart_encoding, measured)
    survey, compose = counter.survey, counter.compose
    first = _may_come_first(survey)
    notes: list[Part] = []  # notes go out with the message after them
    for index, question in enumerate(survey.questions):
        if question.type == NOTE:
            notes.append(compose.note(question))
            continue
        _question_messages(counter, index, notes, question in first)
        notes = []
    outro = compose.outro()
    counter.add("outro", outro.line, compose.arrival(None, notes))
    move_on = compose.arrival(None, [compose.said("move_on"), *notes])
    counter.add("move on outro", outro.line, move_on)
    _design_messages(counter)
    return counter


def _design_messages(counter: _Counter) -> None:
    """What a study design sends instead of a question (SPEC 12): a full quota's text, at the
    start (after the intro), after an answer or after "let's move on"; the closed text."""
    survey, compose = counter.survey, counter.compose
    if survey.quotas:
        full = compose.quota_full()
        line = full.line or line_of(survey, "quotas")
        counter.add("quota-full", line, [full])
        if compose.intro().text:  # at the start: a quota on the arm alone is judged then
            counter.add("quota-full", line, [compose.intro(), full])
        counter.add("move on quota-full", line, [compose.said("move_on"), full])
    if survey.target is not None:
        closed = compose.closed()
        counter.add("closed", closed.line or line_of(survey, "target"), [closed])


def survey_messages(
    survey: Survey, language: str | None = None, smart_encoding: bool | None = None
) -> list[Message]:
    """Every message the bot can send from `survey` in one language (default: its first),
    each at its worst case, Smart Encoding applied as the survey says unless told."""
    language = language or survey.language
    smart = survey.smart_encoding if smart_encoding is None else smart_encoding
    return [message for message, _ in _compose(survey, language, smart).composed]


def too_long(survey: Survey, messages: Iterable[Message] | None = None) -> list[Problem]:
    """One problem per line whose text makes a message, in any of the survey's languages,
    longer than Twilio takes at its worst (`messages`: every one, if already composed)."""
    if messages is None:  # composed for their length: no segments counted
        messages = [
            message
            for code in survey.languages
            for message, _ in _compose(survey, code, survey.smart_encoding, False).composed
        ]
    several = len(survey.languages) > 1
    longest: dict[int, Message] = {}
    for message in over_limit(messages):
        line = message.line or 1
        if line not in longest or len(message.text) > len(longest[line].text):
            longest[line] = message
    return [
        Problem(
            survey.path,
            line,
            f"{m.what}{f' ({m.language})' if several else ''} can be {len(m.text):,} characters"
            f" long at its worst; Twilio takes at most {TWILIO_MAX_CHARACTERS:,}",
        )
        for line, m in sorted(longest.items())
    ]


def over_limit(messages: Iterable[Message]) -> list[Message]:
    """The messages whose worst case is longer than Twilio accepts."""
    return [m for m in messages if len(m.text) > TWILIO_MAX_CHARACTERS]


def worst(messages: Iterable[Message]) -> Message | None:
    """The message that costs the most: most segments, then most units."""
    return max(
        messages, key=lambda m: _cost_key(Measure(m.encoding, m.units, m.segments)), default=None
    )


# --- warnings ---------------------------------------------------------------------------------


def _source_line(survey: Survey, char: str, start: int) -> int:
    """The first line from `start` on where `char` is written, else `start`."""
    lines = survey.source.splitlines()
    for number in range(max(start, 1), len(lines) + 1):
        if char in lines[number - 1]:
            return number
    return start


def _segments_text(count: int) -> str:
    """`1 segment`, `3 segments`."""
    return f"{count} segment" + ("" if count == 1 else "s")


def _culprit_warnings(counter: _Counter) -> list[Problem]:
    """One warning for each line of an author's whose characters send messages in UCS-2."""
    found: dict[int, dict[str, list[Message]]] = {}
    for message, parts in counter.composed:
        if message.encoding != UCS2:
            continue
        for part in (p for p in parts if p.line):
            text = smart_encode(part.text) if counter.smart_encoding else part.text
            for char, _ in culprits(text):
                line = _source_line(counter.survey, char, part.line)
                sent = found.setdefault(line, {}).setdefault(char, [])
                if message not in sent:
                    sent.append(message)
    language = f" in {counter.language}" if len(counter.survey.languages) > 1 else ""
    return [
        Problem(counter.survey.path, line, _culprit_message(chars, language))
        for line, chars in sorted(found.items())
    ]


def _culprit_message(chars: dict[str, list[Message]], language: str) -> str:
    """What the author's characters on one line cost, and what to write instead."""
    messages = list(dict.fromkeys(m for sent in chars.values() for m in sent))
    costliest = worst(messages)
    count = len(messages)
    named = ", ".join(f'"{char}" (U+{ord(char):04X})' for char in chars)
    text = (
        f"{named} send{'s' if len(chars) == 1 else ''} {count} message{'s' if count > 1 else ''}"
        f" in UCS-2{language}, such as {costliest.what} ({_segments_text(costliest.segments)})"
    )
    replaced = {char: SMART_ENCODING[char] for char in chars if char in SMART_ENCODING}
    kept = [f'"{char}"' for char in chars if char not in replaced]
    advice = []
    if replaced:
        writes = ", ".join(f'"{new}" for "{char}"' for char, new in replaced.items())
        advice.append(f"write {writes}, or set smart_encoding: true")
    if kept:
        advice.append(
            f"{join_labels(kept)} {'has' if len(kept) == 1 else 'have'} no GSM-7 replacement"
        )
    return text + "; " + "; ".join(advice)


def _piped_warnings(counter: _Counter) -> list[Problem]:
    """One warning for each text that prints a text answer: what UCS-2 would cost there."""
    found: dict[tuple[int, str], list[Message]] = {}
    for message, parts in counter.composed:
        for part in parts:
            for question_id in part.piped:
                found.setdefault((part.line, question_id), []).append(message)
    warnings = []
    for (line, question_id), messages in sorted(found.items()):
        costliest = max(messages, key=lambda m: _cost_key(ucs2(m.text)))
        cost = ucs2(costliest.text)
        count = len(messages)
        text = (
            f"{count} message{'s' if count > 1 else ''} print the answer to {question_id}: "
            f"an emoji or an accented letter in it sends them in UCS-2, up to "
            f"{_segments_text(cost.segments)} ({cost.units} UTF-16 units) for {costliest.what}"
            f" instead of {_segments_text(costliest.segments)}"
        )
        warnings.append(Problem(counter.survey.path, line, text))
    return warnings


def _failure_warnings(counter: _Counter) -> list[Problem]:
    """One warning for each line whose text fails to render even with every answer given."""
    return [
        Problem(
            counter.survey.path,
            line,
            f"a text here fails to render even with every answer given ({failure}): the bot "
            "sends its message without the part that fails",
        )
        for line, failure in sorted(counter.failures.items())
    ]


# --- the report -------------------------------------------------------------------------------


@dataclass
class SurveyCost:
    """What `surveys check` reports for one survey file."""

    id: str
    file: str
    served: bool
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The survey as `surveys check --json` prints it."""
        return {
            "id": self.id,
            "file": self.file,
            "served": self.served,
            "errors": [_problem_json(p) for p in self.errors],
            "warnings": [_problem_json(p) for p in self.warnings],
            "messages": [m.as_json() for m in self.messages],
        }


def _problem_json(problem: Problem) -> dict[str, Any]:
    """A problem as the JSON document shows it: its line and message."""
    return {"line": problem.line, "message": problem.message}


def survey_cost(
    survey: Survey,
    *,
    languages: Iterable[str] | None = None,
    smart_encoding: bool | None = None,
    served: bool = True,
) -> SurveyCost:
    """Every message of `survey` in each language (default: all of its own), with the
    warnings their costs call for; Smart Encoding applied as the survey says unless told."""
    report = SurveyCost(survey.id, survey.path, served)
    smart = survey.smart_encoding if smart_encoding is None else smart_encoding
    for language in survey.languages if languages is None else languages:
        counter = _compose(survey, language, smart)
        report.messages.extend(message for message, _ in counter.composed)
        found = _culprit_warnings(counter) + _piped_warnings(counter) + _failure_warnings(counter)
        for warning in found:
            if warning not in report.warnings:
                report.warnings.append(warning)
    report.warnings.sort(key=lambda p: p.line)
    return report


def refused(
    path: str, errors: list[Problem], survey_id: str = "", warnings: list[Problem] = ()
) -> SurveyCost:
    """The report of a file that does not load, or is not served."""
    return SurveyCost(survey_id, path, False, list(errors), list(warnings))


def as_json(reports: Iterable[SurveyCost]) -> dict[str, Any]:
    """The document `surveys check --json` prints."""
    return {"surveys": [report.as_json() for report in reports]}


# --- the table an author reads ----------------------------------------------------------------

# Columns of the table: the kind of message (the first word of `what`) and its heading.
COLUMNS = (
    ("question", "ask"),
    ("re-prompt", "re-prompt"),
    ("confirm", "confirm"),
    ("move", "move on"),
    ("help", "help"),
    ("reminder", "reminder"),
)


def _cell(messages: list[Message]) -> str:
    """The costliest of `messages` in a few characters: `2`, `3u` (UCS-2), `1*` (worst case)."""
    costliest = worst(messages)
    if costliest is None:
        return "-"
    flags = ("u" if costliest.encoding == UCS2 else "") + ("*" if costliest.worst_case else "")
    return f"{costliest.segments}{flags}"


def _rows(messages: list[Message]) -> dict[str, dict[str, list[Message]]]:
    """Messages by subject (a question id, or outro) and kind, in survey order."""
    rows: dict[str, dict[str, list[Message]]] = {}
    for message in messages:
        kind, _, subject = message.what.partition(" ")
        if kind == "move":  # "move on X"
            subject = subject.removeprefix("on ")
        elif kind in ("outro", "quota-full", "closed"):  # a row of its own, "asked" alone
            kind, subject = "question", kind
        rows.setdefault(subject, {}).setdefault(kind, []).append(message)
    return rows


def _table(messages: list[Message]) -> list[str]:
    """Segments per question and kind of message, one row per question."""
    rows = _rows(messages)
    columns = [(kind, head) for kind, head in COLUMNS if any(kind in r for r in rows.values())]
    width = max(len(subject) for subject in rows)
    lines = ["  " + " " * width + "".join(f"  {head:>9}" for _, head in columns)]
    for subject, kinds in rows.items():
        cells = "".join(f"  {_cell(kinds.get(kind, [])):>9}" for kind, _ in columns)
        lines.append(f"  {subject:<{width}}{cells}")
    return lines


def _summary(report: SurveyCost, language: str, messages: list[Message]) -> str:
    """One line: the survey, its language, how many messages, and the costliest."""
    costliest = worst(messages)
    ucs2 = sum(m.encoding == UCS2 for m in messages)
    text = f"{report.id} ({report.file}) [{language}]: {len(messages)} messages"
    text += f", {ucs2} in UCS-2" if ucs2 else ", all GSM-7"
    if costliest is not None:
        text += f"; costliest: {costliest.what}, {_segments_text(costliest.segments)}"
        text += f" ({costliest.units} {'septets' if costliest.encoding == GSM7 else 'units'})"
    return text


def format_costs(reports: Iterable[SurveyCost]) -> str:
    """The cost table `surveys check` prints: segments of each survey's messages, and warnings."""
    out, tables = [], False
    for report in reports:
        if not report.served:
            out.append(f"{report.id or report.file} ({report.file}): not served")
            out.extend(f"  {problem}" for problem in report.errors + report.warnings)
            continue
        by_language: dict[str, list[Message]] = {}
        for message in report.messages:
            by_language.setdefault(message.language, []).append(message)
        for language, messages in by_language.items():
            out.append(_summary(report, language, messages))
            out.extend(_table(messages))
            tables = True
        out.extend(f"  {problem}" for problem in report.warnings)
    if tables:  # the legend of the tables, when there is one
        out.append("segments per message; u: UCS-2; *: worst case, with answers at their longest")
    return "\n".join(out)
