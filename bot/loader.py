"""Read and check one survey file, reporting every problem at once with its line."""

from __future__ import annotations

import difflib
import functools
import hashlib
import operator
import re
import unicodedata
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from jinja2 import nodes
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.comparisons import never_met
from bot.design_keys import DESIGN_KEYS, DesignKeys
from bot.model import (
    COMMAND_WORDS,
    END,
    EXPORT_COLUMNS,
    LANGUAGE,
    NOTE,
    QUESTION_TYPES,
    TEST_COLUMN,
    Branch,
    Choice,
    Question,
    SendWindow,
    Survey,
    parse_window,
)
from bot.outcomes import AUTHOR_OUTCOMES
from bot.replies import TODAY
from bot.shown import join_labels
from bot.templates import ENV, Expr, TemplateError, Text, limit_problems, parsed, undeclared
from bot.values import MULTI_SEPARATOR, NUMBER_DIGITS, NUMBER_LIMIT
from bot.words import ENGLISH, LANGUAGE_NAMES, LANGUAGES, plain

SURVEY_KEYS = (
    "id",
    "title",
    "keywords",
    "default",
    "intro",
    "outro",
    "reminder",
    "help",
    "max_retries",
    "expire_after",
    "date_order",
    "timezone",
    "send_window",
    "smart_encoding",
    "languages",
    "partial_after",
    "recontact",
    *DESIGN_KEYS,
    "questions",
)
QUESTION_KEYS = (
    "id",
    "type",
    "text",
    "choices",
    "min",
    "max",
    "integer",
    "max_length",
    "optional",
    "when",
    "next",
    "error",
    "constraint",
    "shuffle_choices",
)
CHOICE_KEYS = ("label", "value", "aliases", "fixed")
BRANCH_KEYS = ("if", "goto", "outcome")
# The keys each level must have (surveys/survey.schema.json says the same).
REQUIRED = {
    "survey": ("questions",),
    "question": ("id", "type", "text"),
    "choice": ("label",),
    "next": ("if", "goto"),
}
DATE_ORDERS = ("MDY", "DMY")
# What authors reach for on an answer: it prints as the label already.
ANSWER_FIELDS = ("label", "labels", "value", "text")
LEAST_CHOICES = 2  # fewer is no choice: one alone is only warned about, none refused

# Which question types each type-specific key applies to.
USED_BY = {
    "choices": ("choice", "multi"),
    "min": ("multi", "number", "scale", "date"),
    "max": ("multi", "number", "scale", "date"),
    "integer": ("number",),
    "max_length": ("text",),
}

# A note takes no reply, so nothing about reading one applies to it.
REPLY_KEYS = ("optional", "next", "error", "constraint")
LANGUAGE_CODE = re.compile(r"[a-z]{2}")  # ISO 639-1

# The names a template or expression sees (SPEC 1), besides the loop variables and
# `{% set %}` names it defines and Jinja's own globals such as range(); a
# constraint also sees `value`, the reply as read.
VISIBLE = ("answers", "survey", "today", "arm", "outcome")
CONSTRAINT_VISIBLE = ("value",)

# `answers.items` in a template means the dict method, never the answer: refuse such ids.
RESERVED_IDS = frozenset(name for name in dir(dict) if not name.startswith("_")) | {END}

QUESTION_ID = re.compile(r"[a-z][a-z0-9_]*")
SURVEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
DURATION = re.compile(r"(\d+)([smhd])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

Pair = tuple[Node, Node]  # a key node and its value node
Fields = dict[str, Pair]  # a mapping's keys by name

_TAG = "tag:yaml.org,2002:"
BOOL, INT, FLOAT, NULL = (_TAG + name for name in ("bool", "int", "float", "null"))


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a survey file, at a line an author can go to."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class SurveyError(Exception):
    """A survey file that does not load, with every problem found in it."""

    def __init__(
        self,
        problems: list[Problem],
        warnings: list[Problem] | tuple = (),
        partial: Survey | None = None,
    ):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems
        # What else an author should hear about in the same round: the warnings, and
        # the survey as far as it was read (its id, keywords and default, for conflicts).
        self.warnings = list(warnings)
        self.partial = partial


class Yaml12Loader(yaml.SafeLoader):
    """A SafeLoader that resolves plain scalars by the YAML 1.2 core schema."""

    # Only these resolvers, so `yes`, `on`, `1:30` and `2026-11-27` stay strings.
    yaml_implicit_resolvers: dict[str, list[Any]] = {}


# libyaml's parser where PyYAML was built with it: the same nodes, ten times faster.
_CParser = getattr(yaml, "CSafeLoader", None)


class _CYaml12Loader(_CParser or Yaml12Loader):  # type: ignore[misc]
    """Yaml12Loader's resolution on libyaml's parser (Yaml12Loader itself without it)."""

    yaml_implicit_resolvers: dict[str, list[Any]] = {}


for _tag, _pattern, _first in (
    (BOOL, r"true|True|TRUE|false|False|FALSE", "tTfF"),
    (INT, r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        FLOAT,
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+.0123456789",
    ),
    (NULL, r"~|null|Null|NULL|", ["~", "n", "N", ""]),
):
    for _loader in (Yaml12Loader, _CYaml12Loader):
        _loader.add_implicit_resolver(_tag, re.compile(rf"^(?:{_pattern})$"), list(_first))


def compose_yaml(text: str) -> Node | None:
    """The YAML node tree of `text`, read by libyaml where available.

    A file libyaml refuses is read again by PyYAML's own parser, whose error
    messages (and the hints keyed on them) are the ones authors see.
    """
    if _CParser is not None:
        try:
            return yaml.compose(text, Loader=_CYaml12Loader)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=Yaml12Loader)


def load_survey(data: bytes, path: str, limits: bool = True) -> Survey:
    """Parse and check a survey file's bytes; raise SurveyError listing every problem.

    `limits=False` for a version stored when it was served: it keeps loading
    even where a template limit added since would refuse it (its renders stay
    within the run-time budget all the same).
    """
    reader = _Reader(path, limits)
    try:
        text = reader.decode(data)
        root = reader.compose(text) if text is not None else None
        survey = reader.survey(root, data, text) if root is not None else None
    except RecursionError:  # brackets nested thousands deep, in the YAML or a template
        raise SurveyError([Problem(path, 1, "the file is nested too deeply to read")]) from None
    if reader.problems or survey is None:
        raise SurveyError(  # each once: a check run per language may find one twice
            sorted(dict.fromkeys(reader.problems), key=lambda p: p.line),
            sorted(reader.warnings, key=lambda p: p.line),
            survey,
        )
    return survey


def as_keyword(word: str) -> str:
    """The form keywords are stored and compared in: NFKC, trimmed, upper case."""
    return unicodedata.normalize("NFKC", word).strip().upper()


def line_of(survey: Survey, key: str, item: str | None = None) -> int:
    """The line of a top-level `key` in a loaded survey (of `item` in its list, or in its
    lists per language); 1 if absent."""
    lines = survey.key_lines or _top_lines(survey.source)
    key_line, items = lines.get(key, (1, {}))
    return items.get(item, key_line) if item else key_line


@functools.lru_cache(maxsize=256)
def _top_lines(source: str) -> dict[str, tuple[int, dict[str, int]]]:
    """`_key_lines` of a source composed again (a survey not made by `load_survey`): once per
    source, not once per message the cost check looks at."""
    return _key_lines(compose_yaml(source))


def _key_lines(root: MappingNode) -> dict[str, tuple[int, dict[str, int]]]:
    """Each top-level key's line, with the line of each scalar in its list(s)."""
    found: dict[str, tuple[int, dict[str, int]]] = {}
    for key_node, value_node in reversed(root.value):  # the first one wins
        if not isinstance(key_node, ScalarNode):
            continue
        lists = [v for _, v in value_node.value] if _is_language_map(value_node) else [value_node]
        nodes = [n for v in lists for n in (v.value if isinstance(v, SequenceNode) else [v])]
        items: dict[str, int] = {}
        for node in reversed(nodes):
            if isinstance(node, ScalarNode):
                items[as_keyword(node.value)] = _line(node)
        found[key_node.value] = (_line(key_node), items)
    return found


def _line(node: Node) -> int:
    """The 1-based line a node starts on."""
    return node.start_mark.line + 1


def _scalar(node: ScalarNode) -> Any:
    """The value of a scalar: bool, int, float, None or str (YAML 1.2 core schema)."""
    text = node.value
    try:
        if node.tag == BOOL:
            return text.lower() == "true"
        if node.tag == INT:
            return int(text, 0) if text[:2] in ("0o", "0x") else int(text)
        if node.tag == FLOAT:
            return float(text.lower().replace(".inf", "inf").replace(".nan", "nan"))
    except ValueError:  # an explicit `!!int abc`: keep the text
        return text
    return None if node.tag == NULL else text


def _first_on(first: Node | int, here: Node) -> str:
    """` (first on line N)`, unless the first one is on the same line."""
    line = first if isinstance(first, int) else _line(first)
    return "" if line == _line(here) else f" (first on line {line})"


def _did_you_mean(word: str, options: list[str] | tuple[str, ...]) -> str:
    """` (did you mean "x"?)` for the closest option, or nothing."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _unknown_key(key: str, allowed: tuple[str, ...]) -> str:
    """The message for a key that is not in `allowed`, or that belongs at another level."""
    if key == "<<":  # YAML 1.1's merge key: 1.2 reads it as a key like any other
        return 'unknown key "<<": survey files have no merge keys (YAML 1.2); write each key out'
    if allowed is SURVEY_KEYS and key in QUESTION_KEYS:  # lost its indentation
        return (
            f'unknown key "{key}": it is a question\'s key; indent it under its question, '
            "in line with the question's id"
        )
    if allowed is QUESTION_KEYS and key in SURVEY_KEYS:
        where = "write it at the start of a line, as title: is"
        return f'unknown key "{key}": it is a survey key; {where}'
    hint = _did_you_mean(key, allowed) or f" (the keys here are: {', '.join(allowed)})"
    return f'unknown key "{key}"{hint}'


def _or_list(words: list[str]) -> str:
    """`a, b or c`."""
    return " or ".join(filter(None, [", ".join(words[:-1]), words[-1]]))


def _only_for(key: str) -> str:
    """The message for a key on a question type that does not use it."""
    return f"{key} is only used by {join_labels(list(USED_BY[key]))} questions"


def choice_key(text: str) -> str:
    """A choice text as replies are compared with it: folded, trimmed, one space."""
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return folded.strip(".,;:!?()[]#'\"*- ")


def parse_duration(text: str) -> timedelta | None:
    """`30m`, `24h`, `2d`, `90s` or a sum such as `1h30m`; None if it is not one."""
    compact = "".join(text.lower().split())
    parts = DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        return None
    return sum((timedelta(**{UNITS[u]: int(n)}) for n, u in parts), timedelta())


def duration_text(span: timedelta) -> str:
    """A duration as authors write one: `4d4h`, `90m` is `1h30m`."""
    seconds = int(span.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


# Plain-words hints for the YAML mistakes authors make most.
_YAML_HINTS = (
    ("mapping values are not allowed", 'a text containing ": " must be put in quotes'),
    ("'\\t'", "indent with spaces, not tabs"),
    ("'%' that cannot start", "a text that starts with {% must be put in quotes"),
    ("'@' that cannot start", "a text that starts with @ must be put in quotes"),
    ("'`' that cannot start", "a text that starts with ` must be put in quotes"),
    ("expected <block end>", "the indentation is off: keys at one level must line up"),
    ("end of stream", "a quote is never closed"),
    ("<stream end>", "a bracket is never closed"),
    ("single document", "the file holds more than one document (a line with ---)"),
)


# `-id: b`, a list item whose dash has no space after it: YAML reads a key named "-id".
_NO_SPACE_AFTER_DASH = re.compile(r"\s*-([a-z_]+):")

# A line whose only `key:` is where PyYAML stopped: it is indented too far, not unquoted.
_KEY_ONLY = re.compile(r"\s*(?:-\s+)?[\w.-]+\s*")


def _yaml_message(err: yaml.MarkedYAMLError, line: str) -> str:
    """PyYAML's complaint, with a hint in plain words when there is one."""
    problem = err.problem or "does not parse"
    hint = next((h for needle, h in _YAML_HINTS if needle in problem), "")
    column = err.problem_mark.column if err.problem_mark else -1
    if "mapping values are not allowed" in problem and _KEY_ONLY.fullmatch(line[:column]):
        hint = "this line is indented further than the one above it: keys at one level must line up"
    if re.search(r"[:-]\s+\{[{%]", line):  # `text: {{ x }}, hi` reads as a YAML {mapping}
        hint = "a text that starts with {{ or {% must be put in quotes"
    return f"not valid YAML: {problem}" + (f" ({hint})" if hint else "")


def _template_message(err: TemplateError, source: str = "") -> str:
    """Jinja's message in words an author can act on."""
    message = str(err).rstrip(".")
    if m := re.search(r"innermost block that needs to be closed is '(\w+)'", message):
        return f"{{% {m[1]} %}} is never closed (add {{% end{m[1]} %}})"
    if m := re.fullmatch(r"Encountered unknown tag '(\w+)'", message):
        tag = m[1]
        return (
            f"{{% {tag} %}} has no matching {{% {tag[3:]} %}}"
            if tag.startswith("end")
            else f"unknown tag {{% {tag} %}}"
        )
    if message == "chunk after expression":
        return "unexpected text after the condition" + _comparison_hint(source)
    if message == "unexpected 'end of template'":
        return "it stops too early"
    return message[:1].lower() + message[1:]


def _condition_message(err: TemplateError, source: str) -> str:
    """Why a condition does not parse, for the mistakes authors make in one."""
    if "{{" in source or "{%" in source:  # written as a text: `{{ answers.x }} > 3`
        if_tag = re.search(r"\{%-?\s*(?:el)?if\s+(.*?)\s*-?%\}", source)
        bare = if_tag[1] if if_tag else re.sub(r"\{\{-?|-?\}\}", " ", source)
        return "a condition is written without {{ }} or {% %}, such as " + " ".join(bare.split())
    message = _template_message(err, source)
    if message.endswith(")"):  # a hint already
        return message
    if re.search(r"&&|\|\||!(?!=)", source):
        return message + " (write and, or and not rather than &&, || and !)"
    if re.search(r"\b(?:AND|OR|NOT|And|Or|Not)\b", source):
        return message + " (write and, or and not in lower case)"
    return message


def _comparison_hint(source: str) -> str:
    """What the author probably meant by a stray `=` in a condition, if it is one."""
    if m := re.search(r"=\s*([<>])", source):  # `=>` or `=<`
        return f" (to compare, use {m[1]}= rather than ={m[1]})"
    if re.search(r"(?<![=!<>])=(?!=)", source):
        return " (to compare, use == rather than =)"
    return ""


class Local(dict):
    """A value given per language (code to value, every survey language filled in)."""


def _is_language_map(node: Node) -> bool:
    """True for a mapping whose keys are all language codes: `{en: Hi, es: Hola}`."""
    return (
        isinstance(node, MappingNode)
        and bool(node.value)
        and all(
            isinstance(key, ScalarNode) and LANGUAGE_CODE.fullmatch(key.value)
            for key, _ in node.value
        )
    )


def _in_language(value: Any, code: str) -> Any:
    """`value` with every Local in it (in a question, a choice, a tuple) taken in `code`."""
    if type(value) in _ONE_FOR_ALL:
        return value
    if isinstance(value, Local):
        return value[code]
    if isinstance(value, tuple):
        local = tuple(_in_language(item, code) for item in value)
        return value if _same(local, value) else local
    if isinstance(value, Question | Choice):
        names, read = _FIELDS[type(value)]
        given = read(value)
        local = [v if type(v) in _ONE_FOR_ALL else _in_language(v, code) for v in given]
        if _same(local, given):
            return value  # nothing in it is per language: shared, not copied
        return replace(value, **dict(zip(names, local, strict=True)))
    return value


# Values that hold no Local: most of a question's fields, looked at once per language.
_ONE_FOR_ALL = frozenset({str, int, float, bool, type(None), date, Text, Expr})
_FIELDS = {  # each kind's field names, and a reader of their values in that order
    kind: (names, operator.attrgetter(*names))
    for kind in (Question, Choice)
    for names in [tuple(f.name for f in fields(kind))]
}


def _same(items: Iterable[Any], others: Iterable[Any]) -> bool:
    """Whether two sequences hold the very same objects."""
    return all(map(operator.is_, items, others))


def _translations(survey: Survey, languages: tuple[str, ...]) -> dict[str, Survey]:
    """The survey in each of its languages, each knowing all the others."""
    translations: dict[str, Survey] = {}
    for code in languages:
        changes = {f.name: _in_language(getattr(survey, f.name), code) for f in fields(survey)}
        translations[code] = replace(survey, **{**changes, "translations": translations})
    return translations


@dataclass
class _Template:
    """A compiled text or condition, kept to check its `answers.x` after all ids are known."""

    key: Node
    value: Node
    source: str
    condition: bool
    before: int | None = None  # the first question it cannot name: not asked yet; None: any


class _Reader(DesignKeys):
    """Turns one file's YAML tree into a Survey, collecting every problem on the way."""

    did_you_mean = staticmethod(_did_you_mean)  # for the design keys' messages

    def __init__(self, path: str, limits: bool = True):
        self.path = path
        self.limits = limits
        self.problems: list[Problem] = []
        self.templates: list[_Template] = []
        # (goto key, target) of every `next` entry, checked once all ids are known
        self.gotos: list[tuple[Node, str]] = []
        self.position: int | None = None  # the index of the question being read
        self.warnings: list[Problem] = []
        self.languages: tuple[str, ...] = (ENGLISH,)
        self.keyword_languages: dict[str, str] = {}

    def problem(self, where: Node | int, message: str) -> None:
        """Record a problem at a node's line (or at a line number)."""
        line = where if isinstance(where, int) else _line(where)
        self.problems.append(Problem(self.path, line, message))

    def warn(self, where: Node, message: str) -> None:
        """Record something that loads but an author should look at."""
        self.warnings.append(Problem(self.path, _line(where), message))

    def decode(self, data: bytes) -> str | None:
        """The file's text, or None (and a problem) when it is not UTF-8."""
        try:  # strict, and keeping a BOM: source.encode() must give back the same version
            return data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data[: err.start].count(b"\n") + 1
            self.problem(line, "the file is not UTF-8 text; save it with the UTF-8 encoding")
            return None

    def compose(self, text: str) -> Node | None:
        """The YAML node tree, or None (and a problem) when the YAML does not parse."""
        try:
            root = compose_yaml(text)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line = mark.line + 1 if mark else 1
            lines = text.splitlines()
            for at in (line, line - 1):  # `-id: b`: PyYAML stops on it or on the line after
                if dash := _NO_SPACE_AFTER_DASH.match("".join(lines[at - 1 : at])):
                    self.problem(
                        at,
                        'not valid YAML: put a space after the "-" that starts a list item '
                        f'("- {dash[1]}", not "-{dash[1]}")',
                    )
                    return None
            self.problem(line, _yaml_message(err, "".join(lines[line - 1 : line])))
            return None
        except yaml.reader.ReaderError as err:
            line = text[: err.position].count("\n") + 1
            self.problem(
                line, f"the file contains a character that is not allowed (#x{err.character:04x})"
            )
            return None
        if root is None:
            self.problem(1, "the file is empty; a survey needs at least questions:")
        return root

    # -- value readers: each takes the (key node, value node) pair of one key ------------

    def fields(self, node: MappingNode, allowed: tuple[str, ...]) -> Fields:
        """The keys of a mapping by name, reporting unknown and repeated ones."""
        found: Fields = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if key is None:
                self.problem(key_node, "a key must be a plain word followed by a colon")
            elif key not in allowed:
                self.problem(key_node, _unknown_key(key, allowed))
            elif key in found:
                self.problem(key_node, f'"{key}" is set twice' + _first_on(found[key][0], key_node))
            else:
                found[key] = (key_node, value_node)
        return found

    def text(self, key: str, pair: Pair) -> str | None:
        """A text value (numbers count as text); None with a problem otherwise."""
        key_node, node = pair
        if isinstance(node, ScalarNode) and node.tag != NULL:
            return node.value
        if isinstance(node, ScalarNode):
            self.problem(key_node, f"{key} is empty")
        elif isinstance(node, MappingNode) and node.flow_style:
            self.problem(key_node, f"{key} starts with {{ so it must be put in quotes")
        else:
            self.problem(key_node, f"{key} must be text, not a list or a set of keys")
        return None

    def typed(self, key: str, pair: Pair, types: tuple[str, ...], what: str) -> Any:
        """A scalar of one of the YAML `types`; None with `key must be WHAT` otherwise."""
        key_node, node = pair
        if isinstance(node, ScalarNode) and node.tag in types:
            return _scalar(node)
        hint = ""
        yes_no = isinstance(node, ScalarNode) and node.value.lower() in ("yes", "no", "on", "off")
        if BOOL in types and yes_no:
            hint = f' ("{node.value}" is text here: write true or false)'
        self.problem(key_node, f"{key} must be {what}{hint}")
        return None

    def whole(self, key: str, pair: Pair, least: int = 0) -> int | None:
        """A whole number of at least `least`."""
        value = self.typed(key, pair, (INT,), "a whole number")
        if value is not None and value < least:
            self.problem(pair[0], f"{key} must be {least} or more")
            return None
        return value

    def number(self, key: str, pair: Pair) -> int | float | None:
        """Any number, whole or decimal."""
        return self.typed(key, pair, (INT, FLOAT), "a number")

    def flag(self, key: str, pair: Pair) -> bool | None:
        """true or false."""
        return self.typed(key, pair, (BOOL,), "true or false")

    def items(self, key: str, pair: Pair) -> list[Node]:
        """The items of a list; a single value counts as a list of one."""
        node = pair[1]
        if isinstance(node, SequenceNode):
            return node.value
        if isinstance(node, ScalarNode) and node.tag != NULL:
            return [node]
        self.problem(pair[0], f"{key} must be a list")
        return []

    def template(self, key: str, pair: Pair, condition: bool = False) -> Any:
        """A compiled Text (or Expr when `condition`); None with a problem if it does not parse."""
        source = self.text(key, pair)
        if source is None:
            return None
        try:
            compiled = Expr.compile(source) if condition else Text.compile(source)
        except TemplateError as err:
            what = f'condition "{source.strip()}"' if condition else f"{key} template"
            self.problem(
                self.inner_line(pair, err.lineno),
                f"{what} does not parse: "
                + (
                    _condition_message(err, source) if condition else _template_message(err, source)
                ),
            )
            return None
        self.templates.append(_Template(pair[0], pair[1], source, condition, self.known(key)))
        if self.limits:
            self.check_limits(key, pair, source, condition)
        return compiled

    def check_limits(self, key: str, pair: Pair, source: str, condition: bool) -> None:
        """Report loops, nesting and repetition beyond the template limits, at their line."""
        what = f'condition "{source.strip()}"' if condition else f"{key} template"
        for lineno, message in limit_problems(source, condition):
            self.problem(self.inner_line(pair, lineno), f"{what}: {message}")

    def known(self, key: str) -> int | None:
        """The first question whose answer a template at `key` cannot know (None: any is known)."""
        if self.position is None:
            return 0 if key == "intro" else None
        return self.position + 1 if key == "if" else self.position  # `if` follows the answer

    def inner_line(self, pair: Pair, lineno: int) -> int:
        """The file line of a template's line `lineno`: exact for block scalars (| and >)."""
        key_node, node = pair
        if isinstance(node, ScalarNode) and node.style in ("|", ">"):
            last = node.value.rstrip("\n").count("\n") + 1  # Jinja may point past the end
            return _line(node) + min(lineno, last)
        return _line(key_node)

    # -- the survey ----------------------------------------------------------------------

    def survey(self, root: Node, data: bytes, text: str) -> Survey | None:
        """The whole survey, or None when the file is not a mapping of survey keys."""
        if not isinstance(root, MappingNode):
            self.problem(
                root, "the file must be a set of survey keys such as title: and questions:"
            )
            return None
        f = self.fields(root, SURVEY_KEYS)
        for key in REQUIRED["survey"]:
            if key not in f:
                self.problem(root, f'the survey is missing the required key "{key}"')
        if "languages" in f:
            self.languages = self.language_codes(f["languages"]) or self.languages
        settings = self.settings(f) | self.design_settings(f)
        questions = self.questions(f["questions"]) if "questions" in f else ()
        self.check_references(questions)
        self.check_design(f, questions)
        if "partial_after" in f:
            settings["partial_after"] = self.partial_after(f["partial_after"], questions)
        if "recontact" in f:
            self.check_recontact(f, settings)
        survey = Survey(
            id=self.survey_id(f, root),
            version=hashlib.sha256(data).hexdigest()[:12],
            questions=questions,
            languages=self.languages,
            keyword_languages=self.keyword_languages,
            path=self.path,
            source=text,
            key_lines=_key_lines(root),  # the tree is at hand: line_of need not compose it again
            warnings=tuple(sorted(self.warnings, key=lambda p: p.line)),
            **settings,
        )
        return _translations(survey, self.languages)[self.languages[0]]

    def language_codes(self, pair: Pair) -> tuple[str, ...]:
        """`languages`: ISO 639-1 codes, the default first; a warning for one not built in."""
        codes: dict[str, Node] = {}
        for node in self.items("languages", pair):
            code = node.value.strip().lower() if isinstance(node, ScalarNode) else ""
            if not LANGUAGE_CODE.fullmatch(code):
                self.problem(
                    node, "each language must be a two-letter ISO 639-1 code like en or es"
                )
            elif code in codes:
                self.problem(
                    node, f'language "{code}" is listed twice' + _first_on(codes[code], node)
                )
            else:
                codes[code] = node
                if code not in LANGUAGES:
                    built_in = ", ".join(LANGUAGES)
                    self.warn(
                        node,
                        f'"{code}" has no built-in words (those are {built_in}): only digits, '
                        "labels and aliases are read in it, and the bot's own texts are in English",
                    )
        return tuple(codes)

    def local(
        self, key: str, pair: Pair, read: Callable[[str, Pair], Any], extra: Any = None
    ) -> Any:
        """What `read` reads, for all languages, or a Local when the file gives one per language.

        A language missing from the map falls back to the default language, with a warning;
        for `extra` words (aliases), it has `extra` (none) and needs no warning.
        """
        key_node, node = pair
        if not _is_language_map(node):
            return read(key, pair)
        given: dict[str, Any] = {}
        for code_node, value_node in node.value:
            code = code_node.value
            if code not in self.languages:
                listed = ", ".join(self.languages)
                self.problem(code_node, f'{key} has a "{code}" text but languages is [{listed}]')
            elif (value := read(key, (key_node, value_node))) is not None:
                given[code] = value
        default = self.languages[0]
        if extra is not None:  # aliases: a language without its own has the default's, or none
            return Local(
                {code: given.get(code, given.get(default, extra)) for code in self.languages}
            )
        if default not in given:  # unless it is there but wrong, which `read` reported
            if not any(code_node.value == default for code_node, _ in node.value):
                self.problem(key_node, f'{key} needs a text in the default language "{default}"')
            return None
        if missing := [code for code in self.languages if code not in given]:
            self.warn(
                key_node,
                f"{key} has no translation into {', '.join(missing)}: the {default} text is used",
            )
        return Local({code: given.get(code, given[default]) for code in self.languages})

    def survey_id(self, f: Fields, root: Node) -> str:
        """The `id`, else the file name without extension; it appears in export URLs."""
        survey_id = self.text("id", f["id"]) if "id" in f else Path(self.path).stem
        if survey_id is not None and not SURVEY_ID.fullmatch(survey_id):
            where = f["id"][0] if "id" in f else _line(root)
            self.problem(
                where,
                f'survey id "{survey_id}" may use only letters, digits, "-", "_" and "."'
                + ("" if "id" in f else " (rename the file or set id:)"),
            )
        return survey_id or ""

    def settings(self, f: Fields) -> dict[str, Any]:
        """The optional survey keys that are given, read and checked."""
        readers: dict[str, Callable[[str, Pair], Any]] = {
            "title": self.local_text,
            "keywords": self.keywords,
            "default": self.flag,
            "intro": self.local_template,
            "outro": self.local_template,
            "reminder": self.local_template,
            "help": self.local_template,
            "max_retries": self.whole,
            "expire_after": self.expire_after,
            "date_order": self.date_order,
            "timezone": self.timezone,
            "send_window": self.send_window,
            "smart_encoding": self.flag,
            "recontact": self.recontact,
        }
        values = {key: read(key, f[key]) for key, read in readers.items() if key in f}
        return {key: value for key, value in values.items() if value is not None}

    def local_text(self, key: str, pair: Pair) -> Any:
        """A text, or one per language."""
        return self.local(key, pair, self.text)

    def local_template(self, key: str, pair: Pair) -> Any:
        """A template, or one per language."""
        return self.local(key, pair, self.template)

    def keywords(self, key: str, pair: Pair) -> tuple[str, ...]:
        """The keywords, upper case, each one word that is not a command; a list or per language.

        A keyword listed for one language only starts the survey in that language.
        """
        key_node, node = pair
        lists = node.value if _is_language_map(node) else [(None, node)]
        languages: dict[str, set[str | None]] = {}
        for code_node, value_node in lists:
            code = code_node.value if code_node is not None else None
            if code is not None and code not in self.languages:
                listed = ", ".join(self.languages)
                self.problem(code_node, f'{key} has "{code}" keywords but languages is [{listed}]')
                continue
            seen: dict[str, int] = {}
            for item in self.items(key, (key_node, value_node)):
                word = self.keyword(item, seen)
                if word:
                    seen[word] = _line(item)
                    languages.setdefault(word, set()).add(code)
        only = {word: codes.pop() for word, codes in languages.items() if len(codes) == 1}
        self.keyword_languages = {word: code for word, code in only.items() if code}  # None: a list
        return tuple(languages)

    def keyword(self, node: Node, seen: dict[str, int]) -> str | None:
        """One keyword, or None with a problem."""
        if not isinstance(node, ScalarNode) or node.tag == NULL:
            self.problem(node, "each keyword must be a word")
            return None
        word = as_keyword(node.value)
        if not word.isalnum():
            self.problem(node, f'keyword "{node.value}" must be one word of letters and digits')
        elif word.isdigit():
            self.problem(node, f'keyword "{word}" needs a letter: a number reply is an answer')
        elif plain(word.casefold()) in COMMAND_WORDS:
            self.problem(
                node, f'keyword "{word}" is a command word respondents use; choose another'
            )
        elif word in seen:
            self.problem(node, f'keyword "{word}" is listed twice' + _first_on(seen[word], node))
        else:
            return word
        return None

    def expire_after(self, key: str, pair: Pair) -> timedelta | None:
        """A duration such as 30m, 24h, 2d or 90s."""
        text = self.text(key, pair)
        duration = parse_duration(text) if text is not None else None
        if text is not None and duration is None:
            self.problem(
                pair[0], f'{key} must be a duration like 30m, 24h, 2d or 90s, not "{text}"'
            )
        elif duration is not None and not duration:
            self.problem(pair[0], f"{key} must be longer than 0")
            return None
        return duration

    def recontact(self, key: str, pair: Pair) -> tuple[timedelta, ...] | None:
        """Delays such as [4h, 1d, 3d]: when a silent invited number is contacted again."""
        delays = []
        for node in self.items(key, pair):
            if not isinstance(node, ScalarNode):
                self.problem(node, f"each {key} delay must be a duration like 4h or 1d")
                return None
            delay = self.expire_after(key, (node, node))
            if delay is None:
                return None
            delays.append(delay)
        return tuple(delays)

    def check_recontact(self, f: Fields, settings: dict[str, Any]) -> None:
        """Warn when the re-contacts cannot all go before a silent session expires."""
        delays = settings.get("recontact") or ()
        expire_after = settings.get("expire_after", Survey.expire_after)
        if delays and sum(delays, timedelta()) >= expire_after:
            self.warn(
                f["recontact"][0],
                f"recontact delays add up to {duration_text(sum(delays, timedelta()))}, but "
                f"sessions expire after {duration_text(expire_after)}: the last re-contacts "
                "would never go; set expire_after longer",
            )

    def date_order(self, key: str, pair: Pair) -> str | None:
        """MDY or DMY, in any case."""
        text = self.text(key, pair)
        if text is not None and text.upper() not in DATE_ORDERS:
            self.problem(
                pair[0], f'{key} must be MDY (month first) or DMY (day first), not "{text}"'
            )
            return None
        return text.upper() if text else None

    def timezone(self, key: str, pair: Pair) -> str | None:
        """A time zone name from the tz database, such as Europe/London."""
        name = self.text(key, pair)
        if name is None:
            return None
        try:
            zoneinfo.ZoneInfo(name)
            return name
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zones = {z.lower(): z for z in zoneinfo.available_timezones()}
            match = difflib.get_close_matches(name.lower(), list(zones), n=1, cutoff=0.6)
            hint = (
                f' (did you mean "{zones[match[0]]}"?)' if match else " (a name like Europe/London)"
            )
            self.problem(pair[0], f'unknown timezone "{name}"{hint}')
            return None

    def send_window(self, key: str, pair: Pair) -> SendWindow | None:
        """Hours such as 08:00-21:00 in the respondent's local time."""
        text = self.text(key, pair)
        try:
            return parse_window(text) if text is not None else None
        except ValueError as err:
            self.problem(pair[0], f"{key} {err}")
            return None

    # -- questions -----------------------------------------------------------------------

    def questions(self, pair: Pair) -> tuple[Question, ...]:
        """Every question, then the checks that need them all: repeated ids and gotos."""
        key_node, node = pair
        if not isinstance(node, SequenceNode) or not node.value:
            empty = isinstance(node, SequenceNode) or (
                isinstance(node, ScalarNode) and node.tag == NULL
            )
            self.problem(key_node, "questions is empty" if empty else "questions must be a list")
            return ()
        read = []
        for item in node.value:
            first_goto, self.position = len(self.gotos), len(read)
            question = self.question(item)
            if question is not None:
                read.append((question, self.gotos[first_goto:]))
        self.position = None
        questions = tuple(question for question, _ in read)
        self.check_ids(questions)
        self.check_gotos(read)
        return questions

    def question(self, node: Node) -> Question | None:
        """One question, or None when it is not a set of keys."""
        if not isinstance(node, MappingNode):
            self.problem(node, "each question must be a set of keys such as id:, type: and text:")
            return None
        f = self.fields(node, QUESTION_KEYS)
        qid = self.question_id(f["id"]) if "id" in f else None
        for key in REQUIRED["question"]:
            if key not in f:
                named = f'question "{qid}"' if qid else "this question"
                self.problem(node, f'{named} is missing the required key "{key}"')
        qtype = self.question_type(f["type"]) if "type" in f else None
        if qtype == NOTE:
            for key in (k for k in REPLY_KEYS if k in f):
                self.problem(f[key][0], f"a note takes no reply, so {key} does not apply to it")
        return Question(
            id=qid or "",
            type=qtype or "",
            text=self.local_template("text", f["text"]) if "text" in f else None,
            line=_line(node),
            **self.options(f),
            **self.typed_options(f, qtype, node),
            **self.shuffle_choices(f, qtype),
        )

    def question_id(self, pair: Pair) -> str | None:
        """A question id: lower-case letters, digits and _, not a name templates use."""
        qid = self.text("id", pair)
        if qid is None:
            return None
        if not QUESTION_ID.fullmatch(qid):
            self.problem(
                pair[0],
                f'question id "{qid}" must start with a lower-case letter '
                "and use only a-z, 0-9 and _",
            )
        elif qid in RESERVED_IDS:
            self.problem(pair[0], f'question id "{qid}" is a reserved word; choose another')
        elif qid in EXPORT_COLUMNS or qid == TEST_COLUMN:  # SPEC 1: the export has its own
            self.problem(
                pair[0],
                f'question id "{qid}" is a column of the export already; '
                f'choose another, such as "{qid}_answer"',
            )
        return qid

    def question_type(self, pair: Pair) -> str | None:
        """One of the seven types, in any case."""
        name = self.text("type", pair)
        if name is None or name.lower() in QUESTION_TYPES:
            return name.lower() if name else None
        hint = _did_you_mean(name.lower(), QUESTION_TYPES)
        types = ", ".join(QUESTION_TYPES)
        self.problem(pair[0], f'unknown question type "{name}"{hint}; the types are: {types}')
        return None

    def options(self, f: Fields) -> dict[str, Any]:
        """The keys every question type may have."""
        values = {
            "optional": self.flag("optional", f["optional"]) if "optional" in f else None,
            "when": self.template("when", f["when"], condition=True) if "when" in f else None,
            "error": self.local_template("error", f["error"]) if "error" in f else None,
            "constraint": (
                self.template("constraint", f["constraint"], condition=True)
                if "constraint" in f
                else None
            ),
            "next": self.branches(f["next"]) if "next" in f else None,
        }
        return {key: value for key, value in values.items() if value is not None}

    def typed_options(self, f: Fields, qtype: str | None, node: Node) -> dict[str, Any]:
        """The keys that only some types use, checked against the question's type."""
        for key, types in USED_BY.items():
            if key in f and qtype and qtype not in types:
                self.problem(f[key][0], _only_for(key))
        values: dict[str, Any] = {}
        if "choices" in f or qtype in USED_BY["choices"]:
            values["choices"] = self.choices(f, node)
            if qtype == "multi":
                self.check_separator(f.get("choices"))
        if qtype == LANGUAGE:  # the survey's languages, each by its own name
            values["choices"] = tuple(
                Choice(LANGUAGE_NAMES.get(code, code), code) for code in self.languages
            )
        if qtype == "multi":
            values.update(self.picks(f, len(values["choices"])))
        elif qtype == "date":
            values.update(self.date_bounds(f))
        elif qtype in ("number", "scale") or qtype is None:
            values.update(self.bounds(f, qtype))
        if "integer" in f:
            values["integer"] = self.flag("integer", f["integer"])
        if "max_length" in f:
            values["max_length"] = self.whole("max_length", f["max_length"], least=1)
        return {key: value for key, value in values.items() if value is not None}

    def bounds(self, f: Fields, qtype: str | None) -> dict[str, Any]:
        """`min` and `max` of a number or scale (whole numbers, and required, on a scale)."""
        read = self.whole if qtype == "scale" else self.number
        values = {key: read(key, f[key]) for key in ("min", "max") if key in f}
        for key, value in values.items():
            if value is not None and not abs(value) < NUMBER_LIMIT:  # nan too
                self.problem(
                    f[key][0],
                    f"{key} ({value}) is more than a reply may be: at most {NUMBER_DIGITS} "
                    f"digits before the point, up to {NUMBER_LIMIT - 1:,}",
                )
                values[key] = None
        if qtype == "scale" and len(f.keys() & {"min", "max"}) < 2:
            missing = " and ".join(k for k in ("min", "max") if k not in f)
            self.problem(f["type"][0], f"a scale needs both min and max (add {missing})")
        self.check_order(f, values)
        return values

    def date_bounds(self, f: Fields) -> dict[str, Any]:
        """`min` and `max` of a date: a date written 2026-11-27, or today."""
        values = {key: self.day(key, f[key]) for key in ("min", "max") if key in f}
        low, high = values.get("min"), values.get("max")
        if isinstance(low, date) and isinstance(high, date):
            self.check_order(f, values)
        # Only a warning: a file must not stop loading the day its date goes by. Today here
        # is the server's, not the survey's time zone: a day either way changes nothing.
        if low == TODAY and isinstance(high, date) and high < date.today():
            message = f"max ({high}) is already past, so with min: today no date is accepted"
            self.warn(f["max"][0], message)
        if high == TODAY and isinstance(low, date) and low > date.today():
            message = f"min ({low}) is still to come, so with max: today no date is accepted"
            self.warn(f["min"][0], message)
        return {key: value for key, value in values.items() if value is not None}

    def day(self, key: str, pair: Pair) -> date | str | None:
        """One date bound: `today` or a date such as 2026-11-27."""
        text = self.text(key, pair)
        if text is None or text.strip().lower() == TODAY:
            return TODAY if text is not None else None
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            self.problem(pair[0], f'{key} must be a date like 2026-11-27, or today, not "{text}"')
            return None

    def picks(self, f: Fields, count: int) -> dict[str, Any]:
        """`min` and `max` of a multi: how many choices to pick, 1 to all by default."""
        # min 0 lets a respondent answer NONE; max must allow at least one pick.
        values = {
            key: self.whole(key, f[key], least=int(key == "max"))
            for key in ("min", "max")
            if key in f
        }
        for key in ("min", "max"):
            if values.get(key) and count and values[key] > count:
                self.problem(
                    f[key][0], f"{key} ({values[key]}) is more than the number of choices ({count})"
                )
        self.check_order(f, values)
        low = values.get("min")
        return {"min": 1 if low is None else low, "max": values.get("max") or count or None}

    def check_order(self, f: Fields, values: dict[str, Any]) -> None:
        """Report a `min` that is larger than `max`."""
        low, high = values.get("min"), values.get("max")
        if low is not None and high is not None and low > high:
            self.problem(f["min"][0], f"min ({low}) is larger than max ({high})")

    # -- choices -------------------------------------------------------------------------

    def choices(self, f: Fields, question: Node) -> tuple[Choice, ...]:
        """The choices, each reply text (label, value, alias) leading to one choice only."""
        if "choices" not in f:
            self.problem(question, 'this question needs "choices": the list of options')
            return ()
        items = self.items("choices", f["choices"])
        if not items and isinstance(f["choices"][1], SequenceNode):
            self.problem(f["choices"][0], f"choices is empty: list at least {LEAST_CHOICES}")
        read = [(node, self.choice(node)) for node in items]
        choices = tuple(c for _, c in read if c is not None)
        for code in self.languages:
            self.check_choice_texts([(node, _in_language(c, code)) for node, c in read if c])
        return choices

    def choice(self, node: Node) -> Choice | None:
        """A choice: a text (label = value) or {label, value, aliases}."""
        if isinstance(node, ScalarNode) and node.tag != NULL and node.value.strip():
            return Choice(node.value, node.value)
        if isinstance(node, ScalarNode):
            self.problem(node, "a choice is empty")
            return None
        if not isinstance(node, MappingNode):
            self.problem(
                node, "a choice must be a text or {label: ..., value: ..., aliases: [...]}"
            )
            return None
        f = self.fields(node, CHOICE_KEYS)
        for key in REQUIRED["choice"]:
            if key not in f:
                self.problem(node, f'this choice is missing the required key "{key}"')
        label = self.local_text("label", f["label"]) if "label" in f else None
        default_label = label[self.languages[0]] if isinstance(label, Local) else label
        value = self.text("value", f["value"]) if "value" in f else default_label
        aliases = self.local("aliases", f["aliases"], self.aliases, ()) if "aliases" in f else ()
        return Choice(label or "", value or "", aliases or (), self.fixed(f))

    def aliases(self, key: str, pair: Pair) -> tuple[str, ...]:
        """A list of other words for a choice."""
        words = (self.text(key, (node, node)) for node in self.items(key, pair))
        return tuple(word for word in words if word)

    def check_separator(self, pair: Pair | None) -> None:
        """Refuse a multi choice whose label or value holds the export's separator."""
        for node in self.items("choices", pair) if pair else ():
            for key, text in _choice_texts(node):
                if MULTI_SEPARATOR in text:
                    self.problem(
                        node,
                        f'a multi choice\'s {key} may not contain "{MULTI_SEPARATOR}" '
                        f'(it separates the picks in the export): "{text}"',
                    )

    def check_choice_texts(self, read: list[tuple[Node, Choice]]) -> None:
        """Report a label, value or alias that two choices share: such a reply is not guessed."""
        owner: dict[str, int] = {}
        for number, (node, choice) in enumerate(read, start=1):
            for text in dict.fromkeys((choice.label, choice.value, *choice.aliases)):
                first = owner.setdefault(choice_key(text), number)
                if first != number:
                    message = f'choices {first} and {number} both use "{text}"'
                    self.problem(node, message + "; a reply must lead to one choice")

    # -- branching -----------------------------------------------------------------------

    def branches(self, pair: Pair) -> tuple[Branch, ...]:
        """The `next` entries: {if: condition, goto: question id or end}."""
        if not isinstance(pair[1], SequenceNode):
            self.problem(pair[0], "next must be a list of entries like {if: ..., goto: ...}")
            return ()
        return tuple(b for b in map(self.branch, pair[1].value) if b is not None)

    def branch(self, node: Node) -> Branch | None:
        """One `next` entry."""
        if not isinstance(node, MappingNode):
            self.problem(node, "a next entry must look like {if: ..., goto: ...}")
            return None
        f = self.fields(node, BRANCH_KEYS)
        for key in REQUIRED["next"]:
            if key not in f:
                self.problem(node, f'this next entry is missing "{key}"')
        condition = self.template("if", f["if"], condition=True) if "if" in f else None
        goto = self.text("goto", f["goto"]) if "goto" in f else None
        if goto is not None:
            self.gotos.append((f["goto"][0], goto))
        outcome = self.outcome(f["outcome"], goto) if "outcome" in f else None
        return Branch(condition, goto, outcome) if condition and goto else None

    def outcome(self, pair: Pair, goto: str | None) -> str | None:
        """A `next` entry's `outcome`: refused or ineligible, ending the survey (SPEC 11)."""
        outcome = self.text("outcome", pair)
        if outcome is None:
            return None
        if outcome not in AUTHOR_OUTCOMES:
            hint = _did_you_mean(outcome, AUTHOR_OUTCOMES)
            self.problem(
                pair[0], f'outcome "{outcome}" is not {_or_list(list(AUTHOR_OUTCOMES))}{hint}'
            )
            return None
        if goto is not None and goto != END:
            self.problem(pair[0], f"an entry with outcome: {outcome} must have goto: end")
            return None
        return outcome

    def partial_after(self, pair: Pair, questions: tuple[Question, ...]) -> str | None:
        """`partial_after`: a question of this survey (answering it or a later one: a partial)."""
        qid = self.text("partial_after", pair)
        ids = [q.id for q in questions if q.id]
        if qid is not None and qid not in ids:
            self.problem(
                pair[0],
                f'partial_after: there is no question "{qid}"{_did_you_mean(qid, ids)}',
            )
            return None
        return qid

    def check_gotos(self, read: list[tuple[Question, list[tuple[Node, str]]]]) -> None:
        """Each goto leads to `end` or to a question after its own."""
        position: dict[str, int] = {}
        for index, (question, _) in enumerate(read):
            position.setdefault(question.id, index)
        for here, (_, gotos) in enumerate(read):
            for node, goto in gotos:
                self.check_goto(node, goto, position, here, read)

    def check_goto(
        self, node: Node, goto: str, position: dict[str, int], here: int, read: list
    ) -> None:
        """One goto: to `end`, or to a question that exists and comes later."""
        target = position.get(goto)
        if goto == END or (target is not None and target > here):
            return
        if target is None:
            hint = _did_you_mean(goto, [*position, END])
            later = [question.id for question, _ in read[here + 1 :] if question.id]
            self.problem(
                node,
                f'goto "{goto}" is not a question in this survey{hint}; '
                f"it can lead to {_or_list([*later, END])}",
            )
            return
        where = "this same question"
        if target < here:
            where = f"an earlier question (line {read[target][0].line})"
        self.problem(
            node, f'goto "{goto}" leads to {where}; only a later question or end is allowed'
        )

    # -- checks across questions ---------------------------------------------------------

    def check_ids(self, questions: tuple[Question, ...]) -> None:
        """Report a question id used twice."""
        first: dict[str, int] = {}
        for question in questions:
            line = first.setdefault(question.id, question.line)
            if question.id and line != question.line:
                message = f'question id "{question.id}" is used twice (first on line {line})'
                self.problem(question.line, message)

    def check_references(self, questions: tuple[Question, ...]) -> None:
        """Report `answers.x` in a template or condition when there is no question x."""
        ids = [q.id for q in questions if q.id]
        by_id = {q.id: q for q in questions if q.id}
        for template in self.templates:
            for name, lineno in _answer_names(template):
                line = self.inner_line((template.key, template.value), lineno)
                if name not in ids and name not in RESERVED_IDS:
                    self.problem(
                        line,
                        f'answers.{name}: there is no question "{name}"{_did_you_mean(name, ids)}',
                    )
                elif name in ids and template.before is not None:
                    self.check_order_of_use(line, questions, name, template.before)
            for name, lineno, hint in _unseen_names(template, ids) if self.limits else ():
                visible = list(_visible(template))
                self.problem(
                    self.inner_line((template.key, template.value), lineno),
                    f'{_what(template)} uses "{name}", which it cannot see{hint}; '
                    f"it can use {', '.join(visible[:-1])} and {visible[-1]}",
                )
            for lineno, message in never_met(_parse(template), by_id, self.languages):
                if self.limits:  # a version stored when served keeps loading
                    self.problem(self.inner_line((template.key, template.value), lineno), message)
            for name, attr, lineno in _answer_fields(template):
                self.problem(
                    self.inner_line((template.key, template.value), lineno),
                    f'answers.{name}.{attr}: an answer has no "{attr}"; {{{{ answers.{name} }}}} '
                    "already shows a choice's label (conditions see its value)",
                )

    def check_order_of_use(
        self, line: int, questions: tuple[Question, ...], name: str, before: int
    ) -> None:
        """Report a template naming a question whose answer is not known yet where it is used."""
        index, named = next((i, q) for i, q in enumerate(questions) if q.id == name)
        if index >= before:
            self.problem(
                line,
                f'answers.{named.id}: question "{named.id}" (line {named.line}) is not '
                "answered yet at this point; only earlier answers can be used here",
            )


def _choice_texts(node: Node) -> list[tuple[str, str]]:
    """(key, text) of a choice's label and value, as written in the file."""
    if isinstance(node, ScalarNode):
        return [("label", node.value)]
    if not isinstance(node, MappingNode):
        return []
    return [
        (key.value, value.value)
        for key, value in node.value
        if key.value in ("label", "value") and isinstance(value, ScalarNode)
    ]


def _answer_fields(template: _Template) -> list[tuple[str, str, int]]:
    """(name, field, line) of each `answers.NAME.label` (or value, text): answers have none."""
    found = []
    for node in _parse(template).find_all(nodes.Getattr):
        inner = node.node
        if (
            node.attr in ANSWER_FIELDS
            and isinstance(inner, nodes.Getattr)
            and isinstance(inner.node, nodes.Name)
            and inner.node.name == "answers"
        ):
            found.append((inner.attr, node.attr, node.lineno))
    return found


def _what(template: _Template) -> str:
    """How a problem names a template: `condition "x > 1"` or `text template`."""
    if template.condition:
        return f'condition "{template.source.strip()}"'
    return f"{template.key.value} template"


def _visible(template: _Template) -> tuple[str, ...]:
    """The names a template sees."""
    return VISIBLE + (CONSTRAINT_VISIBLE if template.key.value == "constraint" else ())


def _unseen_names(template: _Template, ids: list[str]) -> list[tuple[str, int, str]]:
    """(name, line, hint) of each name a template uses but cannot see, at its first use."""
    tree = _parse(template)
    if not tree.body:  # text alone names nothing
        return []
    unseen = undeclared(_jinja_source(template)) - set(_visible(template)) - set(ENV.globals)
    attrs = {  # `answer.fruit`: the attribute read from a name says which answer was meant
        id(node.node): node.attr
        for node in tree.find_all(nodes.Getattr)
        if isinstance(node.node, nodes.Name)
    }
    found: dict[str, tuple[str, int, str]] = {}
    for node in tree.find_all(nodes.Name):
        if node.name in unseen and node.name not in found:
            hint = _name_hint(node.name, attrs.get(id(node)), ids, _visible(template))
            found[node.name] = (node.name, node.lineno, hint)
    return sorted(found.values(), key=lambda item: item[1])


def _name_hint(name: str, attr: str | None, ids: list[str], visible: tuple[str, ...]) -> str:
    """` (did you mean `answers.fruit`?)` for what an unseen name most likely meant, or nothing."""
    if name in ids:
        return f" (did you mean `answers.{name}`?)"
    close = difflib.get_close_matches(name, visible, n=1, cutoff=0.6)
    if close and close[0] == "answers" and attr in ids:
        return f" (did you mean `answers.{attr}`?)"
    if close:
        return f" (did you mean `{close[0]}{'.' + attr if attr else ''}`?)"
    close = difflib.get_close_matches(name, ids, n=1, cutoff=0.6)
    return f" (did you mean `answers.{close[0]}`?)" if close else ""


def _parse(template: _Template) -> nodes.Template:
    """The Jinja tree of a template or condition that compiled."""
    return parsed(_jinja_source(template))


def _jinja_source(template: _Template) -> str:
    """A template's text as Jinja parses it: a condition is an expression to print."""
    return f"{{{{ {template.source} }}}}" if template.condition else template.source


def _answer_names(template: _Template) -> list[tuple[str, int]]:
    """The names used as `answers.NAME` or `answers["NAME"]`, with their template line."""
    found = []
    for node in _parse(template).find_all((nodes.Getattr, nodes.Getitem)):
        target = node.node
        if not (isinstance(target, nodes.Name) and target.name == "answers"):
            continue
        if isinstance(node, nodes.Getattr):
            found.append((node.attr, node.lineno))
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            found.append((node.arg.value, node.lineno))
    return found
