"""Reading replies (SPEC section 2): tables of real replies for every question type."""

import re
from datetime import date

import pytest

from bot.model import Choice, Question
from bot.replies import Invalid, near_miss, normalise, read_confirmation, read_date, read_reply
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
SERVICE = question(
    "service",
    "choice",
    choices=(
        Choice("Full service", "full"),
        Choice("Puncture repair", "puncture"),
        Choice("Tyre change", "tyres", ("tires",)),
    ),
)
DRINKS = question("drinks", "multi", choices=choices("Tea", "Coffee", "Juice", "Water"))
CONTACT_OK = question("contact_ok", "yesno")
AMOUNT = question("amount", "number")
VISITS = question("visits", "number", integer=True, min=1, max=365)
DAYS = question("days", "number", min=1, max=365)
AT_LEAST_ZERO = question("at_least_zero", "number", min=0)
AT_MOST_TEN = question("at_most_ten", "number", max=10, integer=True)
STEPS = question("steps", "number", integer=True)
HALF_OR_MORE = question("half_or_more", "number", min=0.5)
RECOMMEND = question("recommend", "scale", min=0, max=10)
STARS = question("stars", "scale", min=1, max=5)
LAST_VISIT = question("last_visit", "date")  # TODAY is a Friday
NEXT_VISIT = question("next_visit", "date", min="today")
THIS_MONTH = question("this_month", "date", min=date(2026, 11, 1), max="today")
BY_XMAS = question("by_xmas", "date", max=date(2026, 12, 24))
ENTERED_2026 = question("entered", "date", min=date(2026, 1, 1), max=date(2026, 12, 31))
BORN_LAST_CENTURY = question("born", "date", max=date(1999, 12, 31))
SEEN_BY_NOW = question("seen", "date", max="today")


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
    case(NAME, "\u200b", BAD),  # a zero-width space alone: nothing a person can read
    case(NAME, " \u200d\ufeff\u2060 ", BAD),  # joiners, a byte-order mark, a word joiner
    case(NAME, "Ana\u200d", "Ana\u200d"),  # next to text, kept as written
    case(COMMENT, "The parking was full 🙁", "The parking was full 🙁"),
    case(COMMENT, "y" * 1600, "y" * 1600),
    case(COMMENT, "{{ answers.name }}", "{{ answers.name }}"),
]

CHOICE_CASES = [
    case(SATISFACTION, "1", "Very satisfied"),
    case(SATISFACTION, "2", "Satisfied"),
    case(SATISFACTION, "I think 3", "unsatisfied"),  # issue 20: a hedge around the number
    case(SATISFACTION, "maybe 2", "Satisfied"),
    case(SATISFACTION, "2 I guess", "Satisfied"),
    case(SATISFACTION, "probably 1", "Very satisfied"),
    case(SATISFACTION, "I think 4", BAD),
    case(SATISFACTION, "2 or 3 I think", BAD),
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
    case(SATISFACTION, "I am very satisfied", "Very satisfied"),
    case(SATISFACTION, "very satisfied, thanks", "Very satisfied"),
    case(SATISFACTION, "not satisfied at all", "unsatisfied"),
    case(SATISFACTION, "I was not satisfied", "unsatisfied"),
    case(SATISFACTION, "bad service", "unsatisfied"),
    case(SATISFACTION, "satisfied 😀", "Satisfied"),
    case(SATISFACTION, "2 🙂", "Satisfied"),
    case(SATISFACTION, "the first one", "Very satisfied"),
    case(SATISFACTION, "first", "Very satisfied"),
    case(SATISFACTION, "one", "Very satisfied"),
    case(SATISFACTION, "three", "unsatisfied"),
    case(SATISFACTION, "the last one", "unsatisfied"),
    case(SATISFACTION, "not very satisfied", BAD),  # a negation around a label is not guessed
    case(SATISFACTION, "I wouldn't say very satisfied", BAD),
    case(SATISFACTION, "not bad", BAD),
    case(SATISFACTION, "😀", BAD),
    case(SATISFACTION, "satisfed", BAD),  # a near-miss is confirmed, never read as it
    case(SATISFACTION, "four", BAD),
    case(SERVICE, "full", "full"),
    case(SERVICE, "Full", "full"),
    case(SERVICE, "Full service", "full"),
    case(SERVICE, "full service please", "full"),
    case(SERVICE, "a full service 👍", "full"),
    case(SERVICE, "Puncture repair 🙂", "puncture"),
    case(SERVICE, "🙂 puncture repair", "puncture"),
    case(SERVICE, "puncture", "puncture"),
    case(SERVICE, "two", "puncture"),
    case(SERVICE, "Two", "puncture"),
    case(SERVICE, "option 2", "puncture"),
    case(SERVICE, "Option two", "puncture"),
    case(SERVICE, "number 2", "puncture"),
    case(SERVICE, "the second one", "puncture"),
    case(SERVICE, "second", "puncture"),
    case(SERVICE, "2nd", "puncture"),
    case(SERVICE, "the 2nd", "puncture"),
    case(SERVICE, "#2", "puncture"),
    case(SERVICE, "the third one", "tyres"),
    case(SERVICE, "3rd", "tyres"),
    case(SERVICE, "the last one", "tyres"),
    case(SERVICE, "tires", "tyres"),
    case(SERVICE, "I'd like a tyre change", "tyres"),
    case(SERVICE, "tyre change please", "tyres"),
    case(SERVICE, "tyre", "tyres"),
    case(SERVICE, "option 4", BAD),
    case(SERVICE, "fourth", BAD),
    case(SERVICE, "the fifth one", BAD),
    case(SERVICE, "zero", BAD),
    case(SERVICE, "service", BAD),  # not the first word of a label
    case(SERVICE, "repair", BAD),
    case(SERVICE, "full or puncture", BAD),
    case(SERVICE, "full service and tyre change", BAD),
    case(SERVICE, "two or three", BAD),
    case(SERVICE, "not a full service", BAD),
    case(SERVICE, "1st or 2nd", BAD),
]

MULTI_CASES = [
    case(TOPICS, "1,3", ["Parking", "Shop"]),
    case(TOPICS, "1, 3", ["Parking", "Shop"]),
    case(TOPICS, "1 3", ["Parking", "Shop"]),
    case(TOPICS, "Parking\nShop", ["Parking", "Shop"]),  # one pick a line
    case(TOPICS, "parking\r\nshop\n", ["Parking", "Shop"]),
    case(LONG_LABELS, "Bed and breakfast\nFood & drink", ["bnb", "food"]),
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
    case(TOPICS, "all of them", ["Parking", "Restaurant", "Shop"]),  # issue 20
    case(TOPICS, "All of the above!", ["Parking", "Restaurant", "Shop"]),
    case(TWO_AT_MOST, "all of them", BAD),  # more picks than it takes: re-prompted
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
    case(TOPICS, "2️⃣3️⃣", ["Restaurant", "Shop"]),
    case(TOPICS, "#1 #3", ["Parking", "Shop"]),
    case(DRINKS, "2️⃣3️⃣", ["Coffee", "Juice"]),
    case(DRINKS, "1️⃣2️⃣4️⃣", ["Tea", "Coffee", "Water"]),
    case(DRINKS, "#1 #3", ["Tea", "Juice"]),
    case(DRINKS, "#2, #4", ["Coffee", "Water"]),
    case(DRINKS, "tea and juice", ["Tea", "Juice"]),
    case(DRINKS, "Tea & coffee", ["Tea", "Coffee"]),
    case(DRINKS, "tea, coffee and water", ["Tea", "Coffee", "Water"]),
    case(DRINKS, "one and three", ["Tea", "Juice"]),
    case(DRINKS, "first and third", ["Tea", "Juice"]),
    case(DRINKS, "1st and 3rd", ["Tea", "Juice"]),
    case(DRINKS, "two, four", ["Coffee", "Water"]),
    case(DRINKS, "water 💧 and tea ☕", ["Tea", "Water"]),
    case(DRINKS, "tea juice", BAD),
    case(DRINKS, "tea, milk", BAD),
    case(DRINKS, "5", BAD),
    case(DRINKS, "#1 #5", BAD),
    case(DRINKS, "all", ["Tea", "Coffee", "Juice", "Water"]),
    case(DRINKS, "all but tea", ["Coffee", "Juice", "Water"]),  # not Tea
    case(DRINKS, "All except tea and water", ["Coffee", "Juice"]),
    case(DRINKS, "all but 2", ["Tea", "Juice", "Water"]),
    case(DRINKS, "all but milk", BAD),
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
            "1", "2", "0", "maybe", "yes no", "yes and no", "not sure", "idk", "", "?",
            "sure not", "👍👎",
        )
    ),
    # A reply that starts with a yes or a no is that answer, unless its other words say
    # otherwise.
    *(
        case(CONTACT_OK, reply, True)
        for reply in (
            "Yes I do", "yes of course", "Yes, definitely", "yes sir", "Yes please, by email",
            "of course I do", "yeah probably", "sure, why not", "why not", "yes 👍", "👍👍",
            "Yes!!! 😊", "yes, no problem",  # "no problem" beside a yes is no "no"
        )
    ),
    *(
        case(CONTACT_OK, reply, False)
        for reply in (
            "No, not really", "No I was not", "nope, never", "No, of course not",
            "no thanks, I'm good", "never again", "No, no problems", "no 😢",
        )
    ),
    *(
        case(CONTACT_OK, reply, BAD)
        for reply in (
            "no... well yes", "yes but no", "yes/no", "ok no",  # both: never chosen between
            "I don't know", "Yes, I don't know", "no idea", "No, I'm not sure", "yes maybe",
            "never mind",  # unsure, wherever it is said
            "yes I don't mind", "yes, I wouldn't", "definitely not sure",  # a negation after a yes
            "no problem", "no worries",  # yes to "May we call?", no to "Any problems?"
            "maybe yes", "I think yes", "well no",  # only a reply that starts with the answer
            "n/a", "y not", "k thanks",  # a lone letter is an answer only on its own
            "no, stop", "yes please stop", "Yes STOPALL", "yes, go back", "no help",  # a command
        )
    ),
    # Letters typed over and over are the word; a letter changed is never guessed ("yet").
    *(case(CONTACT_OK, reply, True) for reply in ("Yess", "yees", "YESSS!", "yess please")),
    *(case(CONTACT_OK, reply, False) for reply in ("noo", "Nooooo", "nopeee")),
    *(case(CONTACT_OK, reply, BAD) for reply in ("yse", "yet", "yez", "mo", "noi")),
]  # fmt: skip

NUMBER_CASES = [
    case(AMOUNT, "42", 42),
    case(AMOUNT, "42.", 42),
    case(AMOUNT, "about 40", 40),
    case(AMOUNT, "about a dozen", 12),  # issue 20
    case(AMOUNT, "a dozen", 12),
    case(AMOUNT, "half a dozen", 6),
    case(AMOUNT, "2 dozen", 24),
    case(AMOUNT, "a dozen or 13", BAD),
    case(VISITS, "dozens", BAD),  # many dozens: not one number
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
    case(AMOUNT, "1k", 1000),
    case(AMOUNT, "1K", 1000),
    case(AMOUNT, "2.5k", 2500),
    case(AMOUNT, "10k steps", 10000),
    case(AMOUNT, "5km", 5),
    case(AMOUNT, "1.000", BAD),  # SPEC: ambiguous in English (a thousand, or one)
    case(AMOUNT, "12.500", BAD),
    case(AMOUNT, "two", 2),
    case(AMOUNT, "five", 5),
    case(AMOUNT, "Twelve", 12),
    case(AMOUNT, "zero", 0),
    case(AMOUNT, "nineteen", 19),
    case(AMOUNT, "forty five", 45),
    case(AMOUNT, "forty-five", 45),
    case(AMOUNT, "about forty five", 45),
    case(AMOUNT, "twenty one", 21),
    case(AMOUNT, "ninety-nine", 99),
    case(AMOUNT, "a hundred", 100),
    case(AMOUNT, "one hundred and five", 105),
    case(AMOUNT, "three hundred sixty five", 365),
    case(AMOUNT, "two thousand", 2000),
    case(AMOUNT, "2 thousand", 2000),
    case(AMOUNT, "3 million", 3000000),
    # A count in a larger unit than the bot reads is asked again, never stored as its first number.
    case(AMOUNT, "1 billion", BAD),
    case(AMOUNT, "1.2 billion", BAD),
    case(AMOUNT, "two billion", BAD),
    case(AMOUNT, "3 trillion", BAD),
    case(AMOUNT, "2bn", BAD),
    case(AMOUNT, "2 mil", BAD),  # 2 million to some, 2,000 to a Spanish speaker
    case(AMOUNT, "1.5 mln", BAD),
    case(AMOUNT, "5 grand", BAD),
    case(AMOUNT, "2 lakh", BAD),
    case(AMOUNT, "10 k", BAD),  # a k apart may be thousands or kilometres
    case(AMOUNT, "5 km", 5),
    case(AMOUNT, "2 kids", 2),
    # A bound is not the number: "more than 10" is never 10. Asked again.
    case(AMOUNT, "more than 10", BAD),
    case(AMOUNT, "less than 5", BAD),
    case(AMOUNT, "fewer than 5", BAD),
    case(AMOUNT, "over 40", BAD),
    case(AMOUNT, "under 10", BAD),
    case(AMOUNT, "below 10", BAD),
    case(AMOUNT, ">10", BAD),
    case(AMOUNT, "< 10", BAD),
    case(RECOMMEND, "more than 7", BAD),
    case(AMOUNT, "about 40", 40),
    case(AMOUNT, "at least 3", 3),  # the number is in it: read, as "about 3" is
    case(AMOUNT, "five or six", BAD),
    case(AMOUNT, "five six", BAD),
    case(AMOUNT, "5 or six", BAD),
    case(AMOUNT, "two and a half", BAD),
    case(AMOUNT, "lots", BAD),
    case(VISITS, "two", 2),
    case(VISITS, "forty five", 45),
    case(VISITS, "three hundred sixty five", 365),
    case(VISITS, "1.5k", BAD),
    case(VISITS, "2k", BAD),
    case(STEPS, "1.5k", 1500),
    case(STEPS, "2.5k", 2500),
    case(STEPS, "12k", 12000),
    case(STEPS, "1.2345k", BAD),
    case(HALF_OR_MORE, "0.5", 0.5),
    case(HALF_OR_MORE, "0.4", BAD),
    # At most 15 digits before the point: what a double holds exactly, stats and SPSS too.
    case(AMOUNT, "999999999999999", 999_999_999_999_999),
    case(AMOUNT, "-999,999,999,999,999", -999_999_999_999_999),
    case(AMOUNT, "999999999999999.5", 999_999_999_999_999.5),
    case(STEPS, "999,999,999,999k", 999_999_999_999_000),
    case(AMOUNT, "1000000000000000", BAD),
    case(AMOUNT, "-1000000000000000", BAD),
    case(STEPS, "1,000,000,000,000k", BAD),
    case(AMOUNT, "1000 million million", BAD),
    case(AT_LEAST_ZERO, "1" + "0" * 309, BAD),  # once stored, results and exports failed
    case(AT_LEAST_ZERO, "1" + "0" * 309 + ".5", BAD),  # once stored as Infinity
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
    case(RECOMMEND, "4.0", 4),
    case(RECOMMEND, "4.00", 4),
    case(RECOMMEND, "five", 5),
    case(RECOMMEND, "zero", 0),
    case(RECOMMEND, "ten", 10),
    case(RECOMMEND, "seven out of ten", 7),
    case(RECOMMEND, "eleven", BAD),
    case(RECOMMEND, "five or six", BAD),
    case(STARS, "four", 4),
    case(STARS, "4.0", 4),
    case(STARS, "five stars", 5),
    case(STARS, "six", BAD),
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
    # Two days named, or a range: asked again, never one of them (nor another month).
    case(LAST_VISIT, "Nov 5-6", BAD),  # once May 6
    case(LAST_VISIT, "5-6 Nov", BAD),
    case(LAST_VISIT, "Nov 5/6", BAD),
    case(LAST_VISIT, "nov 5 or 6", BAD),  # once Nov 5
    case(LAST_VISIT, "5 or 6 nov", BAD),  # once Nov 6
    case(LAST_VISIT, "Nov 5 - 6", BAD),
    case(LAST_VISIT, "nov 5th or 6th", BAD),
    case(LAST_VISIT, "between nov 5 and 6", BAD),
    case(LAST_VISIT, "Nov 5 & 6", BAD),
    case(LAST_VISIT, "3-4 days ago", BAD),  # once March 4
    case(LAST_VISIT, "3 or 4 days ago", BAD),  # once 4 days ago
    case(LAST_VISIT, "three or four days ago", BAD),
    case(LAST_VISIT, "2 or 3 weeks ago", BAD),
    case(LAST_VISIT, "Nov 27, 26", date(2026, 11, 27)),  # a year, not a second day
    case(LAST_VISIT, "nov 5 at 3pm", date(2026, 11, 5)),
    case(LAST_VISIT, "nov 5th or so", date(2026, 11, 5)),
    # A weekday with its day of the month is that day, when they agree (TODAY is Friday 27).
    case(LAST_VISIT, "Friday the 13th", date(2026, 11, 13)),  # once Friday 20
    case(LAST_VISIT, "fri 13", date(2026, 11, 13)),
    case(LAST_VISIT, "Monday the 16th", date(2026, 11, 16)),  # once Monday 23
    case(LAST_VISIT, "last friday the 13th", date(2026, 11, 13)),
    case(LAST_VISIT, "friday 4th", BAD),  # Wednesday in November: which is wrong?
    case(LAST_VISIT, "Monday the 17th", BAD),
    case(NEXT_VISIT, "next friday the 4th", date(2026, 12, 4)),
    case(LAST_VISIT, "friday at 3pm", date(2026, 11, 20)),  # a time, not a day
    case(LAST_VISIT, "friday 10:30", date(2026, 11, 20)),
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
    case(LAST_VISIT, "the 28th", date(2026, 11, 28)),
    case(LAST_VISIT, "the 1st", date(2026, 11, 1)),
    case(LAST_VISIT, "on the 3rd", date(2026, 11, 3)),
    case(LAST_VISIT, "28th", date(2026, 11, 28)),
    case(LAST_VISIT, "the 31st", BAD),  # November has 30 days
    case(LAST_VISIT, "the 0th", BAD),
    case(LAST_VISIT, "friday", date(2026, 11, 20)),  # the latest Friday before today
    case(LAST_VISIT, "Friday", date(2026, 11, 20)),
    case(LAST_VISIT, "last friday", date(2026, 11, 20)),
    case(LAST_VISIT, "last tuesday", date(2026, 11, 24)),
    case(LAST_VISIT, "tuesday", date(2026, 11, 24)),
    case(LAST_VISIT, "on Monday", date(2026, 11, 23)),
    case(LAST_VISIT, "thurs", date(2026, 11, 26)),
    case(LAST_VISIT, "sat", date(2026, 11, 21)),
    case(LAST_VISIT, "next tuesday", date(2026, 12, 1)),
    case(LAST_VISIT, "tuesday or wednesday", BAD),
    case(LAST_VISIT, "Friday, Nov 20", date(2026, 11, 20)),
    case(LAST_VISIT, "3 days ago", date(2026, 11, 24)),
    case(LAST_VISIT, "three days ago", date(2026, 11, 24)),
    case(LAST_VISIT, "1 day ago", date(2026, 11, 26)),
    case(LAST_VISIT, "a week ago", date(2026, 11, 20)),
    case(LAST_VISIT, "2 weeks ago", date(2026, 11, 13)),
    case(LAST_VISIT, "3 years ago", BAD),
    case(LAST_VISIT, "it was yesterday", date(2026, 11, 26)),
    case(LAST_VISIT, "tomorrow", date(2026, 11, 28)),
    case(LAST_VISIT, "yesterday or today", BAD),
    case(NEXT_VISIT, "friday", date(2026, 12, 4)),  # min is today: the next Friday
    case(NEXT_VISIT, "tuesday", date(2026, 12, 1)),
    case(NEXT_VISIT, "today", date(2026, 11, 27)),
    case(NEXT_VISIT, "the 28th", date(2026, 11, 28)),
    case(NEXT_VISIT, "Dec 3", date(2026, 12, 3)),
    case(NEXT_VISIT, "yesterday", BAD),
    case(NEXT_VISIT, "Nov 20", date(2027, 11, 20)),  # SPEC 2: the nearest year that fits
    case(NEXT_VISIT, "last tuesday", BAD),
    case(THIS_MONTH, "Nov 1", date(2026, 11, 1)),
    case(THIS_MONTH, "the 1st", date(2026, 11, 1)),
    case(THIS_MONTH, "friday", date(2026, 11, 20)),
    case(THIS_MONTH, "today", date(2026, 11, 27)),
    case(THIS_MONTH, "Oct 31", BAD),
    case(THIS_MONTH, "tomorrow", BAD),
    case(THIS_MONTH, "4 weeks ago", BAD),
    case(BY_XMAS, "Dec 24", date(2026, 12, 24)),
    case(BY_XMAS, "Dec 25", date(2025, 12, 25)),  # SPEC 2: the nearest year that fits
    case(BY_XMAS, "12/25/2026", BAD),
    case(BY_XMAS, "the 25th", date(2026, 11, 25)),
    case(NEXT_VISIT, "the 3rd", date(2026, 12, 3)),  # the nearest month that fits
    case(NEXT_VISIT, "Feb 29", BAD),  # not in 2026: refused, never moved to 2028
    case(ENTERED_2026, "Dec 25", date(2026, 12, 25)),
    case(ENTERED_2026, "the 30th", date(2026, 11, 30)),
    case(BORN_LAST_CENTURY, "3/4/85", date(1985, 3, 4)),  # 19xx when only that fits
    case(BORN_LAST_CENTURY, "Mar 4", date(1999, 3, 4)),
    case(SEEN_BY_NOW, "the 28th", date(2026, 10, 28)),  # a month back: not in the future
    case(SEEN_BY_NOW, "Dec 25", date(2025, 12, 25)),  # max today: last year
]


def beside(q, read, expected, refused, order="MDY"):
    """A reply read as `expected`, and one with a weekday beside its date that is asked again."""
    return pytest.param(q, read, expected, refused, order, id=f"{q.id}:{order}:{refused!r}")


# A weekday beside a written date must be the date's (TODAY is Friday 27 November 2026;
# the 24th is a Tuesday, the 25th a Wednesday): one of the two is wrong, and which is unknown.
WEEKDAY_BESIDE_A_DATE = [
    beside(LAST_VISIT, "wednesday 11/25", date(2026, 11, 25), "tuesday 11/25"),  # once 11/25
    beside(LAST_VISIT, "Wed Nov 25", date(2026, 11, 25), "Tue Nov 25"),
    beside(LAST_VISIT, "tues. nov. 24th", date(2026, 11, 24), "tues. nov. 25th"),
    beside(
        LAST_VISIT,
        "wednesday the 25th of november",
        date(2026, 11, 25),
        "tuesday the 25th of november",
    ),
    beside(LAST_VISIT, "wed 2026-11-25", date(2026, 11, 25), "tue 2026-11-25"),
    beside(
        LAST_VISIT,
        "on Tuesday, November 24th, 2026",
        date(2026, 11, 24),
        "on Thursday, November 24th, 2026",
    ),
    beside(LAST_VISIT, "Nov 25, Wednesday", date(2026, 11, 25), "11/25 (tue)"),  # after it
    beside(LAST_VISIT, "11/24 tuesday", date(2026, 11, 24), "Nov 24, wed."),
    beside(LAST_VISIT, "tuesday 11/25/2025", date(2025, 11, 25), "tuesday 11/25/2026"),
    beside(LAST_VISIT, "thurs 11/26/26", date(2026, 11, 26), "thurs 11/26/25"),
    beside(LAST_VISIT, "tuesday 11/24 at 3pm", date(2026, 11, 24), "wednesday 11/24 at 3pm"),
    beside(LAST_VISIT, "last tuesday, 11/24", date(2026, 11, 24), "last monday, 11/24"),
    beside(LAST_VISIT, "tue 24/11", date(2026, 11, 24), "mon 24/11", "DMY"),
    beside(LAST_VISIT, "Fri 27.11.2026", date(2026, 11, 27), "Sat 27.11.2026", "DMY"),
    # The weekday of the year the date is read in: 20 November 2027 is a Saturday.
    beside(NEXT_VISIT, "saturday nov 20", date(2027, 11, 20), "friday nov 20"),
    # Alone, a weekday and a date read as before; a word that only looks like a weekday too.
    beside(LAST_VISIT, "tuesday", date(2026, 11, 24), "tuesday 11/25"),
    beside(LAST_VISIT, "11/25", date(2026, 11, 25), "11/25 tuesday"),
    beside(LAST_VISIT, "Friday the 13th", date(2026, 11, 13), "thursday the 13th of november"),
    beside(LAST_VISIT, "I sat down on 11/25", date(2026, 11, 25), "sat 11/25"),
    beside(LAST_VISIT, "11/25 sun was out", date(2026, 11, 25), "11/25 sun"),
    beside(LAST_VISIT, "tuesdays 11/25", date(2026, 11, 25), "tuesday, 11/25"),
]


@pytest.mark.parametrize(("q", "read", "expected", "refused", "order"), WEEKDAY_BESIDE_A_DATE)
def test_a_weekday_beside_a_date_is_the_dates(q, read, expected, refused, order):
    assert read_reply(q, read, today=TODAY, date_order=order) == expected
    got = read_reply(q, refused, today=TODAY, date_order=order)
    assert isinstance(got, Invalid), got


ALL_CASES = TEXT_CASES + CHOICE_CASES + MULTI_CASES + YESNO_CASES
ALL_CASES += NUMBER_CASES + SCALE_CASES + DATE_CASES
INVALID_CASES = [c for c in ALL_CASES if c.values[2] is BAD]
INVALID_CASES += [case(p.values[0], p.values[3], BAD, p.values[4]) for p in WEEKDAY_BESIDE_A_DATE]


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
    (CONTACT_OK, "yes but no", "Please reply YES or NO."),
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
    (AMOUNT, "1.000", "Please reply with just one number, like 42."),
    (AMOUNT, "five or six", "Please reply with just one number, like 42."),
    (HALF_OR_MORE, "0.4", "Please reply with a number of 0.5 or more, like 42."),
    (AT_LEAST_ZERO, "1" + "0" * 309, "Please reply with a number of at most 15 digits, like 42."),
    (
        AT_LEAST_ZERO,
        "1" + "0" * 309 + ".5",
        "Please reply with a number of at most 15 digits, like 42.",
    ),
    (AMOUNT, "1000000000000000", "Please reply with a number of at most 15 digits, like 42."),
    (
        STEPS,
        "-10000000000000000",
        "Please reply with a whole number of at most 15 digits, like 42.",
    ),
    (
        AT_MOST_TEN,
        "-1" + "0" * 20,
        "Please reply with a whole number of at most 15 digits, like 10.",
    ),
    (DAYS, "1" + "0" * 309, "Please reply with a number from 1 to 365."),  # the range first
    (NEXT_VISIT, "yesterday", "Please reply with a date on or after 11/27/2026, like 11/27/2026."),
    (
        THIS_MONTH,
        "Oct 3",
        "Please reply with a date from 11/1/2026 to 11/27/2026, like 11/27/2026.",
    ),
    (BY_XMAS, "12/25/2026", "Please reply with a date on or before 12/24/2026, like 11/27/2026."),
    (LAST_VISIT, "tuesday 11/25", "Please reply with a date, like 11/27/2026."),
    (
        NEXT_VISIT,
        "friday nov 20",
        "Please reply with a date on or after 11/27/2026, like 11/27/2026.",
    ),
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


STATIONERY = question(
    "stationery", "choice", choices=choices("Stationery", "Stationary", "Envelopes")
)
COLOURS = question("colours", "choice", choices=choices("Red", "Blue", "Green"))

NEAR_MISS_CASES = [
    (SATISFACTION, "satisfed", "Satisfied"),
    (SATISFACTION, "Satisfid", "Satisfied"),
    (SATISFACTION, "satisfied.", None),  # a valid reply is read, not confirmed
    (SATISFACTION, "sastified", "Satisfied"),  # a swap of two letters is one typo
    (SATISFACTION, "very satisifed", "Very satisfied"),
    (SATISFACTION, "vry satisfied", "Very satisfied"),  # not read as "satisfied" inside it
    (SATISFACTION, "unsatisfed", "Not satisfied"),  # by its value
    (SATISFACTION, "not satisfid", "Not satisfied"),
    (SATISFACTION, "very unsatisfied", None),  # names "unsatisfied": never its opposite
    (SATISFACTION, "so unsatisfied", None),
    (SATISFACTION, "satsfd", None),  # three typos in a short word is too far
    (SATISFACTION, "pooor", None),  # four letters: only an exact alias counts
    (SATISFACTION, "bda", None),
    (SATISFACTION, "2", None),
    (SATISFACTION, "very", None),
    (SATISFACTION, "hello", None),
    (SERVICE, "puncture repiar", None),  # "puncture" is already in it: read, not confirmed
    (SERVICE, "tyre chnage", "Tyre change"),
    (SERVICE, "punture", "Puncture repair"),
    (SERVICE, "ful service", "Full service"),
    (SERVICE, "tirse", "Tyre change"),  # by its alias
    (STATIONERY, "stationry", None),  # as close to two labels: never chosen between them
    (STATIONERY, "statonery", None),
    (STATIONERY, "envelops", "Envelopes"),
    (COLOURS, "gren", None),  # short words need an exact match
    (COLOURS, "bleu", None),
    (COLOURS, "greene", "Green"),
]


@pytest.mark.parametrize(("q", "reply", "label"), NEAR_MISS_CASES)
def test_near_miss(q, reply, label):
    found = near_miss(q, reply)
    assert (found and found.label) == label


# A reply to `Did you mean "Satisfied"? Reply YES or NO.`: True, False, or None when it is to
# be read as an answer to the question instead.
CONFIRMATION_CASES = [
    ("yes", True),
    ("Yes I do", True),
    ("Yess", True),
    ("yes please", True),
    ("no", False),
    ("No, not really", False),
    ("nope, never", False),
    ("no, 1", None),  # the answer after the no is the answer
    ("No, the first one", None),
    ("yes, satisfied", None),  # the same answer, read as one
    ("2", None),
    ("yes but no", None),  # neither: read as an answer, then asked again
    ("not sure", None),
]


@pytest.mark.parametrize(("reply", "expected"), CONFIRMATION_CASES)
def test_read_confirmation(reply, expected):
    assert read_confirmation(SATISFACTION, reply) is expected


@pytest.mark.parametrize("q", [TOPICS, CONTACT_OK, AMOUNT, NAME])
def test_no_near_miss_but_on_a_choice(q):
    assert near_miss(q, "parkng") is None


@pytest.mark.parametrize(
    ("q", "reply", "expected", "order"),
    [c for c in CHOICE_CASES if c.values[2] is not BAD],
)
def test_no_near_miss_on_a_valid_reply(q, reply, expected, order):
    assert near_miss(q, reply) is None
