"""Comparisons in texts and conditions that an answer can never meet.

`answers.ok == "yes"` on a yes/no question (which stores true or false), or
`answers.sat == "Not satisfied"` when that choice's value is `unsatisfied`,
parse and run, and are never true: the branch or question they guard is
silently never taken. So are orderings of unlike values (`answers.sat > 3`,
`answers.when > "2026-01-01"`): Python refuses them when they run, and a
condition that fails is false. `answers.sat >= "3"` runs, but orders texts
alphabetically, never by the choices' place in the list. Each is found from the
template's tree, against what the question named can store (SPEC 1's table of types).
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Iterator
from typing import Any

from jinja2 import nodes

from bot.model import LANGUAGE, Question

EQUALITY = ("eq", "ne")
MEMBERSHIP = ("in", "notin")
ORDER = ("lt", "gt", "lteq", "gteq")
CHOSEN = ("choice", LANGUAGE)  # store one value from a known list
NUMBERS = ("number", "scale")
SYMBOLS = {"lt": "<", "gt": ">", "lteq": "<=", "gteq": ">="}
ORDERED = {"lt": operator.lt, "gt": operator.gt, "lteq": operator.le, "gteq": operator.ge}
FLIPPED = {"lt": "gt", "gt": "lt", "lteq": "gteq", "gteq": "lteq"}  # `3 < x` is `x > 3`


def never_met(
    tree: nodes.Template, questions: dict[str, Question], languages: tuple[str, ...]
) -> list[tuple[int, str]]:
    """(template line, message) of each comparison of an answer with what it never holds."""
    found = []
    for name, op, value, lineno in _comparisons(tree):
        question = questions.get(name)
        message = question and _judge(question, op, value, languages)
        if message:
            found.append((lineno, f"answers.{name} {message}"))
    return found


def _comparisons(tree: nodes.Template) -> Iterator[tuple[str, str, Any, int]]:
    """(question id, operator, constant, line) of each `answers.x OP constant` (either way
    round, and each constant of `answers.x in [...]`); the operator as if the answer came
    first, `in` reversed to `has` (`"a" in answers.x`)."""
    for compare in tree.find_all(nodes.Compare):
        left = compare.expr
        for operand in compare.ops:
            right, op = operand.expr, operand.op
            name = _answer(left)
            if name is not None:
                for value in _constants(right, many=op in MEMBERSHIP):
                    yield name, "eq" if op in MEMBERSHIP else op, value, compare.lineno
            elif (name := _answer(right)) is not None:
                seen = "has" if op in MEMBERSHIP else FLIPPED.get(op, op)
                for value in _constants(left, many=False):
                    yield name, seen, value, compare.lineno
            left = right


def _answer(node: nodes.Node) -> str | None:
    """The id of `answers.x` or `answers["x"]`, else None."""
    if not (isinstance(node, (nodes.Getattr, nodes.Getitem)) and isinstance(node.node, nodes.Name)):
        return None
    if node.node.name != "answers":
        return None
    if isinstance(node, nodes.Getattr):
        return node.attr
    arg = node.arg
    return arg.value if isinstance(arg, nodes.Const) and isinstance(arg.value, str) else None


def _constants(node: nodes.Node, many: bool) -> list[Any]:
    """The constant a node is (or, with `many`, the constants of a list written out)."""
    if isinstance(node, nodes.Const) and node.value is not None:
        return [node.value]
    if isinstance(node, nodes.Neg) and _is_number(getattr(node.node, "value", None)):
        return [-node.node.value]  # Jinja reads `-1` as the negation of 1
    if many and isinstance(node, (nodes.List, nodes.Tuple)):
        return [item.value for item in node.items if isinstance(item, nodes.Const)]
    return []


def _judge(question: Question, op: str, value: Any, languages: tuple[str, ...]) -> str | None:
    """Why `answer OP value` is never true for this question's answers, or None."""
    kind = question.type
    if kind == "yesno" and op in EQUALITY + ORDER and isinstance(value, str):
        return (
            f'is a yes/no answer, true or false, never "{value}": write answers.{question.id} '
            f"(or not answers.{question.id})"
        )
    if kind in CHOSEN and op in EQUALITY:
        return _not_a_value(question, value, languages)
    if kind == "multi" and op == "has":
        values = [choice.value for choice in question.choices]
        if value not in values:
            return (
                f"never holds {_shown(value)}: its picks are values of its choices, "
                f"{_quoted(values)}{_closest(value, question)}"
            )
    if kind == "multi" and op in EQUALITY and isinstance(value, str):
        return f'is a list of picks, never "{value}": write "{value}" in answers.{question.id}'
    if kind in NUMBERS and op in EQUALITY + ORDER and isinstance(value, str):
        return f'is a number, never the text "{value}": write {value} without quotes'
    if op in ORDER:
        return _unordered(question, op, value, languages)
    if kind == "date" and op in EQUALITY:
        return _not_a_date(question, op, value)
    if kind == "text" and op in EQUALITY and _is_number(value):
        return f'is a text, never the number {value}: write "{value}" in quotes'
    return None


def _unordered(question: Question, op: str, value: Any, languages: tuple[str, ...]) -> str | None:
    """Why `answer OP value` (OP one of <, >, <=, >=) never means what it says, or None."""
    kind, qid, written = question.type, question.id, f"{SYMBOLS[op]} {_shown(value)}"
    if kind == "yesno":  # against a number, yes and no order as 1 and 0: as meant
        return (
            None
            if _is_number(value)
            else (
                f"is a yes/no answer, true or false, which have no order ({written}): "
                f"write answers.{qid} (or not answers.{qid})"
            )
        )
    if kind == "multi":
        if _is_number(value):
            return (
                f"is a list of picks, never a number ({written} is never true): "
                f"to count the picks, write answers.{qid} | length {written}"
            )
        return (
            f"is a list of picks, never ordered ({written} is never true): "
            f"write {_shown(value)} in answers.{qid}"
        )
    if kind == "date":
        return _not_a_date(question, op, value)
    if kind == LANGUAGE:
        return (
            f"holds the code of a language, {_quoted(languages)}, which have no order "
            f'({written}): compare it with == or in, such as answers.{qid} == "{languages[0]}"'
        )
    if kind == "choice":
        return _unordered_choice(question, op, value)
    if kind == "text" and _is_number(value):
        return (
            f"is a text, never a number ({written} is never true): make it a number "
            f"question, or write answers.{qid} | float {written}"
        )
    return None


def _unordered_choice(question: Question, op: str, value: Any) -> str:
    """Why `answer OP value` on a choice never means what it says, and the `in` it means."""
    written = f"{SYMBOLS[op]} {_shown(value)}"
    if isinstance(value, str):
        why = f"a text, so {written} compares it alphabetically, not by the order of the choices"
    else:
        values = [choice.value for choice in question.choices]
        why = f"{_quoted(values)}, a text, never a number ({written} is never true)"
    meant = _meant(question, op, value)
    if meant is None:
        return f"holds the value of a choice, {why}: compare it with == or in"
    if not meant:
        return f"holds the value of a choice, {why}; no choice is {written}"
    return f"holds the value of a choice, {why}: write answers.{question.id} in [{_listed(meant)}]"


def _meant(question: Question, op: str, value: Any) -> list[str] | None:
    """The values of the choices `answer OP value` means: by number when every value and
    `value` are numbers, else by place from the choice `value` names; None if unknown."""
    values = [choice.value for choice in question.choices]
    if _is_number(value) and all(_number(v) is not None for v in values):
        return [v for v in values if _holds(_number(v), op, value)]
    at = _named(question, value)
    if at is None:
        return None
    return [v for i, v in enumerate(values) if _holds(i, op, at)]


def _named(question: Question, value: Any) -> int | None:
    """The place of the choice whose value or label is `value` (in any case), or None."""
    wanted = str(value).casefold()
    for at, choice in enumerate(question.choices):
        labels = choice.label.values() if isinstance(choice.label, dict) else [choice.label]
        if wanted in {choice.value.casefold(), *(str(label).casefold() for label in labels)}:
            return at
    return None


def _holds(left: float, op: str, right: float) -> bool:
    """`left OP right`."""
    return {"lt": left < right, "gt": left > right, "lteq": left <= right, "gteq": left >= right}[
        op
    ]


def _number(text: str) -> float | None:
    """The number a choice's value writes (`"5"`, `"2.5"`), or None."""
    try:
        return float(text)
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    """Whether a constant is a number (true and false are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _not_a_date(question: Question, op: str, value: Any) -> str:
    """Why a date answer is never equal to or ordered with a text or a number."""
    qid, symbol = question.id, {"eq": "==", "ne": "!=", **SYMBOLS}[op]
    if isinstance(value, str):
        return (
            f'is a date, never the text "{value}": compare it with today or another date '
            f'answer, or write answers.{qid}.isoformat() {symbol} "{value}"'
        )
    return (
        f"is a date, never the number {_shown(value)}: compare it with today or another "
        f"date answer, or a part of it, such as answers.{qid}.year {symbol} {_shown(value)}"
    )


def _not_a_value(question: Question, value: Any, languages: tuple[str, ...]) -> str | None:
    """Why a choice or language answer is never `value`, or None when it may be."""
    if question.type == LANGUAGE:
        if value in languages:
            return None
        return f"is never {_shown(value)}: it holds the code of a language, {_quoted(languages)}"
    values = [choice.value for choice in question.choices]
    if value in values:
        return None
    return (
        f"is never {_shown(value)}: it holds the value of a choice, "
        f"{_quoted(values)}{_closest(value, question)}"
    )


def _closest(value: Any, question: Question) -> str:
    """` (did you mean "v"?)`: the value of the choice `value` names (its label, its value
    in another case, its number as text), else the closest value, else nothing."""
    at = _named(question, value)
    if at is not None:
        return f' (did you mean "{question.choices[at].value}"?)'
    close = difflib.get_close_matches(str(value), [c.value for c in question.choices], n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _shown(value: Any) -> str:
    """A constant as the author wrote it: text in quotes, a number bare."""
    return f'"{value}"' if isinstance(value, str) else str(value).lower()


def _listed(values: list[str]) -> str:
    """`"a", "b"`: texts as a list is written in a condition."""
    return ", ".join(f'"{value}"' for value in values)


def _quoted(values: list[str] | tuple[str, ...]) -> str:
    """`"a", "b" or "c"`."""
    quoted = [f'"{value}"' for value in values]
    return " or ".join(filter(None, [", ".join(quoted[:-1]), quoted[-1]]))
