"""Translate XLSForm's XPath expressions into survey-file Jinja expressions with XPath's results.

An expression is tokenized, parsed by precedence climbing into a small tree, and
the tree is written out as Jinja. The survey's expressions run where an
unanswered question is missing and an expression that cannot be evaluated is
false, while XPath reads an unanswered field as the empty string (or NaN as a
number). So each operand is written for the type its operator needs, and a
number read from an answer carries a guard that says when it is a real number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# Survey question types whose stored answer is a Python number.
NUMERIC_TYPES = frozenset({"number", "scale"})
EQUALITY = {"=": "==", "!=": "!="}
RELATIONAL = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}
ARITHMETIC = {"+": "+", "-": "-", "*": "*", "div": "/", "mod": "mod"}
# Binary operators from the loosest to the tightest (XPath 1.0, section 3.4 to 3.5).
PRECEDENCE = (("or",), ("and",), ("=", "!="), ("<", "<=", ">", ">="), ("+", "-"))
PRECEDENCE += (("*", "div", "mod"),)
XPATH_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")  # what number('...') accepts
OPERATOR_NAMES = frozenset({"and", "or", "div", "mod"})
# Functions and how many arguments each takes.
FUNCTIONS = {
    "not": 1,
    "selected": 2,
    "count-selected": 1,
    "string-length": 1,
    "today": 0,
    "true": 0,
    "false": 0,
}

TOKEN = re.compile(
    r"""\s*(?:
      (?P<ref>\$\{\s*(?P<refname>[^}\s]*)\s*\})
    | (?P<number>\d+(?:\.\d*)?|\.\d+)
    | (?P<string>'[^']*'|"[^"]*")
    | (?P<op>!=|<=|>=|=|<|>|\+|-|\*|\(|\)|,)
    | (?P<name>[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)
    | (?P<dot>\.(?![.\d]))
    | (?P<other>\S+?)
    )""",
    re.VERBOSE,
)


class XPathError(ValueError):
    """An expression, or a part of it, that cannot be translated; `part` names that part."""

    def __init__(self, part: str, why: str = "is not supported"):
        super().__init__(f"{part} {why}")
        self.part = part


# -- the tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    """A number literal."""

    text: str


@dataclass(frozen=True)
class Str:
    """A string literal."""

    value: str


@dataclass(frozen=True)
class Ref:
    """`${name}`, or `.` (the current answer) when name is None."""

    name: str | None


@dataclass(frozen=True)
class Call:
    """A function call."""

    name: str
    args: tuple


@dataclass(frozen=True)
class Binary:
    """`left op right`."""

    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Neg:
    """`-operand`."""

    operand: object


# -- tokenizer and parser --------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    """One token: its kind (ref, number, string, op, name, dot) and its text."""

    kind: str
    text: str


def tokenize(source: str) -> list[Token]:
    """Split an expression into tokens; raise XPathError at anything outside the subset."""
    tokens, position = [], 0
    while source[position:].strip():
        match = TOKEN.match(source, position)
        kind = match.lastgroup
        if kind == "other":
            raise XPathError(_part_at(source, match.start("other")))
        text = match["refname"] if kind == "ref" else match[kind]
        tokens.append(Token(kind, text))
        position = match.end()
    return tokens


def _part_at(source: str, start: int) -> str:
    """The unsupported part of `source` that starts at `start`, for a warning."""
    return f'"{source[start:].split()[0]}"'


class _Parser:
    """Recursive descent over the tokens, binary operators by precedence climbing."""

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.at = 0

    def peek(self) -> Token | None:
        """The next token, or None at the end."""
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, text: str | None = None) -> Token:
        """Consume the next token (which must be `text` when given)."""
        token = self.peek()
        if token is None or (text is not None and token.text != text):
            found = f'"{token.text}"' if token else "the end"
            raise XPathError(found, f"is found where {text or 'a value'} was expected")
        self.at += 1
        return token

    def binary_op(self, level: int) -> str | None:
        """The next token if it is a binary operator of this precedence level."""
        token = self.peek()
        if token and token.kind in ("op", "name") and token.text in PRECEDENCE[level]:
            return token.text
        return None

    def expression(self, level: int = 0) -> object:
        """Parse operators of `level` and tighter."""
        if level == len(PRECEDENCE):
            return self.unary()
        left = self.expression(level + 1)
        while op := self.binary_op(level):
            self.take()
            left = Binary(op, left, self.expression(level + 1))
        return left

    def unary(self) -> object:
        """A minus sign before an operand, or an operand."""
        token = self.peek()
        if token and token.text == "-" and token.kind == "op":
            self.take()
            return Neg(self.unary())
        return self.primary()

    def primary(self) -> object:
        """A literal, a reference, a call or a bracketed expression."""
        token = self.take()
        if token.kind == "number":
            return Num(token.text)
        if token.kind == "string":
            return Str(token.text[1:-1])
        if token.kind == "ref":
            return Ref(token.text)
        if token.kind == "dot":
            return Ref(None)
        if token.text == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if token.kind == "name" and token.text not in OPERATOR_NAMES:
            return self.call(token.text)
        raise XPathError(f'"{token.text}"', "is not a value")

    def call(self, name: str) -> Call:
        """A function call whose name has just been read."""
        nxt = self.peek()
        if nxt is None or nxt.text != "(":
            raise XPathError(f'"{name}"', "(a path or name) is not supported")
        if name not in FUNCTIONS:
            raise XPathError(f"{name}()")
        self.take("(")
        args = []
        while self.peek() and self.peek().text != ")":
            args.append(self.expression())
            if self.peek() and self.peek().text == ",":
                self.take(",")
        self.take(")")
        if len(args) != FUNCTIONS[name]:
            raise XPathError(f"{name}()", f"takes {FUNCTIONS[name]} argument(s)")
        return Call(name, tuple(args))


MAX_PARTS = 200  # tokens of one expression: a condition a person writes has far fewer
MAX_DEPTH = 20  # brackets and minus signs within one another
MAX_DIGITS = 15  # a number's digits: what a float holds exactly


def parse(source: str) -> object:
    """The expression's tree; raise XPathError when it is outside the supported subset."""
    tokens = tokenize(source)
    _within_bounds(tokens)
    parser = _Parser(tokens)
    tree = parser.expression()
    if parser.peek() is not None:
        raise XPathError(f'"{parser.peek().text}"', "is not expected here")
    return tree


def _within_bounds(tokens: list[Token]) -> None:
    """XPathError for an expression too long, nested too deeply, or with a huge number.

    Parsing and the Jinja made from it recurse once per level: far past
    these a RecursionError would stop the import, or the file would not load.
    """
    if len(tokens) > MAX_PARTS:
        raise XPathError("the expression", f"has more than {MAX_PARTS} parts")
    depth = minus = 0  # open brackets; minus signs in a row (each may be one more level)
    for token in tokens:
        if token.kind == "number" and sum(c.isdigit() for c in token.text) > MAX_DIGITS:
            raise XPathError(f"{token.text[:20]}...", f"has more than {MAX_DIGITS} digits")
        depth += {"(": 1, ")": -1}.get(token.text, 0)
        minus = minus + 1 if token.text == "-" else 0
        if depth + minus > MAX_DEPTH:
            raise XPathError("the expression", f"is nested more than {MAX_DEPTH} deep")


def references(source: str) -> list[str]:
    """The names used as `${name}` in a text or expression, in order."""
    return re.findall(r"\$\{\s*([^}\s]*)\s*\}", source)


# -- writing Jinja ----------------------------------------------------------------------


@dataclass(frozen=True)
class Guard:
    """A condition under which a number read from an answer is a real number (not NaN)."""

    holds: str
    fails: str


@dataclass(frozen=True)
class Operand:
    """A number as Jinja text, valid only where every guard holds (else XPath's NaN)."""

    text: str
    guards: tuple[Guard, ...] = field(default=())


NEVER = Guard("false", "true")  # a string literal that is not a number: NaN


@dataclass(frozen=True)
class Scope:
    """What names mean: XLSForm name -> survey id, survey id -> type, and `.`'s type."""

    ids: Mapping[str, str]
    types: Mapping[str, str]
    current_type: str | None = None


def translate(source: str, scope: Scope) -> str:
    """The Jinja expression that is true exactly when the XPath expression is."""
    return _unwrap(_Writer(scope).boolean(parse(source)))


def _unwrap(text: str) -> str:
    """`text` without brackets around the whole of it, which an author need not read."""
    depth, quoted, escaped = 0, False, False
    for index, char in enumerate(text):
        if quoted:
            quoted, escaped = (escaped or char != "'"), (char == "\\" and not escaped)
        elif char == "'":
            quoted = True
        elif char in "()":
            depth += 1 if char == "(" else -1
            if depth == 0 and index < len(text) - 1:
                return text
    return text[1:-1] if text.startswith("(") else text


def _quote(text: str) -> str:
    """A Jinja string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _all(guards: tuple[Guard, ...], text: str) -> str:
    """`text`, evaluated only when every guard holds (false otherwise)."""
    return " and ".join([*dict.fromkeys(g.holds for g in guards), text])


def _any_fails(guards: tuple[Guard, ...], text: str) -> str:
    """`text`, or true when a guard fails."""
    return " or ".join([*dict.fromkeys(g.fails for g in guards), text])


class _Writer:
    """Writes a tree as Jinja, each operand in the type its operator reads it as."""

    def __init__(self, scope: Scope):
        self.scope = scope

    def answer(self, ref: Ref) -> tuple[str, str | None, bool]:
        """(Jinja text, question type, always present) of `${x}` or `.`."""
        if ref.name is None:
            if self.scope.current_type is None:
                raise XPathError('"."', "(the current answer) is only known in a constraint")
            return "value", self.scope.current_type, True
        if ref.name not in self.scope.ids:
            raise XPathError(f"${{{ref.name}}}", "is not a question asked before this one")
        qid = self.scope.ids[ref.name]
        return f"answers.{qid}", self.scope.types[qid], False

    def kind(self, node: object) -> str:
        """The XPath type a node gives: boolean, number, string, date or answer."""
        if isinstance(node, Num | Neg):
            return "number"
        if isinstance(node, Str):
            return "string"
        if isinstance(node, Ref):
            return "date" if self.answer(node)[1] == "date" else "answer"
        if isinstance(node, Binary):
            return "number" if node.op in ARITHMETIC else "boolean"
        return {"today": "date", "count-selected": "number", "string-length": "number"}.get(
            node.name, "boolean"
        )

    # boolean ------------------------------------------------------------------------

    def boolean(self, node: object) -> str:
        """Jinja text for the node read as XPath's boolean()."""
        if isinstance(node, Binary) and node.op in ("and", "or"):
            return f"({self.boolean(node.left)} {node.op} {self.boolean(node.right)})"
        if isinstance(node, Binary) and node.op in EQUALITY | RELATIONAL:
            return self.compare(node)
        if isinstance(node, Call) and node.name in ("not", "selected", "true", "false"):
            return self.logical_call(node)
        if isinstance(node, Ref):
            return self.answered(node)
        kind = self.kind(node)
        if kind == "number":
            number = self.number(node)
            return f"({_all(number.guards, f'{number.text} != 0')})"
        if kind == "string":
            return f"({self.string(node)} != '')"
        return "true"  # a date (today()) is never empty

    def answered(self, ref: Ref) -> str:
        """An answer read as a boolean: true when it is not empty."""
        text, qtype, present = self.answer(ref)
        if qtype == "multi":
            return f"({text} | default([]) | length > 0)"
        return "true" if present else f"({text} is defined)"

    def logical_call(self, node: Call) -> str:
        """not(), selected(), true() and false()."""
        if node.name in ("true", "false"):
            return node.name
        if node.name == "not":
            return f"(not {self.boolean(node.args[0])})"
        target, value = node.args
        if not isinstance(target, Ref):
            raise XPathError("selected()", "needs a question as its first argument")
        text, qtype, _ = self.answer(target)
        if qtype == "multi":
            return f"({self.string(value)} in ({text} | default([])))"
        return f"({self.string(target)} == {self.string(value)})"

    # comparisons --------------------------------------------------------------------

    def compare(self, node: Binary) -> str:
        """A comparison with XPath's rules for which type both sides are read as."""
        kinds = {self.kind(node.left), self.kind(node.right)}
        if node.op in EQUALITY and "boolean" in kinds:
            op = EQUALITY[node.op]
            return f"({self.boolean(node.left)} {op} {self.boolean(node.right)})"
        if node.op in RELATIONAL and "date" in kinds and "number" not in kinds:
            return self.compare_dates(node, kinds)
        if node.op in EQUALITY and "number" not in kinds:
            op = EQUALITY[node.op]
            return f"({self.string(node.left)} {op} {self.string(node.right)})"
        return self.compare_numbers(node)

    def compare_numbers(self, node: Binary) -> str:
        """Both sides as numbers: NaN (an empty or non-numeric answer) is only ever !=."""
        left, right = self.number(node.left), self.number(node.right)
        op = (EQUALITY | RELATIONAL)[node.op]
        test = f"{left.text} {op} {right.text}"
        guards = left.guards + right.guards
        return f"({_any_fails(guards, test) if op == '!=' else _all(guards, test)})"

    def compare_dates(self, node: Binary, kinds: set[str]) -> str:
        """Order two dates, or a date and a 'YYYY-MM-DD' string (as ISO text)."""
        as_text = "date" in kinds and kinds != {"date"}
        sides = [self.date(side, as_text) for side in (node.left, node.right)]
        test = f"{sides[0].text} {RELATIONAL[node.op]} {sides[1].text}"
        return f"({_all(sides[0].guards + sides[1].guards, test)})"

    def date(self, node: object, as_text: bool) -> Operand:
        """A date side of a comparison (a Operand in shape: text and when it exists)."""
        if isinstance(node, Call):
            return Operand("(today | string)" if as_text else "today")
        if isinstance(node, Ref) and self.kind(node) == "date":
            text, _, present = self.answer(node)
            guards = () if present else (Guard(f"{text} is defined", f"{text} is not defined"),)
            return Operand(f"({text} | string)" if as_text else text, guards)
        return Operand(self.string(node))

    # numbers and strings ------------------------------------------------------------

    def number(self, node: object) -> Operand:
        """The node read as XPath's number()."""
        if isinstance(node, Num):
            return Operand(str(float(node.text)) if "." in node.text else node.text)
        if isinstance(node, Str):
            return _literal_number(node.value)
        if isinstance(node, Neg):
            inner = self.number(node.operand)
            return Operand(f"(-{inner.text})", inner.guards)
        if isinstance(node, Binary) and node.op in ARITHMETIC:
            return self.arithmetic(node)
        if isinstance(node, Ref):
            return self.answer_number(node)
        if isinstance(node, Call) and node.name in ("count-selected", "string-length"):
            return Operand(self.counted(node))
        if self.kind(node) == "date":
            raise XPathError(f"{node.name}()", "in arithmetic is not supported")
        return Operand(f"(1 if {self.boolean(node)} else 0)")

    def arithmetic(self, node: Binary) -> Operand:
        """+ - * div mod; mod keeps the dividend's sign, as XPath's does."""
        left, right = self.number(node.left), self.number(node.right)
        guards = left.guards + right.guards
        if node.op == "mod":
            quotient = f"(({left.text} / {right.text}) | int)"
            return Operand(f"({left.text} - {right.text} * {quotient})", guards)
        return Operand(f"({left.text} {ARITHMETIC[node.op]} {right.text})", guards)

    def answer_number(self, ref: Ref) -> Operand:
        """An answer as a number: numeric answers as they are, others parsed."""
        text, qtype, present = self.answer(ref)
        if qtype in NUMERIC_TYPES:
            guards = () if present else (Guard(f"{text} is defined", f"{text} is not defined"),)
            return Operand(text, guards)
        if qtype == "date":
            raise XPathError(f"${{{ref.name}}}" if ref.name else '"."', "(a date) in arithmetic")
        parsed = f"({self.string(ref)} | float(none))"
        return Operand(parsed, (Guard(f"{parsed} is not none", f"{parsed} is none"),))

    def counted(self, node: Call) -> str:
        """count-selected() and string-length()."""
        (arg,) = node.args
        if node.name == "string-length":
            return f"({self.string(arg)} | length)"
        if not isinstance(arg, Ref):
            raise XPathError("count-selected()", "needs a question as its argument")
        text, qtype, present = self.answer(arg)
        if qtype == "multi":
            return f"({text} | default([]) | length)"
        return "1" if present else f"(1 if {text} is defined else 0)"

    def string(self, node: object) -> str:
        """The node read as XPath's string()."""
        if isinstance(node, Str):
            return _quote(node.value)
        if isinstance(node, Ref):
            return self.answer_string(node)
        kind = self.kind(node)
        if kind == "number":
            number = self.number(node)
            shown = f"({number.text} | string)"
            if not number.guards:
                return shown
            return f"({shown} if {' and '.join(g.holds for g in number.guards)} else 'NaN')"
        if kind == "date":
            return "(today | string)"
        return f"('true' if {self.boolean(node)} else 'false')"

    def answer_string(self, ref: Ref) -> str:
        """An answer as text: '' when unanswered, a multi's values joined by spaces."""
        text, qtype, present = self.answer(ref)
        if qtype == "multi":
            return f"({text} | default([]) | join(' '))"
        if present:
            return text if qtype in ("text", "choice") else f"({text} | string)"
        as_text = "" if qtype in ("text", "choice") else " | string"
        return f"({text} | default(''){as_text})"


def _literal_number(text: str) -> Operand:
    """A string literal read as a number; one that is not a number is NaN."""
    if not XPATH_NUMBER.fullmatch(text.strip()):
        return Operand("0", (NEVER,))
    value = float(text.strip())
    return Operand(str(int(value)) if value.is_integer() else repr(value))
