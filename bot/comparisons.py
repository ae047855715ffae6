"""Comparisons in texts and conditions that an answer can never meet.

`answers.ok == "yes"` on a yes/no question (which stores true or false), or
`answers.sat == "Not satisfied"` when that choice's value is `unsatisfied`,
parse and run, and are never true: the branch or question they guard is
silently never taken. Each is found from the template's tree, against what
the question named can store (SPEC 1's table of types).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from jinja2 import nodes

from bot.model import LANGUAGE, Question

EQUALITY = ("eq", "ne")
MEMBERSHIP = ("in", "notin")
ORDER = ("lt", "gt", "lteq", "gteq")
CHOSEN = ("choice", LANGUAGE)  # store one value from a known list
NUMBERS = ("number", "scale")


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
                for value in _constants(left, many=False):
                    yield name, "has" if op in MEMBERSHIP else op, value, compare.lineno
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
    if many and isinstance(node, (nodes.List, nodes.Tuple)):
        return [item.value for item in node.items if isinstance(item, nodes.Const)]
    return []


def _judge(question: Question, op: str, value: Any, languages: tuple[str, ...]) -> str | None:
    """Why `answer OP value` is never true for this question's answers, or None."""
    kind = question.type
    if kind == "yesno" and op in EQUALITY and isinstance(value, str):
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
    return None


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
    wanted = str(value).casefold()
    for choice in question.choices:
        labels = choice.label.values() if isinstance(choice.label, dict) else [choice.label]
        if wanted in {choice.value.casefold(), *(str(label).casefold() for label in labels)}:
            return f' (did you mean "{choice.value}"?)'
    close = difflib.get_close_matches(str(value), [c.value for c in question.choices], n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _shown(value: Any) -> str:
    """A constant as the author wrote it: text in quotes, a number bare."""
    return f'"{value}"' if isinstance(value, str) else str(value).lower()


def _quoted(values: list[str] | tuple[str, ...]) -> str:
    """`"a", "b" or "c"`."""
    quoted = [f'"{value}"' for value in values]
    return " or ".join(filter(None, [", ".join(quoted[:-1]), quoted[-1]]))
