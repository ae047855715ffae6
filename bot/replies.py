"""Reading a respondent's reply (SPEC section 2): normalise it, then read it as one question type.

Every function here is pure: a question and a reply in, the value to store or an `Invalid` out.
An `Invalid` carries a short reason that always shows what a valid reply looks like.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

from bot.model import Choice, Question


class Invalid(NamedTuple):
    """A reply that cannot be read; `reason` says what a valid reply looks like."""

    reason: str


# --- normalising -------------------------------------------------------------------------------

_KEYCAP = re.compile("([0-9#*])\ufe0f?\u20e3")
_SPACES = re.compile(r"\s+")
# NFKC leaves these alone, but people mean a plain one: 🔟, the minus sign, a curly apostrophe.
_FOLD_TABLE = {0x1F51F: "10", 0x2212: "-", 0x2019: "'"}
_SIGNS = "+-"


def _fold(text: str) -> str:
    """NFKC, keycap emoji to their character, case folded; spacing and punctuation kept."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD_TABLE)
    return _KEYCAP.sub(r"\1", text).casefold()


def _is_edge(char: str) -> bool:
    """True for white space and punctuation, which are dropped around a reply."""
    return char.isspace() or unicodedata.category(char)[0] == "P"


def _strip(text: str) -> str:
    """Drop surrounding white space and punctuation, keeping a sign directly before a digit."""
    start, end = 0, len(text)
    while end > start and _is_edge(text[end - 1]):
        end -= 1
    while start < end and _is_edge(text[start]):
        if text[start] in _SIGNS and text[start + 1 : start + 2].isdigit():
            break
        start += 1
    return text[start:end]


def normalise(text: str) -> str:
    """The reply as matched: NFKC, keycaps as digits, case folded, spaces collapsed, trimmed."""
    return _strip(_SPACES.sub(" ", _fold(text)))


# --- text ----------------------------------------------------------------------------------------


def read_text(question: Question, text: str) -> str | Invalid:
    """Any non-empty reply, trimmed, as written (line breaks kept), up to `max_length`."""
    answer = text.strip()
    if not answer:
        return Invalid("Please reply with your answer in words.")
    if question.max_length is not None and len(answer) > question.max_length:
        return Invalid(f"Please keep your answer to {question.max_length} characters or fewer.")
    return answer


# --- choice and multi ----------------------------------------------------------------------------

_NUMBERED = re.compile(r"(\d+)[.):-]? (.+)")  # "2. Satisfied", copied from the numbered list
_PART_SPLITS = (re.compile(r"[,;]"), re.compile(r"[/&+]|\band\b"))
_NUMBERS_ONLY = re.compile(r"\d+(?: \d+)+")
_NONE_WORDS = frozenset({"none", "nothing", "neither", "0", "none of them", "none of these"})
_NOTHING: frozenset[int] = frozenset()


@lru_cache(maxsize=512)
def _choice_keys(choices: tuple[Choice, ...]) -> dict[str, frozenset[int]]:
    """Each normalised name of a choice (number, label, value, alias) to the indexes it names."""
    keys: dict[str, set[int]] = {}
    for index, choice in enumerate(choices):
        for name in (str(index + 1), choice.label, choice.value, *choice.aliases):
            key = normalise(str(name))
            if key:
                keys.setdefault(key, set()).add(index)
    return {key: frozenset(found) for key, found in keys.items()}


def _names(keys: dict[str, frozenset[int]], part: str) -> frozenset[int]:
    """The indexes `part` names exactly; a number is read as a number (`02` is `2`)."""
    found = keys.get(part, _NOTHING)
    if part.isdecimal():
        found = found | keys.get(str(int(part)), _NOTHING)
    return found


def _find(keys: dict[str, frozenset[int]], part: str) -> int | None:
    """The one choice index `part` names, or None when it names none or several."""
    found = _names(keys, part)
    if not found and (numbered := _NUMBERED.fullmatch(part)):
        found = _names(keys, numbered[1])
        if found != _names(keys, _strip(numbered[2])):
            found = _NOTHING  # "1. Shop": the number and the label must agree, never guess
    return next(iter(found)) if len(found) == 1 else None


def _choice_reason(count: int) -> str:
    """The re-prompt reason for a choice question with `count` choices."""
    if count == 1:
        return "Please reply with 1."
    return f"Please reply with a number from 1 to {count}."


def read_choice(question: Question, text: str) -> str | Invalid:
    """The value of the one choice the reply names by number, label, value or alias."""
    index = _find(_choice_keys(question.choices), normalise(text))
    if index is None:
        return Invalid(_choice_reason(len(question.choices)))
    return question.choices[index].value


def _picks(keys: dict[str, frozenset[int]], part: str, level: int = 0) -> set[int] | None:
    """The indexes `part` names, as a whole or split further; None when a piece names nothing."""
    part = _strip(part)
    if not part:
        return set()
    index = _find(keys, part)
    if index is not None:
        return {index}
    # Whole parts first, so labels with spaces or "and" in them still match.
    if level < len(_PART_SPLITS):
        pieces = [_picks(keys, piece, level + 1) for piece in _PART_SPLITS[level].split(part)]
        return None if any(p is None for p in pieces) else set().union(*pieces)
    if _NUMBERS_ONLY.fullmatch(part):
        numbers = [_find(keys, number) for number in part.split(" ")]
        return None if None in numbers else set(numbers)
    return None


def _pick_bounds(question: Question) -> tuple[int, int]:
    """How many picks a multi question takes: `min` (default 1) to `max` (default all)."""
    count = len(question.choices)
    low = 1 if question.min is None else int(question.min)
    return low, count if question.max is None else int(question.max)


def _multi_example(question: Question) -> str:
    """A valid multi reply such as `1,3`."""
    low, high = _pick_bounds(question)
    size = max(low, min(2, high), 1)
    spread = range(1, len(question.choices) + 1, 2)
    numbers = spread[:size] if len(spread) >= size else range(1, size + 1)
    return ",".join(map(str, numbers))


def _multi_reason(question: Question) -> str:
    """The re-prompt reason for a multi reply that cannot be read."""
    low, high = _pick_bounds(question)
    if high == 1:
        return _choice_reason(len(question.choices))
    many = "one or more numbers" if low <= 1 else f"{low} or more numbers"
    reason = f"Please reply with {many} from 1 to {len(question.choices)}"
    reason += f", like {_multi_example(question)}"
    return reason + (", or NONE." if low == 0 else ".")


def read_multi(question: Question, text: str) -> list[str] | Invalid:
    """The values of the choices named, in choice order, no repeats, within min..max picks."""
    reply = normalise(text)
    low, high = _pick_bounds(question)
    picks = _picks(_choice_keys(question.choices), reply) if reply else None
    if not picks:
        return [] if low == 0 and reply in _NONE_WORDS else Invalid(_multi_reason(question))
    if len(picks) < low:
        return Invalid(f"Please choose at least {low}, like {_multi_example(question)}.")
    if len(picks) > high:
        return Invalid(f"Please choose at most {high}, like {_multi_example(question)}.")
    return list(dict.fromkeys(question.choices[i].value for i in sorted(picks)))


# --- yes/no ----------------------------------------------------------------------------------

_YES = frozenset(
    {"yes", "y", "yeah", "yea", "yep", "yup", "ya", "yah", "yes please", "yes thanks",
     "yes thank you", "sure", "sure thing", "ok", "okay", "k", "kk", "of course", "absolutely",
     "definitely", "certainly", "correct", "right", "true", "affirmative", "👍", "✅", "✔"}
)  # fmt: skip
_NO = frozenset(
    {"no", "n", "nope", "nah", "nay", "no thanks", "no thank you", "not really", "never",
     "negative", "false", "no way", "not at all", "absolutely not", "definitely not",
     "certainly not", "of course not", "👎", "❌", "✖"}
)  # fmt: skip
_EMOJI_MODIFIERS = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")  # skin tones, emoji style
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def read_yesno(question: Question, text: str) -> bool | Invalid:
    """True for yes and the like, False for no and the like; digits are not read."""
    reply = _EMOJI_MODIFIERS.sub("", normalise(text))
    for key in (reply, " ".join(_WORD.findall(reply))):
        if key in _YES:
            return True
        if key in _NO:
            return False
    return Invalid("Please reply YES or NO.")


# --- number and scale ----------------------------------------------------------------------------

# A run of digits, points and commas, with a sign only where it cannot be a dash between numbers.
_NUMBERISH = re.compile(r"(?<![\d.,])[-+]?\.?\d[\d.,]*")
_NUMBER = re.compile(r"[-+]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)")
_OUT_OF = re.compile(r"(\d+) ?(?:/|out of|of) ?(\d+)")


def _numbers(text: str) -> list[str] | None:
    """Every number written in folded `text`, or None when one is unclear (`1,5`, `1.2.3`)."""
    found = []
    for run in _NUMBERISH.findall(text):
        run = run.rstrip(".,")  # "40." or "5, maybe" end a sentence or a clause
        if not _NUMBER.fullmatch(run):
            return None
        found.append(run)
    return found


def _show(value: int | float) -> str:
    """A bound as people write it: `10`, not `10.0`."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _in_range(question: Question, value: int | float) -> bool:
    """True when `value` is within the question's inclusive min and max."""
    low, high = question.min, question.max
    return (low is None or value >= low) and (high is None or value <= high)


def _number_reason(question: Question, *, whole: bool, just_one: bool = False) -> str:
    """The re-prompt reason for a number or scale question, showing the valid range."""
    kind = ("just one " if just_one else "a ") + ("whole number" if whole else "number")
    low, high = question.min, question.max
    if low is not None and high is not None:
        return f"Please reply with {kind} from {_show(low)} to {_show(high)}."
    if low is not None:
        return f"Please reply with {kind} of {_show(low)} or more, like {_show(max(low, 42))}."
    if high is not None:
        return f"Please reply with {kind} of {_show(high)} or less, like {_show(min(high, 42))}."
    return f"Please reply with {kind}, like 42."


def read_number(question: Question, text: str) -> int | float | Invalid:
    """The one number in the reply: int without a decimal part (or with `integer`), else float."""
    numbers = _numbers(_fold(text))
    if numbers == []:
        return Invalid(_number_reason(question, whole=question.integer))
    if numbers is None or len(numbers) > 1:
        return Invalid(_number_reason(question, whole=question.integer, just_one=True))
    written = numbers[0].replace(",", "")
    if "." in written and question.integer:
        return Invalid(_number_reason(question, whole=True))
    value = float(written) if "." in written else int(written)
    if not _in_range(question, value):
        return Invalid(_number_reason(question, whole=question.integer))
    return value


def read_scale(question: Question, text: str) -> int | Invalid:
    """One whole number from min to max; `7/10` and `7 out of 10` count when 10 is the max."""

    def numerator(match: re.Match[str]) -> str:
        return match[1] if question.max is not None and int(match[2]) == question.max else match[0]

    numbers = _numbers(_OUT_OF.sub(numerator, _fold(text)))
    if not numbers or len(numbers) > 1 or "." in numbers[0]:
        return Invalid(_number_reason(question, whole=True))
    value = int(numbers[0].replace(",", ""))
    return value if _in_range(question, value) else Invalid(_number_reason(question, whole=True))


# --- date ------------------------------------------------------------------------------------

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9,
    "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12,
    "december": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))  # longest first: "march" before "mar"
_ORDINAL = r"(?:st|nd|rd|th)?"
_DATE = re.compile(
    rf"""(?<![\w/.-])(?:
        (?P<iy>\d{{4}})(?P<isep>[-/.])(?P<im>\d{{1,2}})(?P=isep)(?P<id>\d{{1,2}})
      | (?P<a>\d{{1,2}})(?P<sep>[-/.])(?P<b>\d{{1,2}})(?:(?P=sep)(?P<y>\d{{4}}|\d{{2}}))?
      | (?P<m1>{_MONTH})\.?\ ?(?P<d1>\d{{1,2}}){_ORDINAL}(?:,?\ ?(?P<y1>\d{{4}}))?
      | (?:the\ )?(?P<d2>\d{{1,2}}){_ORDINAL}\ ?(?:of\ )?(?P<m2>{_MONTH})\.?
        (?:,?\ ?(?P<y2>\d{{4}}))?
    )(?![\w/]|[-.]\d)""",
    re.VERBOSE,
)
_RELATIVE = {"today": 0, "yesterday": -1, "tomorrow": 1}


def _date_parts(match: re.Match[str], date_order: str) -> tuple[str | None, str, str]:
    """Year (None when not written), month and day of a date match, as written."""
    if match["iy"]:
        return match["iy"], match["im"], match["id"]
    if match["a"]:
        first, second = match["a"], match["b"]
        month, day = (second, first) if date_order == "DMY" else (first, second)
        return match["y"], month, day
    month = str(_MONTHS[match["m1"] or match["m2"]])
    return match["y1"] or match["y2"], month, match["d1"] or match["d2"]


def _date_example(today: date, date_order: str) -> str:
    """Today written numerically in the survey's date order, as an example reply."""
    if date_order == "DMY":
        return f"{today.day}/{today.month}/{today.year}"
    return f"{today.month}/{today.day}/{today.year}"


def read_date(
    question: Question, text: str, *, today: date, date_order: str = "MDY"
) -> date | Invalid:
    """One calendar date; no year means this year, `26` means 2026; never swaps day and month."""
    reply = normalise(text)
    if reply in _RELATIVE:
        return today + timedelta(days=_RELATIVE[reply])
    invalid = Invalid(f"Please reply with a date, like {_date_example(today, date_order)}.")
    matches = list(_DATE.finditer(reply))
    if len(matches) != 1:
        return invalid
    year, month, day = _date_parts(matches[0], date_order)
    full_year = today.year if year is None else int(year) + (2000 if len(year) == 2 else 0)
    try:
        return date(full_year, int(month), int(day))
    except ValueError:  # Feb 30, month 13, or a day-first date read month first
        return invalid


# --- dispatch ------------------------------------------------------------------------------------

_READERS: dict[str, Callable[[Question, str], object]] = {
    "text": read_text,
    "choice": read_choice,
    "multi": read_multi,
    "yesno": read_yesno,
    "number": read_number,
    "scale": read_scale,
}


def read_reply(
    question: Question, text: str, *, today: date, date_order: str = "MDY"
) -> object | Invalid:
    """The value to store for `text` as an answer to `question`, or an Invalid."""
    if question.type == "date":
        return read_date(question, text, today=today, date_order=date_order)
    reader = _READERS.get(question.type)
    if reader is None:
        raise ValueError(f"unknown question type {question.type!r}")
    return reader(question, text)
