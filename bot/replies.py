"""Reading a respondent's reply (SPEC section 2): normalise it, then read it as one question type.

Every function here is pure: a question and a reply in, the value to store or an `Invalid` out.
An `Invalid` carries a short reason, in the session's language, that always shows what a valid
reply looks like. `language` picks the built-in words (bot.words); the question comes in as seen
in that language, so its labels and aliases are already the ones to match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from rapidfuzz.distance import OSA

from bot.model import Choice, Question
from bot.texts import text
from bot.values import NUMBER_DIGITS, NUMBER_LIMIT
from bot.words import (
    ENGLISH,
    LAST,
    MORNING_OR_TOMORROW,
    Words,
    cardinal,
    command_of,
    language_of,
    plain,
    words_for,
)


class Invalid(NamedTuple):
    """A reply that cannot be read; `reason` says what a valid reply looks like."""

    reason: str


def _say(words: Words, name: str, **fields: object) -> Invalid:
    """An Invalid whose reason is the bot's text `name` in the session's language."""
    return Invalid(text(name, words.language, **fields))


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


def _strip(text: str, is_edge: Callable[[str], bool] = _is_edge) -> str:
    """Drop surrounding white space and punctuation, keeping a sign directly before a digit."""
    start, end = 0, len(text)
    while end > start and is_edge(text[end - 1]):
        end -= 1
    while start < end and is_edge(text[start]):
        if text[start] in _SIGNS and text[start + 1 : start + 2].isdigit():
            break
        start += 1
    return text[start:end]


def normalise(text: str) -> str:
    """The reply as matched: NFKC, keycaps as digits, case folded, spaces collapsed, trimmed."""
    return _strip(_SPACES.sub(" ", _fold(text)))


# Around a choice reply: symbols (emoji too), spaces, and the marks and joiners of emoji.
_DECORATION = frozenset({"So", "Sm", "Sc", "Sk", "Zs", "Mn", "Cf"})


def _is_decoration(char: str) -> bool:
    """True for what may surround a choice reply: spacing, punctuation, emoji and symbols."""
    return _is_edge(char) or unicodedata.category(char) in _DECORATION


# --- text ----------------------------------------------------------------------------------------


# Spaces and the characters that show nothing (zero-width spaces and joiners, direction
# marks, a byte-order mark): a reply of these alone is empty, though str.strip keeps them.
_BLANK = re.compile(r"[\s\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]*")


def read_text(question: Question, text: str, language: str = ENGLISH) -> str | Invalid:
    """Any non-empty reply, trimmed, as written (line breaks kept), up to `max_length`."""
    words = words_for(language)
    answer = text.strip()
    if _BLANK.fullmatch(answer):  # stops at the first visible character
        return _say(words, "text_empty")
    if question.max_length is not None and len(answer) > question.max_length:
        return _say(words, "text_too_long", max_length=question.max_length)
    return answer


# --- choice and multi ----------------------------------------------------------------------------

_NUMBERED = re.compile(r"(\d+)[.):-]? (.+)")  # "2. Satisfied", copied from the numbered list
_NUMBERS_ONLY = re.compile(r"#?\d+(?: #?\d+)+")
_WHOLE_NUMBER = re.compile(r"#?(\d+)")
_NOTHING: frozenset[int] = frozenset()
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")  # a word, with its apostrophes: "don't"


@dataclass(frozen=True)
class _Choices:
    """What a question's choices are matched by, built once per set of choices."""

    count: int
    names: dict[str, frozenset[int]]  # label, value, alias (plain) to the indexes they name
    within: re.Pattern[str] | None  # any name as whole words inside a reply, longest first
    within_index: dict[str, frozenset[int]]
    starts: dict[str, frozenset[int]]  # the first word(s) of a label to the labels they start


def _group(pairs: list[tuple[str, int]]) -> dict[str, frozenset[int]]:
    """Keys to the set of indexes each is paired with."""
    grouped: dict[str, set[int]] = {}
    for key, index in pairs:
        if key:
            grouped.setdefault(key, set()).add(index)
    return {key: frozenset(found) for key, found in grouped.items()}


@lru_cache(maxsize=512)
def _choices(choices: tuple[Choice, ...]) -> _Choices:
    """The match tables of a question's choices."""
    names = _group(
        [
            (plain(normalise(str(name))), index)
            for index, choice in enumerate(choices)
            for name in (choice.label, choice.value, *choice.aliases)
        ]
    )
    # A name of digits is never looked for inside a reply: a digit there is a choice's number.
    inside = {key: found for key, found in names.items() if not key.isdecimal()}
    ordered = sorted(inside, key=len, reverse=True)
    within = None
    if ordered:
        alternatives = "|".join(map(re.escape, ordered))
        within = re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])")
    starts = []
    for index, choice in enumerate(choices):
        label = plain(normalise(choice.label)).split(" ")
        starts += [(" ".join(label[:size]), index) for size in range(1, len(label))]
    return _Choices(len(choices), names, within, inside, _group(starts))


def _number_of(words: Words, reply: str) -> int | None:
    """The number a reply names a choice by: `2nd`, `second`, `the second one`, `option two`."""
    tokens = [_strip(token) for token in reply.replace("'", "' ").split(" ")]
    while len(tokens) > 1 and tokens[0] in words.choice_fillers:
        tokens.pop(0)
    while len(tokens) > 1 and tokens[-1] in words.choice_fillers:
        tokens.pop()
    rest = " ".join(tokens)
    if number := (_WHOLE_NUMBER.fullmatch(rest) or _ordinal_digits(words).fullmatch(rest)):
        return int(number[1])
    return words.ordinals.get(rest) or cardinal(rest, words)


@lru_cache(maxsize=16)
def _ordinal_digits(words: Words) -> re.Pattern[str]:
    """`2nd`, `2º`, `2e`: digits and a language's ordinal ending."""
    return re.compile(rf"(\d+)(?:{words.ordinal_suffix})")


def _within(table: _Choices, words: Words, reply: str) -> frozenset[int]:
    """The choices named as whole words inside the reply; none when it also says `not`."""
    if table.within is None:
        return _NOTHING
    found: set[int] = set()
    outside = reply
    for match in table.within.finditer(reply):
        found |= table.within_index[match[0]]
        outside = outside.replace(match[0], " ", 1)
    # "not very satisfied" holds "very satisfied": a negation outside the label is no guess.
    if found and words.negation.intersection(_WORD.findall(outside)):
        return _NOTHING
    return frozenset(found)


def _find(table: _Choices, words: Words, part: str, *, loose: bool = True) -> int | None:
    """The one choice index a normalised reply names, or None when it names none or several.

    Strictly, only by number, label, value or alias; loosely, also by the ways people
    paraphrase them (`the second one`, `full service please`, `full`).
    """
    part = plain(part)
    if part.isdecimal():  # a bare number is always the number shown
        number = int(part)
        return number - 1 if 0 < number <= table.count else None
    if part in table.names:
        found = table.names[part]
        return next(iter(found)) if len(found) == 1 else None
    bare = _strip(part, _is_decoration)  # emoji and symbols around a reply: "2 🙂"
    if bare != part:
        return _find(table, words, bare, loose=loose) if bare else None
    numbered = _NUMBERED.fullmatch(part)
    if numbered and not set(numbered[2].split()) <= words.choice_fillers:  # not "2 i guess"
        index = _find(table, words, numbered[1])
        label = table.names.get(_strip(numbered[2]), _NOTHING)
        return index if index is not None and label == {index} else None  # never guess
    if not loose:
        return None
    index = _find_loosely(table, words, part)
    # "vry satisfied" holds "satisfied" but is a typo of "very satisfied": confirm, never guess.
    return index if index is None or _typo_of(table, part) <= {index} else None


def _find_loosely(table: _Choices, words: Words, part: str) -> int | None:
    """The choice named by an ordinal, a number word, a label inside the reply or its start."""
    found = set(_within(table, words, part) or table.starts.get(part, _NOTHING))
    number = _number_of(words, part)
    if number is not None:
        number = table.count if number == LAST else number
        if not 0 < number <= table.count:
            return None  # "the fifth one" of three choices: never guessed
        found.add(number - 1)
    return next(iter(found)) if len(found) == 1 else None


def _choice_reason(words: Words, count: int) -> Invalid:
    """The re-prompt for a choice question with `count` choices."""
    if count == 1:
        return _say(words, "choice_one")
    return _say(words, "choice_range", count=count)


def read_choice(question: Question, text: str, language: str = ENGLISH) -> str | Invalid:
    """The value of the one choice the reply names by number, ordinal, label, value or alias."""
    words = words_for(language)
    index = _find(_choices(question.choices), words, normalise(text))
    if index is None:
        return _choice_reason(words, len(question.choices))
    return question.choices[index].value


@lru_cache(maxsize=16)
def _part_splits(words: Words) -> tuple[re.Pattern[str], ...]:
    """How a multi reply splits into picks: commas first, then `and` in the session's words."""
    conjunctions = "|".join(sorted(words.and_words))
    return re.compile(r"[,;]"), re.compile(rf"[/&+]|\b(?:{conjunctions})\b")


def _picks(table: _Choices, words: Words, part: str, level: int = 0) -> set[int] | None:
    """The indexes `part` names, as a whole or split further; None when a piece names nothing."""
    part = _strip(part)
    if not part:
        return set()
    index = _find(table, words, part, loose=False)
    if index is not None:
        return {index}
    # Whole parts first, so labels with spaces or "and" in them still match; a paraphrase only
    # once the part cannot be split, so "parking, gym" is not read as "parking".
    splits = _part_splits(words)
    if level < len(splits):
        pieces = splits[level].split(part)
        if len(pieces) == 1:
            return _picks(table, words, part, level + 1)
        found = [_picks(table, words, piece, level + 1) for piece in pieces]
        return None if any(p is None for p in found) else set().union(*found)
    if _NUMBERS_ONLY.fullmatch(part):
        numbers = [_find(table, words, number.lstrip("#")) for number in part.split(" ")]
        return None if None in numbers else set(numbers)
    index = _find(table, words, part)
    return None if index is None else {index}


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


def _multi_reason(question: Question, words: Words) -> Invalid:
    """The re-prompt for a multi reply that cannot be read."""
    low, high = _pick_bounds(question)
    count, example = len(question.choices), _multi_example(question)
    if high == 1:
        return _choice_reason(words, count)
    if low > 1:
        return _say(words, "multi_many", low=low, count=count, example=example)
    name = "multi_some_or_none" if low == 0 else "multi_some"
    return _say(words, name, count=count, example=example)


def _is_label(question: Question, reply: str) -> bool:
    """Whether a reply is exactly one choice's label, value or alias ("All but one")."""
    return reply in _choices(question.choices).names


@lru_cache(maxsize=16)
def _all_but_pattern(words: Words) -> re.Pattern[str]:
    """`all but X`, `todos menos X`, `tous sauf X`: X is what is left out."""
    every = "|".join(map(re.escape, sorted(words.all_picks, key=len, reverse=True)))
    but = "|".join(map(re.escape, sorted(words.all_but, key=len, reverse=True)))
    return re.compile(rf"(?:{every}),? (?:{but}) (?P<rest>.+)")


def _all_but(reply: str, words: Words) -> str | None:
    """What an `all but ...` reply leaves out, or None when it is not one."""
    match = _all_but_pattern(words).fullmatch(reply)
    return match["rest"] if match else None


_LINE_BREAKS = re.compile(r"[\r\n\u2028]+")  # "Parking⏎Shop": a pick a line, as a comma


def read_multi(question: Question, text: str, language: str = ENGLISH) -> list[str] | Invalid:
    """The values of the choices named, in choice order, no repeats, within min..max picks."""
    words = words_for(language)
    # Keycaps side by side (2️⃣3️⃣) are separate picks, not the number 23; so are lines.
    reply = plain(normalise(_LINE_BREAKS.sub(",", _KEYCAP.sub(r" \1 ", text))))
    low, high = _pick_bounds(question)
    picks = _picks(_choices(question.choices), words, reply) if reply else None
    example = _multi_example(question)
    if not picks and reply in words.all_picks:  # "all of them": every choice
        picks = set(range(len(question.choices)))
    elif (left_out := _all_but(reply, words)) is not None and not _is_label(question, reply):
        excluded = _picks(_choices(question.choices), words, left_out)  # "all but tea"
        picks = set(range(len(question.choices))) - excluded if excluded else None
    if not picks:
        return [] if low == 0 and reply in words.none else _multi_reason(question, words)
    if len(picks) < low:
        return _say(words, "multi_at_least", low=low, example=example)
    if len(picks) > high:
        return _say(words, "multi_at_most", high=high, example=example)
    return list(dict.fromkeys(question.choices[i].value for i in sorted(picks)))


# --- near-miss ---------------------------------------------------------------------------------

# Typos allowed by length of the shorter of reply and name: a short word must be exact, since
# one letter turns "yes" into "yet" and "bad" into "bed".
_TYPOS_BY_LENGTH = ((5, 0), (9, 1))  # under 5 characters: 0; under 9: 1
_MOST_TYPOS = 2


def _typos_allowed(length: int) -> int:
    """How many typos a name of `length` characters may have and still be confirmed."""
    return next((typos for limit, typos in _TYPOS_BY_LENGTH if length < limit), _MOST_TYPOS)


def _typo_of(table: _Choices, reply: str) -> set[int]:
    """The choices a plain reply is within a few typos of, by label, value or alias."""
    close = set()
    for name, found in table.within_index.items():
        allowed = _typos_allowed(min(len(name), len(reply)))
        if allowed and OSA.distance(reply, name, score_cutoff=allowed) <= allowed:
            close |= found
    return close


def near_miss(question: Question, text: str, language: str = ENGLISH) -> Choice | None:
    """The one choice a non-matching reply is a typo of (`satisfed`), to confirm, else None."""
    if question.type != "choice" or not isinstance(read_choice(question, text, language), Invalid):
        return None
    table, reply = _choices(question.choices), plain(normalise(text))
    close = _typo_of(table, reply)
    if len(close) != 1 or _names_another(table, reply, next(iter(close))):
        return None
    return question.choices[close.pop()]


def _names_another(table: _Choices, reply: str, index: int) -> bool:
    """Whether the reply names, as whole words, a choice other than `index` outside its names:
    "very unsatisfied" names "unsatisfied", so it is no typo of "very satisfied"."""
    if table.within is None:
        return False
    own = [name for name, found in table.within_index.items() if index in found]
    return any(
        index not in table.within_index[match[0]] and not any(match[0] in name for name in own)
        for match in table.within.finditer(reply)
    )


# --- yes/no ----------------------------------------------------------------------------------

_EMOJI_MODIFIERS = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")  # skin tones, emoji style
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]")  # a word, or one symbol such as 👍
# A letter typed over and over ("yesss", "noo", "yees") counts once: emphasis or a slip of the
# finger. A letter changed ("yet" for "yes") may be another word, and is never guessed.
_REPEATED = re.compile(r"([^\W\d_])\1+")
_UNSURE, _NEUTRAL = "unsure", "neutral"  # what a yes/no phrase says when it is no answer
_Said = bool | str | None  # yes, no, _UNSURE, _NEUTRAL, or None for any other word


@dataclass(frozen=True)
class _YesNo:
    """The phrases of a session's yes/no replies, each repeated letter typed once."""

    phrases: dict[str, _Said]  # yes, no, unsure and neutral words and phrases to what they say
    longest: int  # the most words a phrase has
    negation: frozenset[str]


def _squeeze(phrase: str) -> str:
    """A phrase with each letter typed over and over once: `yesss` is `yes`."""
    return _REPEATED.sub(r"\1", phrase)


def _tokens(reply: str) -> list[str]:
    """The words and symbols of a reply, punctuation dropped: `yes, 👍` is `yes` and `👍`."""
    return [token for token in _TOKEN.findall(reply) if not _is_edge(token[0])]


@lru_cache(maxsize=16)
def _yes_no(words: Words) -> _YesNo:
    """The yes/no phrase table of a session's words, as `_tokens` splits a reply."""
    phrases: dict[str, _Said] = {}
    for group, said in (
        (words.yes, True),
        (words.no, False),
        (words.neutral, _NEUTRAL),
        (words.unsure, _UNSURE),
    ):
        for phrase in group:
            key = _squeeze(" ".join(_tokens(phrase)))
            # Two phrases that say different things once squeezed: neither is guessed.
            phrases[key] = said if phrases.get(key, said) == said else _UNSURE
    longest = max(key.count(" ") + 1 for key in phrases)
    return _YesNo(phrases, longest, frozenset(map(_squeeze, words.negation)))


def _parts(table: _YesNo, tokens: list[str]) -> list[tuple[_Said, str]]:
    """A reply's tokens as phrases, the longest first, each with what it says."""
    parts: list[tuple[_Said, str]] = []
    start = 0
    while start < len(tokens):
        end = start + 1
        said, phrase = None, tokens[start]
        for size in range(min(table.longest, len(tokens) - start), 0, -1):
            key = _squeeze(" ".join(tokens[start : start + size]))
            if key in table.phrases:
                end, said, phrase = start + size, table.phrases[key], key
                break
        parts.append((said, phrase))
        start = end
    return parts


def _whole_answer(words: Words, reply: str) -> bool | None:
    """The yes or no a whole reply is, as listed (`yes please`, `not really`), else None."""
    for key in (reply, " ".join(_WORD.findall(reply))):
        if key in words.yes:
            return True
        if key in words.no:
            return False
    return None


def _leading_answer(words: Words, reply: str) -> bool | None:
    """The yes or no a reply starts with, when none of its other words says otherwise."""
    table = _yes_no(words)
    parts = _parts(table, _tokens(reply))
    said, first = parts[0] if parts else (None, "")
    # A lone letter is an answer only on its own: "n/a" is no "no", Spanish "y" is "and".
    if not isinstance(said, bool) or (len(first) == 1 and first.isalpha()):
        return None
    for other, phrase in parts[1:]:
        if other == _UNSURE or (isinstance(other, bool) and other != said):
            return None  # "yes but no", "no... well yes", "yes, not sure"
        # Commands are whole messages: "no, stop" is neither guessed a NO nor a STOP.
        if other is None and command_of(phrase, (words.language, ENGLISH)):
            return None
        if other is None and said and _squeeze(phrase) in table.negation:
            return None  # "sure not", "yes I don't": a negation after a yes
    return said


def _yes_no_reply(text: str) -> str:
    """A yes/no reply as matched: normalised, accents and emoji skin tones dropped."""
    return plain(_EMOJI_MODIFIERS.sub("", normalise(text)))


def read_yesno(question: Question, text: str, language: str = ENGLISH) -> bool | Invalid:
    """True for yes and the like, False for no and the like; digits are not read.

    The reply is a yes or no as listed, or starts with one that its other words do not
    contradict: "yes, definitely", "No I was not"; "yes but no" and "not sure" are asked again.
    """
    words = words_for(language)
    reply = _yes_no_reply(text)
    said = _whole_answer(words, reply)
    if said is None:
        said = _leading_answer(words, reply)
    return _say(words, "yesno") if said is None else said


def read_confirmation(question: Question, text: str, language: str = ENGLISH) -> bool | None:
    """YES or NO to a near-miss confirmation; None for a reply to read as an answer instead.

    A yes or no with more words gives way to an answer in them: after `Did you mean
    "Satisfied"?`, `no, 1` answers the first choice.
    """
    words = words_for(language)
    reply = _yes_no_reply(text)
    said = _whole_answer(words, reply)
    if said is None and not isinstance(read_choice(question, text, language), Invalid):
        return None
    return _leading_answer(words, reply) if said is None else said


# --- number and scale ----------------------------------------------------------------------------


class _Notation(NamedTuple):
    """How one language writes numbers with digits."""

    run: re.Pattern[str]  # a run of digits and marks, maybe with `k` or a scale word after
    number: re.Pattern[str]  # a run that is one clear number
    ambiguous: re.Pattern[str]  # a clear number that the other notation reads differently
    group: str  # the thousands separator, dropped
    mark: str  # the decimal mark, read as a point


_SPACED_K = "k"  # "10 k": thousands, or kilometres


@lru_cache(maxsize=16)
def _notation(words: Words) -> _Notation:
    """The digit notation of a session: `1,000.5` in English, `1.000,5` in es, fr and pt."""
    # Scale words after a number; the ones we do not read (and a `k` apart) make it unclear.
    scales = words.thousand_words | words.million_words | words.unread_scales | {_SPACED_K}
    scale = "|".join(sorted(scales, key=len, reverse=True))
    # A sign only where it cannot be a dash between numbers; `k` not followed by a letter.
    run = re.compile(
        rf"(?<![\d.,])(?P<digits>[-+]?[.,]?\d[\d.,]*)"
        rf"(?:(?P<k>k)(?![^\W\d_])| ?(?P<scale>{scale})(?![^\W_]))?"
    )
    group, mark = (".", ",") if words.decimal_comma else (",", ".")
    g, m = re.escape(group), re.escape(mark)
    return _Notation(
        run=run,
        number=re.compile(rf"[-+]?(?:(?:\d{{1,3}}(?:{g}\d{{3}})+|\d+)(?:{m}\d+)?|{m}\d+)"),
        ambiguous=re.compile(rf"[-+]?[1-9]\d{{0,2}}{m}\d{{3}}"),  # 1.000 in English, 1,000 in es
        group=group,
        mark=mark,
    )


_SPACE_GROUPS = re.compile(r"(?<![\d.,])\d{1,3}(?: \d{3})+(?!\d)")  # "1 000" in es, fr, pt
_WORD_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_NUMBER_GAP = re.compile(r"[ -]+")  # between the words of one number: "forty-five", "forty five"
_THOUSAND, _MILLION = 1000, 1_000_000


class _Number(NamedTuple):
    """One number found in a reply."""

    value: Decimal
    fraction: bool  # written with a decimal part that stays one: 12.5 and 12.0, not 2.5k


_UNCLEAR = None  # a number written so that it may mean two things (`1,5`, `five six`)


def _scaled(value: Decimal, factor: int) -> _Number:
    """`value` times `factor` (`2.5k` is 2500), a fraction only if one is left."""
    value *= factor
    return _Number(value, value != value.to_integral_value())


def _digit_numbers(reply: str, words: Words) -> tuple[list[_Number | None], str]:
    """Every number written with digits (`_UNCLEAR` for one that may mean two things), and the
    reply without them, so that "2 thousand" is not read again as "thousand"."""
    notation = _notation(words)
    if words.decimal_comma:
        reply = _SPACE_GROUPS.sub(lambda m: m[0].replace(" ", "."), reply)
    found: list[_Number | None] = []
    matches = list(notation.run.finditer(reply))
    for match in matches:
        written = match["digits"].rstrip(".,")  # "40." or "5, maybe" end a sentence or a clause
        if not notation.number.fullmatch(written) or notation.ambiguous.fullmatch(written):
            found.append(_UNCLEAR)
            continue
        value = Decimal(written.replace(notation.group, "").replace(notation.mark, "."))
        scale = match["scale"]
        if match["k"] or scale in words.thousand_words:
            found.append(_scaled(value, _THOUSAND))
        elif scale in words.million_words:
            found.append(_scaled(value, _MILLION))
        elif scale:  # "2 billion", "10 k": never stored as 2 or 10
            found.append(_UNCLEAR)
        else:
            found.append(_Number(value, notation.mark in written))
    return found, notation.run.sub(" ", reply) if matches else reply


def _word_numbers(reply: str, words: Words) -> list[_Number | None]:
    """Every number written in words (`forty five`), `_UNCLEAR` for a run that is not one."""
    runs: list[list[str]] = []
    end = -1
    for match in _WORD_TOKEN.finditer(reply):
        if match[0] not in words.number_words:
            end = -1
            continue
        if end >= 0 and _NUMBER_GAP.fullmatch(reply, end, match.start()):
            runs[-1].append(match[0])
        else:
            runs.append([match[0]])
        end = match.end()
    found: list[_Number | None] = []
    for run in runs:
        while run and run[0] == words.number_and:  # "and" on its own is no number
            run.pop(0)
        while run and run[-1] == words.number_and:
            run.pop()
        if run:
            number = cardinal(" ".join(run), words)
            found.append(_UNCLEAR if number is None else _Number(Decimal(number), False))
    return found


@lru_cache(maxsize=16)
def _article(words: Words) -> re.Pattern[str]:
    """`un`, `une`, `um` right before digits: an article ("un 8"), not the number one."""
    return re.compile(rf"(?<![^\W_])(?:{'|'.join(words.articles) or '(?!)'}) (?=\d)")


@lru_cache(maxsize=16)
def _dozens(words: Words) -> re.Pattern[str]:
    """`a dozen`, `half a dozen`, `2 dozen`, `una docena`, `meia dúzia` (accents dropped)."""
    articles = "|".join(words.articles)
    return re.compile(
        rf"(?<![^\W_])(?:(?:{articles}) )?(?:(?P<half>{'|'.join(words.half_words)})[ -]?)?"
        rf"(?:(?:{articles}) )?"
        rf"(?:(?P<count>\d+) )?(?:{'|'.join(words.dozen_words)})(?![^\W_])"
    )


@lru_cache(maxsize=16)
def _beyond(words: Words) -> re.Pattern[str]:
    """`more than`, `over`, `<`, `menos de`: a strict bound, which no number it names meets."""
    bounds = "|".join(map(re.escape, sorted(words.beyond, key=len, reverse=True)))
    return re.compile(rf"(?<![^\W_])(?:{bounds})(?![^\W_])|[<>]")


def _dozen(match: re.Match[str]) -> str:
    """The number a dozen phrase says, in digits."""
    count = int(match["count"] or 1) * 12
    return f" {count // 2 if match['half'] else count} "


def _numbers(text: str, words: Words) -> list[_Number | None]:
    """Every number in a folded reply, in digits or words."""
    if (bare := text.strip()).isdecimal() and bare.isascii():  # the usual reply: no regex needed
        return [_Number(Decimal(bare), False)]
    text = _dozens(words).sub(_dozen, plain(text))
    digits, rest = _digit_numbers(_article(words).sub("", text), words)
    found = digits + _word_numbers(rest, words)
    if words.half_words.intersection(_WORD_TOKEN.findall(rest)):
        found.append(_UNCLEAR)  # "two and a half", "dois e meio": not read, asked again
    if _beyond(words).search(text):
        found.append(_UNCLEAR)  # "more than 10" is not 10
    return found


def _show(value: int | float | Decimal, words: Words) -> str:
    """A bound as people write it in the session's language: `10`, `2.5`, `2,5`."""
    shown = str(int(value)) if float(value).is_integer() else str(value)
    return shown.replace(".", ",") if words.decimal_comma else shown


def _in_range(question: Question, value: int | float | Decimal) -> bool:
    """True when `value` is within the question's inclusive min and max."""
    low, high = question.min, question.max
    return (low is None or value >= low) and (high is None or value <= high)


_EXAMPLE_NUMBER = 42


def _number_reason(
    question: Question, words: Words, *, whole: bool, just_one: bool = False
) -> Invalid:
    """The re-prompt for a number or scale question, showing the valid range."""
    kind = ("kind_one_" if just_one else "kind_") + ("whole" if whole else "number")
    fields = {"kind": text(kind, words.language)}
    low, high = question.min, question.max
    if low is not None and high is not None:
        return _say(words, "number_range", **fields, low=_show(low, words), high=_show(high, words))
    if low is not None:
        example = _show(max(low, _EXAMPLE_NUMBER), words)
        return _say(words, "number_min", **fields, low=_show(low, words), example=example)
    if high is not None:
        example = _show(min(high, _EXAMPLE_NUMBER), words)
        return _say(words, "number_max", **fields, high=_show(high, words), example=example)
    return _say(words, "number_any", **fields, example=_EXAMPLE_NUMBER)


def _too_long_reason(question: Question, words: Words) -> Invalid:
    """The re-prompt for a number with more digits than an answer holds (NUMBER_DIGITS)."""
    low, high = question.min, question.max
    example = max(low, _EXAMPLE_NUMBER) if low is not None else _EXAMPLE_NUMBER
    example = min(high, example) if high is not None else example
    kind = text("kind_whole" if question.integer else "kind_number", words.language)
    return _say(
        words, "number_digits", kind=kind, digits=NUMBER_DIGITS, example=_show(example, words)
    )


def read_number(question: Question, text: str, language: str = ENGLISH) -> int | float | Invalid:
    """The one number in the reply: int without a decimal part (or with `integer`), else float."""
    words = words_for(language)
    numbers = _numbers(_fold(text), words)
    if not numbers:
        return _number_reason(question, words, whole=question.integer)
    if _UNCLEAR in numbers or len(numbers) > 1:
        return _number_reason(question, words, whole=question.integer, just_one=True)
    number = numbers[0]
    if number.fraction and question.integer:
        return _number_reason(question, words, whole=True)
    value = float(number.value) if number.fraction else int(number.value)
    if not _in_range(question, value):
        return _number_reason(question, words, whole=question.integer)
    if abs(value) >= NUMBER_LIMIT:  # 1 and 309 zeros; with a decimal part, inf
        return _too_long_reason(question, words)
    return value


_OUT_OF = re.compile(r"(\d+) ?(?:/|out of|of|de|sur) ?(\d+)")  # 7/10, 7 de 10, 7 sur 10
_OUT_OF_WORDS = re.compile(r"/|\b(?:out of|of|de|sur)\b")


def read_scale(question: Question, text: str, language: str = ENGLISH) -> int | Invalid:
    """One whole number from min to max; `7/10` and `7 out of 10` count when 10 is the max."""
    words = words_for(language)

    def numerator(match: re.Match[str]) -> str:
        return match[1] if question.max is not None and int(match[2]) == question.max else match[0]

    reply = _OUT_OF.sub(numerator, _fold(text))
    numbers = _numbers(reply, words)
    out_of = len(numbers) == 2 and numbers[1] and numbers[1].value == question.max
    if out_of and _OUT_OF_WORDS.search(reply):  # "seven out of ten"
        numbers = numbers[:1]
    if len(numbers) == 1 and numbers[0] is not _UNCLEAR:
        value = numbers[0].value
        # 4.0 is 4; 7.5 is no point of the scale.
        if value == value.to_integral_value() and _in_range(question, value):
            return int(value)
    return _number_reason(question, words, whole=True)


# --- date ------------------------------------------------------------------------------------

TODAY = "today"  # a date question's `min` or `max` that means the day of the reply
_WEEK = 7


class _DateReading(NamedTuple):
    """The patterns that read dates in one language, compiled once."""

    date: re.Pattern[str]
    day_of_month: re.Pattern[str]
    ago: tuple[re.Pattern[str], ...]
    relative: re.Pattern[str]
    month: re.Pattern[str]  # a month's name as a word: "nov" in "Nov 5-6"
    day_before: re.Pattern[str]  # a day joined to what follows: "5 or " in "5 or 6 nov"
    day_after: re.Pattern[str]  # a day joined to what comes before: " or 6" in "nov 5 or 6"
    day_number: re.Pattern[str]  # a day of the month, not a time: "13th" in "friday the 13th"
    weekday_before: re.Pattern[str]  # right before a date: "tuesday the " in "tuesday the 25th"
    weekday_after: re.Pattern[str]  # ending a reply after a date: ", tue" in "nov 25, tue"


def _alternatives(names: Iterable[str]) -> str:
    """A regex alternation of names, longest first so that `march` beats `mar`."""
    return "|".join(map(re.escape, sorted(names, key=len, reverse=True)))


@lru_cache(maxsize=16)
def _date_reading(words: Words) -> _DateReading:
    """The date patterns of a session's language (and English)."""
    month = _alternatives(words.months)
    ordinal = rf"(?:{words.ordinal_suffix})?"
    date_pattern = re.compile(
        rf"""(?<![\w/.-])(?:
            (?P<iy>\d{{4}})(?P<isep>[-/.])(?P<im>\d{{1,2}})(?P=isep)(?P<id>\d{{1,2}})
          | (?P<a>\d{{1,2}})(?P<sep>[-/.])(?P<b>\d{{1,2}})(?:(?P=sep)(?P<y>\d{{4}}|\d{{2}}))?
          | (?P<m1>{month})\.?\ ?(?P<d1>\d{{1,2}}){ordinal}(?:,?\ ?(?P<y1>\d{{4}}))?
          | (?P<d2>\d{{1,2}}){ordinal}\ ?(?:(?:of|de|del)\ )?(?P<m2>{month})\.?
            (?:,?\ ?(?:(?:de|del)\ )?(?P<y2>\d{{4}}))?
        )(?![\w/]|[-.]\d)""",
        re.VERBOSE,
    )
    # "the 28th", "le 28", "el día 28": a day of this month, never a bare "28".
    day_of_month = re.compile(
        rf"(?:(?P<filler>{words.date_fillers}) )?(?P<day>\d{{1,2}})"
        rf"(?P<suffix>{words.ordinal_suffix})?"
    )
    number_word = _alternatives(words.number_words)
    number = (
        rf"(?P<n>\d+|(?:{_alternatives(words.articles)}|{number_word})(?:[ -](?:{number_word}))*)"
    )
    ago = tuple(
        re.compile(rf"(?<![^\W_]){pattern.replace('{n}', number)}(?![^\W_])")
        for pattern in words.ago
    )
    relative = re.compile(rf"(?<![^\W_])(?:{_alternatives(words.relative_days)})(?![^\W_])")
    # Two days joined, "5 or 6", "5-6", "del 5 al 6": a range or a doubt, never one of them.
    join = rf"(?: ?[-–—/&+~] ?| (?:{words.day_joins}) )"
    day = rf"(?:\d{{1,2}}|{number_word})(?:{ordinal})"
    endings = _alternatives(words.weekday_endings)
    weekday = rf"(?P<weekday>{_alternatives(words.weekdays)})" + (
        rf"(?:[- ](?:{endings}))?" if endings else ""
    )
    return _DateReading(
        date_pattern,
        day_of_month,
        ago,
        relative,
        month=re.compile(rf"(?<![^\W_])(?:{month})(?![^\W_])"),
        day_before=re.compile(rf"(?<![^\W_]){day}{join}$"),
        day_after=re.compile(rf"{join}(?:(?:{words.date_fillers}) )?{day}(?![^\W_])"),
        day_number=re.compile(
            rf"(?<![\d:])(\d{{1,2}}){ordinal}(?![\d:]| ?[ap]\.?m(?![^\W_])|h(?![^\W_]))"
        ),
        weekday_before=re.compile(rf"(?<![^\W_]){weekday}\W*(?:(?:{words.date_fillers})\W+)?$"),
        # After a date, only a weekday that ends the reply: "25/11 mon anniversaire" is French.
        weekday_after=re.compile(rf"\W*{weekday}\W*"),
    )


def _date_parts(match: re.Match[str], words: Words, date_order: str) -> tuple[str | None, str, str]:
    """Year (None when not written), month and day of a date match, as written."""
    if match["iy"]:
        return match["iy"], match["im"], match["id"]
    if match["a"]:
        first, second = match["a"], match["b"]
        month, day = (second, first) if date_order == "DMY" else (first, second)
        return match["y"], month, day
    month = str(words.months[match["m1"] or match["m2"]])
    return match["y1"] or match["y2"], month, match["d1"] or match["d2"]


def _written(day: date, date_order: str) -> str:
    """A date written numerically in the survey's date order: `11/27/2026`."""
    if date_order == "DMY":
        return f"{day.day}/{day.month}/{day.year}"
    return f"{day.month}/{day.day}/{day.year}"


def _bound(value: object, today: date) -> date | None:
    """A date question's `min` or `max` as a date: `today` is the day of the reply."""
    return today if value == TODAY else value if isinstance(value, date) else None


def _explicit_date(
    reply: str, words: Words, today: date, date_order: str, limits: _Limits = (None, None)
) -> date | None | bool:
    """The one written date (`Nov 27`, `27/11`); False when there is none, None when unclear.

    Without a year, the current year when the date fits the question's limits, else the
    nearest year that does; a two-digit year is 20xx, or 19xx when only that fits. A weekday
    written beside it (`tue nov 25`) must be the date's, else the reply is unclear.
    """
    reading = _date_reading(words)
    matches = list(reading.date.finditer(reply))
    if not matches:
        return False
    match = matches[0]
    if match["a"] and _counts_days(reply[match.end() :], words):
        return False  # "3-4 days ago": a count, not March 4
    if len(matches) > 1 or _joined(reading, reply, match.start(), match.end()):
        return None
    numeric = match["a"] or match["iy"]
    if numeric and (
        reading.month.search(reply, 0, match.start()) or reading.month.search(reply, match.end())
    ):
        return None  # "Nov 5-6", "Nov 5/6": not May 6
    year, month, day = _date_parts(match, words, date_order)
    if year is None:
        years = _nearest(today.year, _YEARS_AROUND)
    elif len(year) == 2:
        years = [2000 + int(year), 1900 + int(year)]
    else:
        years = [int(year)]
    if _day(years[0], int(month), int(day)) is None:  # Feb 30, or Feb 29 of 2026: refused
        return None
    found = [d for y in years if (d := _day(y, int(month), int(day))) is not None]
    chosen = next((d for d in found if _fits(d, limits)), found[0])
    # "tuesday 11/25" when the 25th is a Wednesday: one of the two is wrong, and we cannot tell.
    return None if _weekdays_beside(reading, words, reply, match) - {chosen.weekday()} else chosen


def _weekdays_beside(
    reading: _DateReading, words: Words, reply: str, match: re.Match[str]
) -> set[int]:
    """The weekdays written right before a date (`tue nov 25`) or ending the reply after it."""
    beside = (
        reading.weekday_before.search(reply, 0, match.start()),
        reading.weekday_after.fullmatch(reply, match.end()),
    )
    return {words.weekdays[found["weekday"]] for found in beside if found}


def _counts_days(after: str, words: Words) -> bool:
    """Whether the text after a number says it counts days or weeks: ` days ago`."""
    unit = after.split(maxsplit=1)[:1]
    return bool(unit) and (unit[0] in words.day_words or unit[0] in words.week_words)


def _joined(reading: _DateReading, reply: str, start: int, end: int) -> bool:
    """Whether another day is joined to the day at `start:end`: `nov 5 or 6`, `5 or 6 nov`."""
    return bool(reading.day_before.search(reply, 0, start) or reading.day_after.match(reply, end))


_Limits = tuple[date | None, date | None]  # a date question's min and max, as dates
_YEARS_AROUND = 100  # how far from this year a date without a year may fall, to fit the limits


def _nearest(middle: int, spread: int) -> list[int]:
    """`middle`, then the numbers around it nearest first, the earlier of two first."""
    return [middle + step * sign for step in range(spread + 1) for sign in (-1, 1)][1:]


def _day(year: int, month: int, day: int) -> date | None:
    """The date, or None when it does not exist (Feb 30, month 13, Feb 29 of 2025)."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _fits(day: date, limits: _Limits) -> bool:
    """Whether a date is within a question's min and max."""
    low, high = limits
    return not ((low and day < low) or (high and day > high))


def _day_of_month(reply: str, words: Words, today: date, limits: _Limits = (None, None)):
    """`the 28th`, `le 28`: that day of the current month, else of the nearest month that fits."""
    match = _date_reading(words).day_of_month.fullmatch(reply)
    if not match or not (match["filler"] or match["suffix"]):
        return None
    this_month = _day(today.year, today.month, int(match["day"]))
    if this_month is None:  # the 31st in November: refused, not moved
        return None
    number = today.year * 12 + today.month - 1
    found = (_day(n // 12, n % 12 + 1, this_month.day) for n in _nearest(number, 12))
    return next((d for d in found if d is not None and _fits(d, limits)), this_month)


def _days_ago(reply: str, words: Words, today: date) -> date | None:
    """`3 days ago`, `hace una semana`, `il y a deux jours`."""
    reading = _date_reading(words)
    for pattern in reading.ago:
        if not (match := pattern.search(reply)):
            continue
        if reading.day_before.search(reply, 0, match.start("n")):
            return None  # "3 or 4 days ago": never one of them
        written = match["n"]
        count = 1 if written in words.articles else int(written) if written.isdecimal() else None
        count = cardinal(written.replace("-", " "), words) if count is None else count
        unit = match["unit"]
        days = 1 if unit in words.day_words else _WEEK if unit in words.week_words else None
        if count is not None and days is not None:
            return today - timedelta(days=count * days)
    return None


def _weekday(reply: str, words: Words, today: date, limits: _Limits) -> date | None:
    """`friday`, `last tuesday`: the latest before today, or the next after it when asked;
    with its day of the month (`friday the 13th`), that day when the two agree."""
    tokens = _WORD_TOKEN.findall(reply)
    found = {words.weekdays[token] for token in tokens if token in words.weekdays}
    if len(found) != 1:
        return None
    weekday, low = found.pop(), limits[0]
    if words.last_words.intersection(tokens):
        ahead = False
    elif words.next_words.intersection(tokens) or any(
        phrase in reply for phrase in words.next_words if " " in phrase
    ):
        ahead = True
    else:
        ahead = low is not None and low >= today  # a question about days to come
    if days := _date_reading(words).day_number.findall(reply):
        return _weekday_of_month(days, weekday, today, limits, ahead)
    if ahead:
        return today + timedelta(days=(weekday - today.weekday() - 1) % _WEEK + 1)
    return today - timedelta(days=(today.weekday() - weekday - 1) % _WEEK + 1)


def _weekday_of_month(days: list[str], weekday: int, today: date, limits: _Limits, ahead: bool):
    """The day of this month, or of the last (the next when `ahead`), on `weekday`, else None."""
    if len(days) != 1:
        return None
    number = today.year * 12 + today.month - 1
    for month in (number, number + 1 if ahead else number - 1):
        found = _day(month // 12, month % 12 + 1, int(days[0]))
        if found is not None and found.weekday() == weekday and _fits(found, limits):
            return found
    return None  # "friday the 4th" in a month where the 4th is a Wednesday: which is wrong?


def _relative_day(reply: str, words: Words, today: date) -> date | None:
    """`today`, `hier`, `fue ayer`: the one relative day the reply names."""
    found = set(_date_reading(words).relative.findall(reply))
    if len(found) > 1:
        found.discard(MORNING_OR_TOMORROW)
    if len(found) != 1:
        return None
    return today + timedelta(days=words.relative_days[found.pop()])


def _date_reason(question: Question, words: Words, today: date, date_order: str) -> Invalid:
    """The re-prompt for a date question, with its range when it has one."""
    low, high = _bound(question.min, today), _bound(question.max, today)
    example = max(low or today, min(high or today, today))
    fields = {"example": _written(example, date_order)}
    if low and high:
        low_text, high_text = _written(low, date_order), _written(high, date_order)
        return _say(words, "date_range", **fields, low=low_text, high=high_text)
    if low:
        return _say(words, "date_min", **fields, low=_written(low, date_order))
    if high:
        return _say(words, "date_max", **fields, high=_written(high, date_order))
    return _say(words, "date_any", **fields)


def _any_date(
    reply: str, words: Words, today: date, date_order: str, limits: _Limits
) -> date | None:
    """The date a normalised reply names in any of the ways people write one, else None."""
    if reply in words.relative_days:
        return today + timedelta(days=words.relative_days[reply])
    explicit = _explicit_date(reply, words, today, date_order, limits)
    if explicit is not False:
        return explicit
    return (
        _day_of_month(reply, words, today, limits)
        or _days_ago(reply, words, today)
        or _weekday(reply, words, today, limits)
        or _relative_day(reply, words, today)
    )


def read_date(
    question: Question, text: str, *, today: date, date_order: str = "MDY", language: str = ENGLISH
) -> date | Invalid:
    """One calendar date within the question's min and max; never swaps day and month."""
    words = words_for(language)
    low, high = _bound(question.min, today), _bound(question.max, today)
    found = _any_date(plain(normalise(text)), words, today, date_order, (low, high))
    if found is None or (low and found < low) or (high and found > high):
        return _date_reason(question, words, today, date_order)
    return found


# --- language ----------------------------------------------------------------------------------


def read_language(question: Question, text: str, language: str = ENGLISH) -> str | Invalid:
    """The code of the language chosen: by number or label, or by a name or code of it."""
    chosen = read_choice(question, text, language)
    if not isinstance(chosen, Invalid):
        return chosen
    codes = tuple(choice.value for choice in question.choices)
    return language_of(normalise(text), codes) or chosen


# --- dispatch ------------------------------------------------------------------------------------

_READERS: dict[str, Callable[[Question, str, str], object]] = {
    "text": read_text,
    "choice": read_choice,
    "multi": read_multi,
    "yesno": read_yesno,
    "number": read_number,
    "scale": read_scale,
    "language": read_language,
}


def read_reply(
    question: Question,
    text: str,
    *,
    today: date,
    date_order: str = "MDY",
    language: str = ENGLISH,
) -> object | Invalid:
    """The value to store for `text` as an answer to `question`, or an Invalid."""
    if question.type == "date":
        return read_date(question, text, today=today, date_order=date_order, language=language)
    reader = _READERS.get(question.type)
    if reader is None:
        raise ValueError(f"unknown question type {question.type!r}")
    return reader(question, text, language)
