"""XLSForm expressions translated to survey expressions give XPath's results."""

from __future__ import annotations

from datetime import date

import pytest

from bot.templates import Expr
from xlsform.xpath import Scope, XPathError, parse, references, translate

TODAY = date(2026, 3, 15)
TYPES = {
    "age": "number",
    "score": "scale",
    "name": "text",
    "fruit": "choice",
    "level": "choice",
    "tops": "multi",
    "born": "date",
}
# XLSForm names -> survey ids: `Fruit-Kind` was renamed on import.
IDS = {"age": "age", "score": "score", "name": "name", "Fruit-Kind": "fruit"}
IDS |= {"level": "level", "tops": "tops", "born": "born"}


def evaluate(xpath: str, answers: dict, value=None, current_type: str | None = None) -> bool:
    """Translate `xpath` and evaluate it the way the bot evaluates a condition."""
    jinja = translate(xpath, Scope(IDS, TYPES, current_type))
    context = {"answers": answers, "today": TODAY, "value": value}
    return Expr.compile(jinja).is_true(context)


NONE: dict = {}
ADULT = {"age": 30, "name": "Ada", "fruit": "pear", "tops": ["a", "c"], "level": "2"}


@pytest.mark.parametrize(
    ("xpath", "answers", "expected"),
    [
        # An unanswered question is the empty string.
        ("${name} = ''", NONE, True),
        ("${name} = ''", ADULT, False),
        ("${name} != ''", NONE, False),
        ("${name} != ''", ADULT, True),
        ("${Fruit-Kind} = 'pear'", ADULT, True),
        ("${Fruit-Kind} = 'pear'", NONE, False),
        ("${Fruit-Kind} != 'pear'", NONE, True),
        ("${tops} = ''", NONE, True),
        ("${tops} = 'a c'", ADULT, True),
        # A comparison with a number compares numbers; an empty answer is NaN.
        ("${age} >= 18", ADULT, True),
        ("${age} >= 18", {"age": 17}, False),
        ("${age} >= 18", NONE, False),
        ("${age} < 18", NONE, False),
        ("${age} = 30", ADULT, True),
        ("${age} != 30", NONE, True),
        ("${age} != 30", ADULT, False),
        ("${age} = '30'", ADULT, True),
        ("${level} = 2", ADULT, True),
        ("${level} > 1", ADULT, True),
        ("${level} > 1", NONE, False),
        ("${level} != 2", NONE, True),
        ("${name} > 1", ADULT, False),
        ("'10' = 10.0", NONE, True),
        ("'abc' != 1", NONE, True),
        ("'abc' = 1", NONE, False),
        # Unanswered inside not() and or: the rest still decides, as in XPath.
        ("not(${age} > 18)", NONE, True),
        ("${age} > 18 or ${name} = ''", NONE, True),
        ("not(${Fruit-Kind} = 'pear') and ${name} = ''", NONE, True),
        ("not(selected(${tops}, 'a'))", NONE, True),
        # Functions.
        ("selected(${tops}, 'a')", ADULT, True),
        ("selected(${tops}, 'b')", ADULT, False),
        ("selected(${tops}, 'a')", NONE, False),
        ("selected(${Fruit-Kind}, 'pear')", ADULT, True),
        ("selected(${Fruit-Kind}, 'pear')", NONE, False),
        ("count-selected(${tops}) = 2", ADULT, True),
        ("count-selected(${tops}) = 0", NONE, True),
        ("count-selected(${tops}) >= 1", {"tops": []}, False),
        ("count-selected(${Fruit-Kind}) = 1", ADULT, True),
        ("string-length(${name}) = 3", ADULT, True),
        ("string-length(${name}) = 0", NONE, True),
        ("string-length(${age}) = 2", ADULT, True),
        ("true() and not(false())", NONE, True),
        # Arithmetic, with XPath's precedence and its mod.
        ("${age} + 5 = 35", ADULT, True),
        ("${age} * 2 - 10 div 2 = 55", ADULT, True),
        ("(${age} + 2) div 4 = 8", ADULT, True),
        ("${age} + 5 > 0", NONE, False),
        ("${age} + 5 != 0", NONE, True),
        ("${age} mod 7 = 2", ADULT, True),
        ("-7 mod 3 = -1", NONE, True),
        ("7 mod -3 = 1", NONE, True),
        ("-${age} < 0", ADULT, True),
        ("${age} + ${score} > 0", {"age": 3}, False),
        ("2 + 3 * 4 = 14", NONE, True),
        ("1 < 2 = 1", NONE, True),
        # Dates compare with today() and with ISO date strings.
        ("${born} < today()", {"born": date(2000, 1, 2)}, True),
        ("${born} < today()", NONE, False),
        ("${born} >= '2000-01-01'", {"born": date(2000, 1, 2)}, True),
        ("${born} >= '2000-01-01'", {"born": date(1999, 12, 31)}, False),
        ("${born} = ''", NONE, True),
        ("${born} = today()", {"born": TODAY}, True),
        ("${born} != today()", NONE, True),
        # A bare answer is true when the question has an answer.
        ("${name}", ADULT, True),
        ("${name}", NONE, False),
        ("${tops}", {"tops": []}, False),
        ("${age} and ${tops}", ADULT, True),
        ("count-selected(${tops})", ADULT, True),
        ("string-length(${name})", NONE, False),
        ("\"double\" = 'double'", NONE, True),
        # Brackets and quotes survive the tidying of the outer brackets.
        ("(${age} > 40) or (${age} < 31)", ADULT, True),
        ("${name} = ')(' or ${name} = 'Ada'", ADULT, True),
        ('${name} = "it\'s"', {"name": "it's"}, True),
    ],
)
def test_translation_gives_xpath_results(xpath, answers, expected):
    assert evaluate(xpath, answers) is expected


@pytest.mark.parametrize(
    ("xpath", "value", "current_type", "expected"),
    [
        (". >= 0 and . <= 120", 42, "number", True),
        (". >= 0 and . <= 120", 130, "number", False),
        (". != 5", 5, "scale", False),
        ("string-length(.) <= 10", "short", "text", True),
        ("string-length(.) <= 10", "far too long a name", "text", False),
        ("count-selected(.) <= 2", ["a", "b", "c"], "multi", False),
        ("not(selected(., 'none') and count-selected(.) > 1)", ["none", "a"], "multi", False),
        ("not(selected(., 'none') and count-selected(.) > 1)", ["none"], "multi", True),
        (". <= today()", date(2026, 3, 15), "date", True),
        (". <= today()", date(2026, 3, 16), "date", False),
        (". > ${age}", 31, "number", True),
        (". = 'pear'", "pear", "choice", True),
    ],
)
def test_the_current_answer_in_a_constraint(xpath, value, current_type, expected):
    assert evaluate(xpath, ADULT, value, current_type) is expected


@pytest.mark.parametrize(
    ("xpath", "jinja"),
    [
        ("${age} >= 18", "answers.age is defined and answers.age >= 18"),
        ("${age} != 18", "answers.age is not defined or answers.age != 18"),
        ("${Fruit-Kind} = 'pear'", "(answers.fruit | default('')) == 'pear'"),
        ("selected(${tops}, 'a')", "'a' in (answers.tops | default([]))"),
        (". > 0", "value > 0"),
        ("(. > 0) or (. < -1)", "(value > 0) or (value < (-1))"),
    ],
)
def test_common_conditions_read_plainly(xpath, jinja):
    current = "number" if "." in xpath else None
    assert translate(xpath, Scope(IDS, TYPES, current)) == jinja


@pytest.mark.parametrize(
    ("xpath", "part"),
    [
        ("pulldata('x', 'y', 'z', 1) > 2", "pulldata()"),
        ("if(${age} > 3, 1, 0) = 1", "if()"),
        ("/data/age > 3", '"/data/age"'),
        ("../age > 3", '"../age"'),
        ("${calc} = 1", "${calc}"),
        ("${age} > ", "the end"),
        ("${age} > 3)", '")"'),
        ("selected(${tops})", "selected()"),
        ("today() + 1 > 3", "today()"),
        ("${born} + 1 > 3", "${born}"),
        ("age > 3", '"age"'),
        ("${age} > 3 | ${age} < 1", '"|"'),
        ("(${age} > 3", "the end"),
    ],
)
def test_what_cannot_be_translated_is_named(xpath, part):
    with pytest.raises(XPathError) as caught:
        translate(xpath, Scope(IDS, TYPES))
    assert caught.value.part == part


def test_the_current_answer_outside_a_constraint_is_refused():
    with pytest.raises(XPathError, match="constraint"):
        translate(". > 3", Scope(IDS, TYPES))


def test_parse_builds_a_tree_by_precedence():
    tree = parse("1 + 2 * 3 = 7 or ${a} and not(${b})")
    assert type(tree).__name__ == "Binary" and tree.op == "or"
    assert tree.left.op == "=" and tree.left.left.op == "+" and tree.left.left.right.op == "*"
    assert tree.right.op == "and"


def test_references_lists_every_name():
    assert references("${a} > 1 and ${ b } = ${Fruit-Kind}") == ["a", "b", "Fruit-Kind"]
