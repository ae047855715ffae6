"""Reading replies (SPEC section 2): tables of real replies for every question type."""

import re
from datetime import date

import pytest

from bot.model import Choice, Question
from bot.replies import Invalid, normalise, read_date, read_reply
from bot.templates import Text

TODAY = date(2026, 11, 27)
BAD = Invalid  # expected value meaning "must be refused"


def question(id, type, **keys):
    """A question as the survey loader would build it."""
    return Question(id=id, type=type, text=Text.compile("Question?"), **keys)


def choices(*labels):
    """Plain choices whose value is their label."""
    return tuple(Choice(label, label) for label in labels)


NAME = question("name", "text", max_length=40)
COMMENT = question("comment", "text")
SATISFACTION = question(
    "satisfaction",
    "choice",
    choices=(
        Choice("Very satisfied", "Very satisfied"),
        Choice("Satisfied", "Satisfied"),
        Choice("Not satisfied", "unsatisfied", ("bad", "poor")),
    ),
)
REVERSED = question(
    "reversed", "choice", choices=(Choice("3", "three"), Choice("2", "two"), Choice("1", "one"))
)
SHARED_ALIAS = question(
    "shared",
    "choice",
    choices=(Choice("Morning", "am", ("early",)), Choice("Dawn", "dawn", ("early",))),
)
TOPICS = question("topics", "multi", choices=choices("Parking", "Restaurant", "Shop"))
TWO_AT_MOST = question("two_at_most", "multi", choices=choices("A", "B", "C", "D"), max=2)
TWO_AT_LEAST = question("two_at_least", "multi", choices=choices("A", "B", "C", "D"), min=2)
MAYBE_NONE = question("maybe_none", "multi", choices=choices("Parking", "Shop"), min=0)
LONG_LABELS = question(
    "long_labels",
    "multi",
    choices=(
        Choice("Bed and breakfast", "bnb"),
        Choice("Food & drink", "food"),
        Choice("Very satisfied", "very"),
        Choice("Spa", "spa", ("wellness",)),
    ),
)
CONTACT_OK = question("contact_ok", "yesno")
AMOUNT = question("amount", "number")
VISITS = question("visits", "number", integer=True, min=1, max=365)
DAYS = question("days", "number", min=1, max=365)
AT_LEAST_ZERO = question("at_least_zero", "number", min=0)
AT_MOST_TEN = question("at_most_ten", "number", max=10, integer=True)
RECOMMEND = question("recommend", "scale", min=0, max=10)
STARS = question("stars", "scale", min=1, max=5)
LAST_VISIT = question("last_visit", "date")


def case(q, reply, expected, order="MDY"):
    """One table row, named after its question and reply."""
    return pytest.param(q, reply, expected, order, id=f"{q.id}:{order}:{reply!r}")


TEXT_CASES = [
    case(NAME, "Ana", "Ana"),
    case(NAME, "  Ana  ", "Ana"),
    case(NAME, "Mary   Jane", "Mary   Jane"),  # as written: inner spacing is the respondent's
    case(NAME, "Mary\nJane \n", "Mary\nJane"),  # line breaks kept, ends trimmed
    case(NAME, "JOSÉ", "JOSÉ"),
    case(NAME, "o'Brien!", "o'Brien!"),
    case(NAME, "x" * 40, "x" * 40),
    case(NAME, "x" * 41, BAD),
    case(NAME, "", BAD),
    case(NAME, "   \n ", BAD),
    case(COMMENT, "The parking was full 🙁", "The parking was full 🙁"),
    case(COMMENT, "y" * 1600, "y" * 1600),
    case(COMMENT, "{{ answers.name }}", "{{ answers.name }}"),
]

CHOICE_CASES = [
    case(SATISFACTION, "1", "Very satisfied"),
    case(SATISFACTION, "2", "Satisfied"),
    case(SATISFACTION, "3", "unsatisfied"),
    case(SATISFACTION, "2.", "Satisfied"),
    case(SATISFACTION, "(2)", "Satisfied"),
    case(SATISFACTION, "#2", "Satisfied"),
    case(SATISFACTION, " 2 ", "Satisfied"),
    case(SATISFACTION, "02", "Satisfied"),
    case(SATISFACTION, "2\ufe0f\u20e3", "Satisfied"),
    case(SATISFACTION, "2\u20e3", "Satisfied"),
    case(SATISFACTION, "２", "Satisfied"),
    case(SATISFACTION, "satisfied", "Satisfied"),
    case(SATISFACTION, "SATISFIED", "Satisfied"),
    case(SATISFACTION, "Very satisfied!", "Very satisfied"),
    case(SATISFACTION, "very  satisfied", "Very satisfied"),
    case(SATISFACTION, "Not satisfied.", "unsatisfied"),
    case(SATISFACTION, "unsatisfied", "unsatisfied"),
    case(SATISFACTION, "Bad", "unsatisfied"),
    case(SATISFACTION, "poor...", "unsatisfied"),
    case(SATISFACTION, "3. Not satisfied", "unsatisfied"),
    case(SATISFACTION, "1) Very satisfied", "Very satisfied"),
    case(SATISFACTION, "1. Satisfied", BAD),
    case(SATISFACTION, "4", BAD),
    case(SATISFACTION, "0", BAD),
    case(SATISFACTION, "-1", BAD),
    case(SATISFACTION, "very", "Very satisfied"),  # SPEC: the first word of one label
    case(SATISFACTION, "not", "unsatisfied"),
    case(SATISFACTION, "satisfied i guess", "Satisfied"),  # SPEC: a label as whole words
    case(SATISFACTION, "1 or 2", BAD),
    case(SATISFACTION, "1,2", BAD),
    case(SATISFACTION, "12", BAD),
    case(SATISFACTION, "", BAD),
    case(SATISFACTION, "?", BAD),
    case(REVERSED, "2", "two"),
    case(REVERSED, "1", "three"),  # SPEC: a bare number is always the number shown
    case(REVERSED, "3", "one"),
    case(REVERSED, "one", "one"),
    case(SHARED_ALIAS, "early", BAD),
    case(SHARED_ALIAS, "morning", "am"),
    case(SHARED_ALIAS, "AM", "am"),
]

MULTI_CASES = [
    case(TOPICS, "1,3", ["Parking", "Shop"]),
    case(TOPICS, "1, 3", ["Parking", "Shop"]),
    case(TOPICS, "1 3", ["Parking", "Shop"]),
    case(TOPICS, "1 and 3", ["Parking", "Shop"]),
    case(TOPICS, "1 & 3", ["Parking", "Shop"]),
    case(TOPICS, "1/3", ["Parking", "Shop"]),
    case(TOPICS, "1; 3", ["Parking", "Shop"]),
    case(TOPICS, "3,1", ["Parking", "Shop"]),
    case(TOPICS, "3, 1, 3", ["Parking", "Shop"]),
    case(TOPICS, "1,2,3", ["Parking", "Restaurant", "Shop"]),
    case(TOPICS, "1, 2, and 3.", ["Parking", "Restaurant", "Shop"]),
    case(TOPICS, "2", ["Restaurant"]),
    case(TOPICS, "shop", ["Shop"]),
    case(TOPICS, "parking, shop", ["Parking", "Shop"]),
    case(TOPICS, "Parking and Shop", ["Parking", "Shop"]),
    case(TOPICS, "Shop & 1", ["Parking", "Shop"]),
    case(TOPICS, "1️⃣ 3️⃣", ["Parking", "Shop"]),
    case(TOPICS, "１，３", ["Parking", "Shop"]),
    case(TOPICS, "13", BAD),
    case(TOPICS, "123", BAD),
    case(TOPICS, "1,4", BAD),
    case(TOPICS, "0", BAD),
    case(TOPICS, "1-3", BAD),
    case(TOPICS, "parking shop", BAD),
    case(TOPICS, "parking, gym", BAD),
    case(TOPICS, "all of them", BAD),
    case(TOPICS, "none", BAD),
    case(TOPICS, "", BAD),
    case(TOPICS, ",", BAD),
    case(TWO_AT_MOST, "1,3", ["A", "C"]),
    case(TWO_AT_MOST, "1,2,3", BAD),
    case(TWO_AT_LEAST, "2", BAD),
    case(TWO_AT_LEAST, "2 4", ["B", "D"]),
    case(MAYBE_NONE, "none", []),
    case(MAYBE_NONE, "None.", []),
    case(MAYBE_NONE, "0", []),
    case(MAYBE_NONE, "2", ["Shop"]),
    case(LONG_LABELS, "bed and breakfast", ["bnb"]),
    case(LONG_LABELS, "Food & drink", ["food"]),
    case(LONG_LABELS, "bed and breakfast, food & drink", ["bnb", "food"]),
    case(LONG_LABELS, "very satisfied and wellness", ["very", "spa"]),
    case(LONG_LABELS, "Very satisfied, 1", ["bnb", "very"]),
    case(LONG_LABELS, "bed, breakfast", BAD),
]

YESNO_CASES = [
    *(
        case(CONTACT_OK, reply, True)
        for reply in (
            "yes", "YES", "Yes!", "y", "Y.", "yeah", "yea", "yep", "yup", "ya", "sure", "ok",
            "OK", "okay", "k", "of course", "Absolutely", "definitely", "certainly", "correct",
            "right", "true", "yes, please", "Yes please!", "👍", "👍🏽", "  yes  ", "ＹＥＳ",
        )
    ),
    *(
        case(CONTACT_OK, reply, False)
        for reply in (
            "no", "NO", "No.", "n", "nope", "nah", "no thanks", "No, thanks!", "not really",
            "never", "negative", "false", "no way", "👎", "👎🏻",
        )
    ),
    *(
        case(CONTACT_OK, reply, BAD)
        for reply in (
            "1", "2", "0", "maybe", "yes no", "yes and no", "not sure", "idk", "", "?", "yess",
            "sure not", "👍👎",
        )
    ),
]  # fmt: skip

NUMBER_CASES = [
    case(AMOUNT, "42", 42),
    case(AMOUNT, "42.", 42),
    case(AMOUNT, "about 40", 40),
    case(AMOUNT, "40 times", 40),
    case(AMOUNT, "around 1,000", 1000),
    case(AMOUNT, "1,000", 1000),
    case(AMOUNT, "12,345,678", 12345678),
    case(AMOUNT, "1000000", 1000000),
    case(AMOUNT, "-3", -3),
    case(AMOUNT, "−3", -3),
    case(AMOUNT, "+4", 4),
    case(AMOUNT, "12.5", 12.5),
    case(AMOUNT, "12.0", 12.0),
    case(AMOUNT, "0.5", 0.5),
    case(AMOUNT, ".5", 0.5),
    case(AMOUNT, "1,234.56", 1234.56),
    case(AMOUNT, "$40", 40),
    case(AMOUNT, "40%", 40),
    case(AMOUNT, "I went 5 times.", 5),
    case(AMOUNT, "5, maybe", 5),
    case(AMOUNT, "４２", 42),
    case(AMOUNT, "4\ufe0f\u20e32\ufe0f\u20e3", 42),
    case(AMOUNT, "🔟", 10),
    case(AMOUNT, "12 or 13", BAD),
    case(AMOUNT, "5-6", BAD),
    case(AMOUNT, "5 - 6", BAD),
    case(AMOUNT, "1,5", BAD),
    case(AMOUNT, "1,50", BAD),
    case(AMOUNT, "12,3456", BAD),
    case(AMOUNT, "1.2.3", BAD),
    case(AMOUNT, "between 10 and 20", BAD),
    case(AMOUNT, "7/10", BAD),
    case(AMOUNT, "forty", 40),  # SPEC: number words count
    case(AMOUNT, "a lot", BAD),
    case(AMOUNT, "", BAD),
    case(VISITS, "12", 12),
    case(VISITS, "1", 1),
    case(VISITS, "365", 365),
    case(VISITS, "about 40 times", 40),
    case(VISITS, "12.5", BAD),
    case(VISITS, "12.0", BAD),
    case(VISITS, "1.000", BAD),
    case(VISITS, "0", BAD),
    case(VISITS, "366", BAD),
    case(VISITS, "-5", BAD),
    case(VISITS, "none", BAD),
    case(DAYS, "2.5", 2.5),
    case(DAYS, "0.5", BAD),
    case(AT_LEAST_ZERO, "0", 0),
    case(AT_LEAST_ZERO, "-1", BAD),
    case(AT_MOST_TEN, "11", BAD),
    case(AT_MOST_TEN, "-11", -11),
]

SCALE_CASES = [
    case(RECOMMEND, "7", 7),
    case(RECOMMEND, "0", 0),
    case(RECOMMEND, "10", 10),
    case(RECOMMEND, "7/10", 7),
    case(RECOMMEND, "7 / 10", 7),
    case(RECOMMEND, "10/10!", 10),
    case(RECOMMEND, "7 out of 10", 7),
    case(RECOMMEND, "8 of 10", 8),
    case(RECOMMEND, "I'd say 8", 8),
    case(RECOMMEND, "maybe a 6", 6),
    case(RECOMMEND, "7️⃣", 7),
    case(RECOMMEND, "🔟", 10),
    case(RECOMMEND, "７", 7),
    case(RECOMMEND, "7.5", BAD),
    case(RECOMMEND, "7.0", 7),  # SPEC: 4.0 is 4 on a scale
    case(RECOMMEND, "11", BAD),
    case(RECOMMEND, "-1", BAD),
    case(RECOMMEND, "7-8", BAD),
    case(RECOMMEND, "7 or 8", BAD),
    case(RECOMMEND, "3/5", BAD),
    case(RECOMMEND, "seven", 7),
    case(RECOMMEND, "", BAD),
    case(STARS, "5/5", 5),
    case(STARS, "4 out of 5", 4),
    case(STARS, "8/10", BAD),
    case(STARS, "0", BAD),
]

DATE_CASES = [
    case(LAST_VISIT, "2026-11-27", date(2026, 11, 27)),
    case(LAST_VISIT, "2025-1-5", date(2025, 1, 5)),
    case(LAST_VISIT, "11/27/2026", date(2026, 11, 27)),
    case(LAST_VISIT, "11/27/26", date(2026, 11, 27)),
    case(LAST_VISIT, "11/27", date(2026, 11, 27)),
    case(LAST_VISIT, "3/4", date(2026, 3, 4)),
    case(LAST_VISIT, "03/04/2025", date(2025, 3, 4)),
    case(LAST_VISIT, "11-27-2026", date(2026, 11, 27)),
    case(LAST_VISIT, "11.27.26", date(2026, 11, 27)),
    case(LAST_VISIT, "１１/２７", date(2026, 11, 27)),
    case(LAST_VISIT, "Nov 27", date(2026, 11, 27)),
    case(LAST_VISIT, "nov 27", date(2026, 11, 27)),
    case(LAST_VISIT, "November 27th", date(2026, 11, 27)),
    case(LAST_VISIT, "27 November 2026", date(2026, 11, 27)),
    case(LAST_VISIT, "27 Nov", date(2026, 11, 27)),
    case(LAST_VISIT, "27th of November", date(2026, 11, 27)),
    case(LAST_VISIT, "Nov 27, 2026", date(2026, 11, 27)),
    case(LAST_VISIT, "Nov. 27", date(2026, 11, 27)),
    case(LAST_VISIT, "Sept 3", date(2026, 9, 3)),
    case(LAST_VISIT, "March 1st", date(2026, 3, 1)),
    case(LAST_VISIT, "May 5", date(2026, 5, 5)),
    case(LAST_VISIT, "on 11/20", date(2026, 11, 20)),
    case(LAST_VISIT, "It was Nov 20.", date(2026, 11, 20)),
    case(LAST_VISIT, "today", date(2026, 11, 27)),
    case(LAST_VISIT, "Today!", date(2026, 11, 27)),
    case(LAST_VISIT, "yesterday", date(2026, 11, 26)),
    case(LAST_VISIT, "YESTERDAY", date(2026, 11, 26)),
    case(LAST_VISIT, "27/11", BAD),
    case(LAST_VISIT, "27/11/2026", BAD),
    case(LAST_VISIT, "Feb 30", BAD),
    case(LAST_VISIT, "2/30", BAD),
    case(LAST_VISIT, "13/13", BAD),
    case(LAST_VISIT, "0/5", BAD),
    case(LAST_VISIT, "2026-13-01", BAD),
    case(LAST_VISIT, "2/29/2026", BAD),
    case(LAST_VISIT, "11/27/202", BAD),
    case(LAST_VISIT, "11/27 or 11/28", BAD),
    case(LAST_VISIT, "Nov 2026", BAD),
    case(LAST_VISIT, "November", BAD),
    case(LAST_VISIT, "the 27th", date(2026, 11, 27)),  # SPEC: in the current month
    case(LAST_VISIT, "27", BAD),
    case(LAST_VISIT, "last week", BAD),
    case(LAST_VISIT, "tod", BAD),
    case(LAST_VISIT, "", BAD),
    case(LAST_VISIT, "27/11", date(2026, 11, 27), "DMY"),
    case(LAST_VISIT, "27/11/2026", date(2026, 11, 27), "DMY"),
    case(LAST_VISIT, "27.11.26", date(2026, 11, 27), "DMY"),
    case(LAST_VISIT, "3/4", date(2026, 4, 3), "DMY"),
    case(LAST_VISIT, "2026-11-27", date(2026, 11, 27), "DMY"),
    case(LAST_VISIT, "27 Nov", date(2026, 11, 27), "DMY"),
    case(LAST_VISIT, "Nov 27", date(2026, 11, 27), "DMY"),
    case(LAST_VISIT, "yesterday", date(2026, 11, 26), "DMY"),
    case(LAST_VISIT, "11/27", BAD, "DMY"),
    case(LAST_VISIT, "11/27/2026", BAD, "DMY"),
    case(LAST_VISIT, "31/4", BAD, "DMY"),
]

ALL_CASES = TEXT_CASES + CHOICE_CASES + MULTI_CASES + YESNO_CASES
ALL_CASES += NUMBER_CASES + SCALE_CASES + DATE_CASES
INVALID_CASES = [c for c in ALL_CASES if c.values[2] is BAD]


@pytest.mark.parametrize(("q", "reply", "expected", "order"), ALL_CASES)
def test_read_reply(q, reply, expected, order):
    got = read_reply(q, reply, today=TODAY, date_order=order)
    if expected is BAD:
        assert isinstance(got, Invalid), got
    else:
        assert got == expected
        assert type(got) is type(expected)  # 12 is not 12.0, True is not 1


NORMALISE_CASES = [
    ("２", "2"),
    ("１２３", "123"),
    ("ＹＥＳ", "yes"),
    ("2\ufe0f\u20e3", "2"),
    ("2\u20e3", "2"),
    ("🔟", "10"),
    ("#\ufe0f\u20e3", ""),
    ("2.", "2"),
    ("2)", "2"),
    ("(2)", "2"),
    ("#2", "2"),
    (" 2 ", "2"),
    ("-4", "-4"),
    ("+4", "+4"),
    ("(-4)", "-4"),
    ("- 4", "4"),
    ("4-", "4"),
    ("−4", "-4"),
    ("1,3", "1,3"),
    ("7/10", "7/10"),
    ("Very   Satisfied!", "very satisfied"),
    ("  yes\n\tplease  ", "yes please"),
    ("STRASSE", "strasse"),
    ("Straße", "strasse"),
    ("¡Sí!", "sí"),
    ("“Shop”", "shop"),
    ("...", ""),
    ("", ""),
    ("$40", "$40"),
    ("👍", "👍"),
]


@pytest.mark.parametrize(("text", "expected"), NORMALISE_CASES)
def test_normalise(text, expected):
    assert normalise(text) == expected


REASON_CASES = [
    (SATISFACTION, "4", "Please reply with a number from 1 to 3."),
    (CONTACT_OK, "maybe", "Please reply YES or NO."),
    (RECOMMEND, "11", "Please reply with a whole number from 0 to 10."),
    (RECOMMEND, "7-8", "Please reply with a whole number from 0 to 10."),
    (TOPICS, "13", "Please reply with one or more numbers from 1 to 3, like 1,3."),
    (TWO_AT_MOST, "1,2,3", "Please choose at most 2, like 1,3."),
    (TWO_AT_LEAST, "2", "Please choose at least 2, like 1,3."),
    (MAYBE_NONE, "3", "Please reply with one or more numbers from 1 to 2, like 1,2, or NONE."),
    (NAME, "x" * 41, "Please keep your answer to 40 characters or fewer."),
    (AMOUNT, "lots", "Please reply with a number, like 42."),
    (AMOUNT, "12 or 13", "Please reply with just one number, like 42."),
    (VISITS, "400", "Please reply with a whole number from 1 to 365."),
    (VISITS, "12.5", "Please reply with a whole number from 1 to 365."),
    (VISITS, "1,5", "Please reply with just one whole number from 1 to 365."),
    (DAYS, "0", "Please reply with a number from 1 to 365."),
    (AT_LEAST_ZERO, "-1", "Please reply with a number of 0 or more, like 42."),
    (AT_MOST_TEN, "11", "Please reply with a whole number of 10 or less, like 10."),
    (LAST_VISIT, "27/11", "Please reply with a date, like 11/27/2026."),
]


@pytest.mark.parametrize(("q", "reply", "reason"), REASON_CASES)
def test_reason(q, reply, reason):
    assert read_reply(q, reply, today=TODAY) == Invalid(reason)


def test_date_reason_follows_date_order():
    got = read_date(LAST_VISIT, "11/27", today=TODAY, date_order="DMY")
    assert got == Invalid("Please reply with a date, like 27/11/2026.")


EXAMPLE = re.compile(r"like (-?\d[\d,/]*\d|-?\d)|from (-?\d+) to|reply with (\d+)\.|reply (YES)")


@pytest.mark.parametrize(("q", "reply", "expected", "order"), INVALID_CASES)
def test_every_reason_shows_a_valid_reply(q, reply, expected, order):
    got = read_reply(q, reply, today=TODAY, date_order=order)
    assert re.fullmatch(r"Please [^\n]{5,80}\.", got.reason), got.reason
    if q.type == "text":
        assert "characters" in got.reason or "words" in got.reason
        return
    found = EXAMPLE.search(got.reason)
    assert found, f"no example reply in {got.reason!r}"
    example = next(group for group in found.groups() if group)
    assert not isinstance(read_reply(q, example, today=TODAY, date_order=order), Invalid)


def test_unknown_type_is_an_error():
    with pytest.raises(ValueError, match="unknown question type"):
        read_reply(question("q", "rating"), "5", today=TODAY)


def test_reply_is_never_a_template():
    assert read_reply(COMMENT, "{% raw %}", today=TODAY) == "{% raw %}"
