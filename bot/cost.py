"""What each message costs (SPEC section 8): segments, worst cases, and what to change.

SMS are billed by segment. A message in GSM-7 (3GPP TS 23.038's default
alphabet) is one segment up to 160 septets and 153 per segment above; any
other character makes the whole message UCS-2: one segment up to 70 UTF-16
code units, 67 per segment above. A two-septet character or a surrogate pair
is never split across segments.

A text that pipes answers is counted at its worst case: it is rendered with
each answer replaced by a stand-in as long as that answer can be, printed as
the bot shows it (a choice's label, yes/no as Yes/No...) while comparisons,
filters and loops see a value of the stored kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from bot.loader import Problem, line_of
from bot.model import NOTE, Question, Survey
from bot.replies import Invalid, read_reply
from bot.shown import Day, day, join_labels, shown
from bot.templates import Text
from bot.words import text as bot_text

GSM7, UCS2 = "GSM-7", "UCS-2"
GSM7_SINGLE, GSM7_PER_SEGMENT = 160, 153  # septets
UCS2_SINGLE, UCS2_PER_SEGMENT = 70, 67  # UTF-16 code units
TWILIO_MAX_CHARACTERS = 1600  # Twilio refuses a longer body
TEXT_ANSWER_LENGTH = 100  # a text answer without max_length, at its worst
NUMBER_ANSWER_LENGTH = 15  # a number without bounds, at its worst
PARAGRAPH = "\n\n"  # between the parts of one reply, as the conversation joins them

# The codec maps U+001B to the escape septet, but that septet only announces an
# extension character: ESC itself cannot be sent as text.
_NOT_GSM = frozenset("\x1b")

# Twilio's Smart Encoding: characters with a GSM-7 stand-in, from Twilio's
# published list (docs "List of characters replaced by Smart Encoding" and its
# message-segment-calculator). Control characters of that list are left out: a
# survey text holds none. ‹ and › go to < and >, as their shapes say.
_SMART_GROUPS = {
    '"': "«»“”ʺˮ‟❝❞〝〞＂„",
    "'": "‘’ʻˈʼʽʹ‛＇´ˊ`ˋ❛❜\u0313\u0314︐︑",
    "/": "÷⧸\u0337\u0338⁄∕／",
    "\\": "⧹⧵\u20e5﹨＼",
    "_": "\u0332＿",
    "|": "\u20d2\u20d3∣｜⎸⎹⏐⎜⎟",
    "-": "⎼⎽―﹣－‐⁃–—•",
    "@": "﹫＠",
    "$": "﹩＄",
    "!": "ǃ︕﹗！",
    "#": "﹟＃",
    "%": "﹪％",
    "&": "﹠＆",
    ",": "‚\u0326﹐﹑，､、",
    "(": "❨❪﹙（⟮⦅",
    ")": "❩❫﹚）⟯⦆",
    "*": "⁎∗⊛✢✣✤✥✱✲✳✺✻✼✽❃❉❊❋⧆﹡＊",
    "+": "˖﹢＋",
    ".": "。﹒．｡",
    ":": "ː˸⦂꞉︓：",
    ";": "⁏︔﹔；",
    "<": "﹤＜‹",
    "=": "\u0347꞊﹦＝",
    ">": "﹥＞›",
    "?": "︖﹖？",
    "^": "ˆ\u0302＾\u1dcd",
    "{": "❴﹛｛",
    "}": "❵﹜｝",
    "[": "［",
    "]": "］",
    "~": "˜˷\u0334\u0330\u0303∼～",
    " ": "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000\u2028\u2029",
    "": "\u200b\u2060\ufeff",  # invisible: dropped
    "...": "…",
    "!!": "‼",
    "1/4": "¼",
    "1/2": "½",
    "3/4": "¾",
}
_SMART_LETTERS = {  # fullwidth digits and letters, small capitals
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    **{chr(0xFF21 + i): chr(ord("A") + i) for i in range(26)},
    **dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "ABCDEFGHIJKLMNOPRSTUVWYZ", strict=True)),
}
SMART_ENCODING = {
    **{char: gsm for gsm, chars in _SMART_GROUPS.items() for char in chars},
    **_SMART_LETTERS,
}
_SMART_TABLE = str.maketrans(SMART_ENCODING)

# Replies that are invalid for some question type, each drawing one reason the bot
# can give (no number, two numbers, a decimal, out of range, one pick).
_PROBES = ("zzz", "1 2", "0.5", "-999999999999", "999999999999", "1")
# The longest day to write: two-digit day and month, in example reasons and answers.
_LONGEST_DAY = date(2026, 12, 31)


class Measure(NamedTuple):
    """What a message costs: its encoding, its units (septets or UTF-16 code units), segments."""

    encoding: str
    units: int
    segments: int


@lru_cache(maxsize=4096)
def _septets(char: str) -> int | None:
    """The septets `char` takes in GSM-7 (2 for the extension table), None if it has none."""
    if char in _NOT_GSM:
        return None
    try:
        return len(char.encode("gsm03.38"))
    except UnicodeEncodeError:
        return None


def _segments(widths: Iterable[int], single: int, per_segment: int) -> tuple[int, int]:
    """(units, segments) for characters of these widths, never splitting one character."""
    widths = list(widths)
    units = sum(widths)
    if units <= single:
        return units, 1 if units else 0
    segments, used = 1, 0
    for width in widths:
        if used + width > per_segment:
            segments, used = segments + 1, 0
        used += width
    return units, segments


def _ucs2(text: str) -> Measure:
    """The cost of `text` sent in UCS-2."""
    widths = (2 if ord(char) > 0xFFFF else 1 for char in text)  # astral: a surrogate pair
    return Measure(UCS2, *_segments(widths, UCS2_SINGLE, UCS2_PER_SEGMENT))


def measure(text: str) -> Measure:
    """The cost of `text`: GSM-7 when every character has a septet, else UCS-2."""
    widths = [_septets(char) for char in text]
    if None in widths:
        return _ucs2(text)
    return Measure(GSM7, *_segments(widths, GSM7_SINGLE, GSM7_PER_SEGMENT))


def smart_encode(text: str) -> str:
    """`text` with Twilio's Smart Encoding replacements made."""
    return text.translate(_SMART_TABLE)


def culprits(text: str) -> list[tuple[str, str | None]]:
    """Each character that keeps `text` out of GSM-7, once, with its replacement if it has one."""
    found = dict.fromkeys(char for char in text if _septets(char) is None)
    return [(char, SMART_ENCODING.get(char)) for char in found]


# --- worst-case answers ---------------------------------------------------------------------


def _longest_day(language: str = "en") -> Day:
    """A date whose written form is as long as any."""
    return day(_LONGEST_DAY, language)


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
        return max((shown(question, v, language) for v in (True, False)), key=lambda v: len(str(v)))
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


@dataclass(frozen=True)
class _Part:
    """One part of a message (an intro, a reason, a question) and where an author wrote it."""

    text: str
    line: int = 0  # 0: the bot's own words
    piped: frozenset[str] = frozenset()  # text questions whose answers it prints
    worst_case: bool = False


@dataclass
class _Composer:
    """Renders a survey's texts at their worst case and composes its messages."""

    survey: Survey
    language: str
    smart_encoding: bool
    answers: dict[str, Any] = field(init=False)
    composed: list[tuple[Message, list[_Part]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.answers = worst_answers(self.survey, self.language)

    def context(self, answers: dict[str, Any]) -> dict[str, Any]:
        """What templates see: the answers, the survey and today (at its longest to write)."""
        return {
            "answers": answers,
            "survey": self.survey.info,
            "today": _longest_day(self.language),
        }

    def part(self, text: Text | None, line: int, fallback: str = "") -> _Part:
        """`text` rendered at its worst: with every answer at its longest, or with none."""
        if text is None:
            return _Part(fallback)
        full = text.render(self.context(self.answers), max_output=None)  # the whole worst case
        empty = text.render(self.context({}), max_output=None)
        # A render that fails gives back the source: no respondent's message looks like that
        # when another render works (`answers.pain < 4` fails without an answer).
        failed = text.source.strip()
        rendered = [t for t in (full, empty) if t != failed] or [failed]
        worst = max(rendered, key=lambda t: _cost_key(measure(t)))
        return _Part(worst, line, self.piped(text, full), worst_case=full != empty)

    def piped(self, text: Text, full: str) -> frozenset[str]:
        """The text questions whose answers `text` prints: changing them changes it."""
        found = set()
        for question in self.survey.questions:
            if question.type == "text":
                changed = {**self.answers, question.id: _text(question, "y")}
                if text.render(self.context(changed)) != full:
                    found.add(question.id)
        return frozenset(found)

    def ask(self, question: Question) -> _Part:
        """A question's text with its choices as numbered lines."""
        part = self.part(question.text, question.line)
        lines = [f"{i}. {choice.label}" for i, choice in enumerate(question.choices, 1)]
        return _Part("\n".join([part.text, *lines]), part.line, part.piped, part.worst_case)

    def add(self, what: str, line: int, *parts: _Part) -> None:
        """Compose one message from its parts (empty ones left out) and count it."""
        parts = [p for p in parts if p.text]
        text = PARAGRAPH.join(p.text for p in parts)
        if self.smart_encoding:
            text = smart_encode(text)
        cost = measure(text)
        worst_case = any(p.worst_case for p in parts)
        message = Message(what, self.language, line, text, *cost, worst_case)
        self.composed.append((message, parts))


def _cost_key(cost: Measure) -> tuple[int, int]:
    """Order costs: more segments first, then more units."""
    return (cost.segments, cost.units)


def _reasons(survey: Survey, question: Question, language: str) -> list[str]:
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
    return list(dict.fromkeys(reasons))


def _may_come_first(survey: Survey) -> list[Question]:
    """The questions that can open the survey: the first, and each after one with a `when`."""
    first = []
    for question in survey.questions:
        first.append(question)
        if question.when is None and question.type != NOTE:  # a note goes with the next one
            break
    return first


def _help(composer: _Composer) -> _Part:
    """The reply to HELP: the survey's own `help`, else the bot's."""
    survey, language = composer.survey, composer.language
    standard = bot_text("help", language, name=survey.name)
    return composer.part(survey.help, line_of(survey, "help"), standard)


def _question_messages(composer: _Composer, index: int, lead: list[_Part]) -> None:
    """A question as sent, its re-prompts, help, reminder and "let's move on" before it."""
    survey, language = composer.survey, composer.language
    question = survey.questions[index]
    line, ask = question.line, composer.ask(question)
    composer.add(f"question {question.id}", line, *lead, ask)
    reasons = [_Part(reason) for reason in _reasons(survey, question, language)]
    if question.error is not None:  # the author's reason replaces every default one
        reasons = [composer.part(question.error, line)]
    elif question.constraint is not None:
        reasons.append(_Part(bot_text("constraint", language)))
    for reason in [*reasons, _Part(bot_text("need_text", language))]:
        composer.add(f"re-prompt {question.id}", line, reason, ask)
    move_on = _Part(bot_text("move_on", language))
    if index > 0:  # the question after one given up on
        composer.add(f"move on {question.id}", line, move_on, *lead[-1:], ask)
    composer.add(f"help {question.id}", line, _help(composer), ask)
    if survey.reminder is not None:
        reminder = composer.part(survey.reminder, line_of(survey, "reminder"))
        composer.add(f"reminder {question.id}", reminder.line, reminder, ask)


def _compose(survey: Survey, language: str, smart_encoding: bool) -> _Composer:
    """Every message the bot can send from `survey`, with the parts each is made of."""
    survey = survey.in_language(language)
    composer = _Composer(survey, language, smart_encoding)
    intro = composer.part(survey.intro, line_of(survey, "intro"))
    first = _may_come_first(survey)
    notes: list[_Part] = []  # a note goes out with the message after it
    for index, question in enumerate(survey.questions):
        if question.type == NOTE:
            notes = [composer.part(question.text, question.line)]
            continue
        opening = [intro] if question in first and intro.text else []
        _question_messages(composer, index, opening + notes)
        notes = []
    outro = composer.part(survey.outro, line_of(survey, "outro"), bot_text("outro", language))
    composer.add("outro", outro.line, *notes, outro)
    composer.add("move on outro", outro.line, _Part(bot_text("move_on", language)), outro)
    return composer


def survey_messages(
    survey: Survey, language: str = "en", smart_encoding: bool = False
) -> list[Message]:
    """Every message the bot can send from `survey`, each at its worst case."""
    return [message for message, _ in _compose(survey, language, smart_encoding).composed]


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


def _culprit_warnings(composer: _Composer) -> list[Problem]:
    """One warning for each line of an author's whose characters send messages in UCS-2."""
    found: dict[int, dict[str, list[Message]]] = {}
    for message, parts in composer.composed:
        if message.encoding != UCS2:
            continue
        for part in (p for p in parts if p.line):
            text = smart_encode(part.text) if composer.smart_encoding else part.text
            for char, _ in culprits(text):
                line = _source_line(composer.survey, char, part.line)
                sent = found.setdefault(line, {}).setdefault(char, [])
                if message not in sent:
                    sent.append(message)
    language = f" in {composer.language}" if len(composer.survey.languages) > 1 else ""
    return [
        Problem(composer.survey.path, line, _culprit_message(chars, language))
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


def _piped_warnings(composer: _Composer) -> list[Problem]:
    """One warning for each text that prints a text answer: what UCS-2 would cost there."""
    found: dict[tuple[int, str], list[Message]] = {}
    for message, parts in composer.composed:
        for part in parts:
            for question_id in part.piped:
                found.setdefault((part.line, question_id), []).append(message)
    warnings = []
    for (line, question_id), messages in sorted(found.items()):
        costliest = max(messages, key=lambda m: _cost_key(_ucs2(m.text)))
        cost = _ucs2(costliest.text)
        count = len(messages)
        text = (
            f"{count} message{'s' if count > 1 else ''} print the answer to {question_id}: "
            f"an emoji or an accented letter in it sends them in UCS-2, up to "
            f"{_segments_text(cost.segments)} ({cost.units} UTF-16 units) for {costliest.what}"
            f" instead of {_segments_text(costliest.segments)}"
        )
        warnings.append(Problem(composer.survey.path, line, text))
    return warnings


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
    languages: Iterable[str] = ("en",),
    smart_encoding: bool = False,
    served: bool = True,
) -> SurveyCost:
    """Every message of `survey` in each language, with the warnings their costs call for."""
    report = SurveyCost(survey.id, survey.path, served)
    for language in languages:
        composer = _compose(survey, language, smart_encoding)
        report.messages.extend(message for message, _ in composer.composed)
        for warning in _culprit_warnings(composer) + _piped_warnings(composer):
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
        elif kind == "outro":
            kind, subject = "question", "outro"
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
    out = []
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
        out.extend(f"  {problem}" for problem in report.warnings)
    if out:
        out.append("segments per message; u: UCS-2; *: worst case, with answers at their longest")
    return "\n".join(out)
