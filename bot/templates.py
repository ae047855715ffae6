"""Sandboxed Jinja templates and expressions for survey texts and conditions."""

from __future__ import annotations

import functools
import gc
import json
import logging
import re
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.compiler import CodeGenerator
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from bot.segments import TWILIO_MAX_CHARACTERS

log = logging.getLogger(__name__)

# What a template may do (SPEC 1). Checked when the file loads: a loop goes over
# a list written out or range() of at most MAX_LOOP items, never inside another
# loop, text is never repeated with `*`, lipsum() is not there, and no number
# written into a filter, a method or a format (`center(10**9)`, `'%9999999s'`)
# is over MAX_VALUE. Checked while rendering, for what loading cannot judge
# (and for versions stored before these rules): every loop item, output piece,
# filter, method call, `~`, `+` and `%` spends one step of the render's
# budget; a render stops after RENDER_STEPS steps, RENDER_SECONDS, or
# RENDER_OUTPUT characters of output, and no value inside it (a text, a list)
# may grow past MAX_VALUE: what would make one bigger is refused before it is
# made, so no single step can take long or much memory.
MAX_LOOP = 100
RENDER_STEPS = 10_000
RENDER_SECONDS = 0.05
RENDER_OUTPUT = TWILIO_MAX_CHARACTERS  # a whole message
MAX_VALUE = 10_000  # characters or items of any value made while rendering
LOOP_BOUND = f"a loop may only go over a list written out or range(N) with N at most {MAX_LOOP}"
MAX_EXPONENT = 64  # `**` beyond it makes numbers whose computing alone stalls a worker
NOT_THERE = frozenset({"lipsum"})  # Jinja's globals a survey has no use for, unbounded
# A printf conversion's width and precision, and a format field's spec.
PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?")
FORMAT_SPEC = re.compile(r"\{[^{}]*?:([^{}]*)(\{)?")


class _Missing(Undefined):
    """An unanswered question: renders as nothing and is falsy."""


class RenderLimit(RuntimeError):
    """A render went past its budget of steps, time or output."""


class _Budget:
    """The steps and time one render may still spend."""

    def __init__(self):
        self.steps = 0
        # The thread's own CPU time: a busy machine, or other threads holding the
        # GIL, cannot make a fine template run out of time.
        self.deadline = time.thread_time() + RENDER_SECONDS
        self.collecting: float | None = None  # when a garbage collection began

    def spend(self, steps: int = 1) -> None:
        """Count `steps`; RenderLimit once the steps or the time are used up."""
        self.steps += steps
        if self.steps > RENDER_STEPS:
            raise RenderLimit(f"more than {RENDER_STEPS} steps")
        if time.thread_time() > self.deadline:
            raise RenderLimit(f"more than {RENDER_SECONDS} s")


_BUDGET: ContextVar[_Budget | None] = ContextVar("render_budget", default=None)


def _collection_not_counted(phase: str, _info: dict) -> None:
    """Move a render's deadline past a garbage collection that happens during it.

    A collection walks everything the process holds (tens of ms in a worker
    with big surveys loaded), so it is the process's time, not the template's:
    counted, it cut a respondent's name out of a plain question now and then.
    """
    budget = _BUDGET.get()
    if budget is None:
        return
    if phase == "start":
        budget.collecting = time.thread_time()
    elif budget.collecting is not None:
        budget.deadline += time.thread_time() - budget.collecting
        budget.collecting = None


gc.callbacks.insert(0, _collection_not_counted)  # first: other callbacks' time is the collection's


@contextmanager
def _budgeted():
    """A fresh budget for the render or evaluation in the block."""
    token = _BUDGET.set(_Budget())
    try:
        yield _BUDGET.get()
    finally:
        _BUDGET.reset(token)


def _range(*args: int) -> range:
    """range() for templates: each item is a step of the render's budget."""
    items = safe_range(*args)
    budget = _BUDGET.get()
    if budget is not None:
        budget.spend(len(items))
    return items


def _spend() -> None:
    """One step of the current render's budget (nothing outside a render: the loader's)."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.spend()


def _sized(value: Any) -> Any:
    """`value` unless it is text or a list longer than MAX_VALUE (RenderLimit)."""
    if isinstance(value, str | list | tuple | dict) and len(value) > MAX_VALUE:
        raise RenderLimit(f"a value over {MAX_VALUE} characters or items")
    return value


def _numbers_within(args, kwargs) -> None:
    """RenderLimit for a number argument over MAX_VALUE (a width, a count, a length)."""
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int | float) and not isinstance(arg, bool) and abs(arg) > MAX_VALUE:
            raise RenderLimit(f"a number over {MAX_VALUE} given to a filter or method")


def format_problem(text: str, printf: bool) -> str | None:
    """Why a format string could make a huge text (a width over MAX_VALUE, one taken from
    the arguments), or None."""
    if printf:
        sizes = [size for spec in PRINTF_SPEC.finditer(text) for size in spec.groups()]
    else:
        sizes = []
        for spec, nested in FORMAT_SPEC.findall(text):
            sizes += ["*"] if nested else re.findall(r"\d+", spec)
    for size in sizes:
        if size == "*" or (size and int(size) > MAX_VALUE):
            return f"a format width over {MAX_VALUE}, or taken from the values"
    return None


def _replaced_size(text: str, old: str, new: str, count: int = -1) -> int:
    """How long `text.replace(old, new, count)` would be, without making it."""
    times = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:
        times = min(times, count)
    return len(text) + times * (len(new) - len(old))


def _before_call(func, args, kwargs) -> None:
    """Refuse, before it runs, a call that would make a value over MAX_VALUE."""
    _numbers_within(args, kwargs)
    name = getattr(func, "__name__", "")
    owner = getattr(func, "__self__", None)
    if name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        text = owner if isinstance(owner, str) else None
        if text is not None and _replaced_size(text, *args[:2], *args[2:3]) > MAX_VALUE:
            raise RenderLimit(f"replace() making a text over {MAX_VALUE} characters")


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, each operation a step of the budget and no value made huge."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        """Refuse repeating text or lists, powers too big to compute, and huge results."""
        _spend()
        if operator == "*" and isinstance(left, str | list | tuple) != isinstance(
            right, str | list | tuple
        ):
            raise RenderLimit("text repeated with *")
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise RenderLimit(f"a power over {MAX_EXPONENT}")
        if operator == "+" and isinstance(left, str | list | tuple):
            _sized_sum(left, right)
        if operator == "%" and isinstance(left, str):
            problem = format_problem(left, printf=True)
            if problem:
                raise RenderLimit(problem)
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's own signature)
        """A function or method call: a step; refused when it would make a value too big."""
        _spend()
        _before_call(__obj, args, kwargs)
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any):
        """str.format and format_map, refused when a width could make a huge text."""
        wrapped = super().wrap_str_format(value)
        problem = wrapped is not None and format_problem(value.__self__, printf=False)
        if problem:

            def refused(*_args, **_kwargs):
                raise RenderLimit(problem)

            return refused
        return wrapped

    def joined(self, parts) -> str:
        """`a ~ b`, each part printed as `{{ }}` would; refused beyond MAX_VALUE characters."""
        _spend()
        texts = [str(printed(part)) for part in parts]
        if sum(map(len, texts)) > MAX_VALUE:
            raise RenderLimit(f"~ making a text over {MAX_VALUE} characters")
        return "".join(texts)


def _sized_sum(left, right) -> None:
    """RenderLimit when `left + right` would be over MAX_VALUE long."""
    if isinstance(right, str | list | tuple) and len(left) + len(right) > MAX_VALUE:
        raise RenderLimit(f"+ making a value over {MAX_VALUE}")


class _Generator(CodeGenerator):
    """Jinja's code generator, with `~` through the sandbox's `joined` (else it is unchecked)."""

    def visit_Concat(self, node: nodes.Concat, frame) -> None:
        """`a ~ b ~ c` as environment.joined((a, b, c))."""
        self.write("environment.joined((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _bounded(name: str, func):
    """A filter as a step of the budget, refused before it makes a value over MAX_VALUE."""
    passes = getattr(func, "jinja_pass_arg", None) is not None  # env or context comes first

    @functools.wraps(func)
    def bounded(*args, **kwargs):
        _spend()
        data = args[1:] if passes else args
        if data:
            _numbers_within(data[1:], kwargs)  # the value itself may be any number
            _before_filter(name, data, kwargs)
        return _sized(func(*args, **kwargs))

    return bounded


def _before_filter(name: str, data: tuple, kwargs: dict) -> None:
    """The checks of a filter that can grow its value by more than its number arguments say."""
    value, rest = data[0], data[1:]
    if name == "replace" and isinstance(value, str) and len(rest) >= 2:
        old, new = str(rest[0]), str(rest[1])
        count = rest[2] if len(rest) > 2 else kwargs.get("count")
        if _replaced_size(value, old, new, -1 if count is None else count) > MAX_VALUE:
            raise RenderLimit(f"replace making a text over {MAX_VALUE} characters")
    if name == "format" and isinstance(value, str):
        problem = format_problem(value, printf=True)
        if problem:
            raise RenderLimit(problem)
    if name == "join" and isinstance(value, list | tuple):
        joined = sum(len(str(item)) for item in value) + len(str(rest[0] if rest else ""))
        if joined > MAX_VALUE:
            raise RenderLimit(f"join making a text over {MAX_VALUE} characters")


def printed(value: Any) -> Any:
    """What `{{ value }}` shows: an answer as the respondent saw it (bot/shown.py), else itself."""
    show = getattr(type(value), "_printed", None)  # a name templates cannot reach
    return value if show is None else show(value)


def _json_ready(value: Any) -> Any:
    """`value` for `tojson`: answers as stored (yes/no true or false), dates as ISO text."""
    stored = getattr(type(value), "_stored", None)
    if stored is not None:
        return stored(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    return value


def _string(value: Any) -> str:
    """The `string` filter: the stored value's text (Jinja's hands a text, a choice's too, back)."""
    return str.__str__(value) if isinstance(value, str) else str(value)


def _dumps(value: Any, **options) -> str:
    """json.dumps for `tojson`."""
    return json.dumps(_json_ready(value), **options)


def _sandbox(**options) -> _Sandbox:
    """A sandbox whose range(), filters and operations count against the render's budget."""
    env = _Sandbox(autoescape=False, finalize=printed, **options)
    env.policies["json.dumps_function"] = _dumps
    env.filters["string"] = _string
    env.code_generator_class = _Generator
    env.globals["range"] = _range
    for name in NOT_THERE:
        env.globals.pop(name, None)
    env.filters = {name: _bounded(name, func) for name, func in env.filters.items()}
    return env


# Immutable sandbox: an author's template can read answers but never call
# methods that change them or reach Python internals.
ENV = _sandbox(undefined=_Missing, keep_trailing_newline=False)
_STRICT_ENV = _sandbox(undefined=StrictUndefined)


# Jinja renders every line break as "\n" (its newline_sequence).
_NEWLINE = re.compile(r"\r\n|\r|\n")


class TemplateError(ValueError):
    """A template or expression that does not parse; `lineno` is inside the source."""

    def __init__(self, message: str, lineno: int = 1):
        super().__init__(message)
        self.lineno = lineno


def _parse_error(err: TemplateSyntaxError) -> TemplateError:
    return TemplateError(err.message or "does not parse", err.lineno or 1)


@dataclass(frozen=True)
class Text:
    """A survey text (question, intro, outro, error) compiled once."""

    source: str
    _compiled: Any = field(repr=False, compare=False, default=None)
    _constant: str | None = field(repr=False, compare=False, default=None)

    @classmethod
    def compile(cls, source: str) -> Text:
        """Compile `source`, raising TemplateError if it does not parse.

        Once per source in a process: a reload, or another file with the same
        text, takes the compiled text already made (it is never changed).
        """
        return _compiled_text(source)

    @property
    def constant(self) -> bool:
        """Whether the text renders the same whatever the answers (it has no tag)."""
        return self._constant is not None

    def render(self, context: dict[str, Any], max_output: int | None = RENDER_OUTPUT) -> str:
        """Render with `context` within the budget; a failing part is left out.

        A render that fails or is stopped by its budget gives the text without
        the parts that failed: never a stalled worker, a huge message or the
        template's source. `max_output=None`
        (the cost report's worst case) lets the output run past RENDER_OUTPUT.
        """
        text, failure = self.attempt(context, max_output)
        if isinstance(failure, RenderLimit):
            log.warning("template stopped (%s): %r", failure, self.source[:200])
        elif failure is not None:
            log.warning("template failed to render (%s): %r", failure, self.source[:200])
        return text

    def attempt(
        self, context: dict[str, Any], max_output: int | None = RENDER_OUTPUT
    ) -> tuple[str, Exception | None]:
        """`render` without its log: the text, and what made parts of it fail (None if none).

        For the cost analysis, which renders every text without answers on purpose: the
        failures it expects are no news for the log, and it says the others with their line.
        """
        if self._constant is not None:
            return self._constant, None
        try:
            return _within_budget(self._compiled, context, max_output).strip(), None
        except Exception as err:  # an author's runtime error must never break a conversation
            # The parts that render, never the template's source: a respondent must not
            # receive `{{ answer.name }}`.
            return self._without_failing_parts(context, max_output or RENDER_OUTPUT), err

    def _without_failing_parts(self, context: dict[str, Any], max_output: int) -> str:
        """Render each part (a text, an {{ expression }}, a tag block) alone, failures left out."""
        made, size = [], 0
        for part in _parts(ENV.parse(self.source)):
            try:
                text = _within_budget(ENV.from_string(part), context, max_output - size)
            except Exception:  # RenderLimit, or a part that needs another (a {% set %})
                continue
            made.append(text)
            size += len(text)
        return "".join(made).strip()


def _parts(tree: nodes.Template) -> list[nodes.Template]:
    """The top-level parts of a template, each a template of its own."""
    parts = []
    for node in tree.body:
        children = node.nodes if isinstance(node, nodes.Output) else None
        for child in children or [node]:
            parts.append(nodes.Template([nodes.Output([child]) if children else child]))
    return parts


def _within_budget(template, context: dict[str, Any], max_output: int | None) -> str:
    """Render piece by piece, each piece and loop item spending one budget (else RenderLimit)."""
    made, size = [], 0
    with _budgeted() as budget:
        for piece in template.generate(context):
            size += len(piece)
            if max_output is not None and size > max_output:
                raise RenderLimit(f"more than {max_output} characters")
            budget.spend()
            made.append(piece)
    return "".join(made)


@dataclass(frozen=True)
class Expr:
    """A `when` or `next[].if` condition compiled once."""

    source: str
    _compiled: Any = field(repr=False, compare=False, default=None)

    @classmethod
    def compile(cls, source: str) -> Expr:
        """Compile `source`, raising TemplateError if it does not parse (once per source)."""
        return _compiled_expr(source)

    def is_true(self, context: dict[str, Any]) -> bool:
        """Evaluate; anything that cannot be evaluated (a missing answer...) is false."""
        try:
            with _budgeted():
                return bool(self._compiled(**context))
        except Exception:  # RenderLimit included: a runaway condition is false
            return False


@functools.lru_cache(maxsize=1024)
def _compiled_text(source: str) -> Text:
    """`Text.compile`, kept: Jinja's code generation is most of a survey's loading time."""
    if "{" not in source:  # no tag can start: the text renders as itself, Jinja unneeded
        return Text(source, None, _NEWLINE.sub("\n", source).strip())
    try:
        compiled = ENV.from_string(source)
        # Text without a single tag renders the same for everyone: render it now.
        plain = all(token == "data" for _, token, _ in ENV.lex(source))
    except TemplateSyntaxError as err:
        raise _parse_error(err) from None
    return Text(source, compiled, compiled.render().strip() if plain else None)


@functools.lru_cache(maxsize=1024)
def _compiled_expr(source: str) -> Expr:
    """`Expr.compile`, kept."""
    try:
        return Expr(source, _STRICT_ENV.compile_expression(source, undefined_to_none=False))
    except TemplateSyntaxError as err:
        raise _parse_error(err) from None


@functools.lru_cache(maxsize=1024)
def canonical(source: str) -> str:
    """What a condition means, written out the same however it is worded (SPEC 12's quotas).

    The dump of its parsed tree: quotes, spaces, line breaks and redundant parentheses
    leave no trace in it (`arm == 'a'`, `(arm=="a")`). A source that does not parse
    (never a loaded condition's) is its text with the spaces squeezed.
    """
    try:
        parser = Parser(_STRICT_ENV, source, state="variable")
        tree = parser.parse_expression()
        if not parser.stream.eos:
            return " ".join(source.split())
    except TemplateSyntaxError:
        return " ".join(source.split())
    return repr(tree)  # a Node's repr is its type and fields, never its line


@functools.lru_cache(maxsize=1024)
def parsed(source: str) -> nodes.Template:
    """The Jinja tree of a template, empty when it does not parse (reported elsewhere).

    A load looks at each template three ways (limits, answers named, answer
    fields) and a reload sees mostly the same texts: parse each source once.
    Callers only read the tree.
    """
    if "{" not in source:  # text alone: nothing to find in it
        return nodes.Template([])
    try:
        return ENV.parse(source)
    except TemplateSyntaxError:
        return nodes.Template([])


# Nodes that only read names, declare none and are never folded away by Jinja's optimizer
# (not `and`, `or`, `x if y else z`): a template made of them alone loads exactly the names
# it holds, so `undeclared` need not run Jinja's code generator over it.
_READING_NODES = frozenset(
    {
        *(nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const),
        *(nodes.Getattr, nodes.Getitem, nodes.Slice, nodes.Call, nodes.Keyword, nodes.If),
        *(nodes.Filter, nodes.Test, nodes.Compare, nodes.Operand, nodes.Not, nodes.Neg),
        *(nodes.Pos, nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod),
        *(nodes.Pow, nodes.Concat, nodes.List, nodes.Tuple, nodes.Dict, nodes.Pair),
    }
)


def undeclared(source: str) -> set[str]:
    """The names a template looks up when rendered (`jinja2.meta`'s answer), globals left out."""
    tree = parsed(source)
    every = list(tree.find_all(nodes.Node))
    if all(
        type(node) in _READING_NODES
        and (not isinstance(node, nodes.Filter) or node.name in ENV.filters)
        and (not isinstance(node, nodes.Test) or node.name in ENV.tests)
        for node in every
    ):  # `self` is the template itself (TemplateReference), never looked up
        names = {n.name for n in every if isinstance(n, nodes.Name) and n.ctx == "load"}
        return names - {"self"} - set(ENV.globals)
    # Jinja's code generator folds constants inside the tree it is given: a tree of its own,
    # or the one `parsed` keeps would lose `answers.x` in `x ~ (answers.x if false else '')`
    # for the checks after it and for the next load of the same text.
    return meta.find_undeclared_variables(ENV.parse(source))


def limit_problems(source: str, condition: bool = False) -> list[tuple[int, str]]:
    """What a template does beyond the limits judged at load, as (its line, message)."""
    tree = parsed(f"{{{{ {source} }}}}" if condition else source)
    every = list(tree.find_all(nodes.Node))  # one walk, each check taking its nodes in order
    found = []
    for loop in (node for node in every if isinstance(node, nodes.For)):
        if next(loop.find_all(nodes.For), None) is not None:
            found.append((loop.lineno, "a loop may not hold another loop"))
        bound = _literal_length(loop.iter)
        if bound is None or bound > MAX_LOOP:
            found.append((loop.lineno, LOOP_BOUND))
    for product in (node for node in every if isinstance(node, nodes.Mul)):
        if any(
            _literal_length(side) is not None or _is_text(side)
            for side in (product.left, product.right)
        ):
            found.append((product.lineno, "text or lists may not be repeated with *"))
    return found + _growth_problems(every)


def _growth_problems(every: list[nodes.Node]) -> list[tuple[int, str]]:
    """Numbers and formats written out that would make a value over MAX_VALUE, and lipsum()."""
    found = []
    for call in (node for node in every if isinstance(node, nodes.Call | nodes.Filter)):
        if isinstance(call, nodes.Call) and _names(call.node, NOT_THERE):
            found.append((call.lineno, f"{call.node.name}() is not available in a survey"))
            continue
        args = [*call.args, *(kw.value for kw in call.kwargs)]
        if any(abs(n) > MAX_VALUE for n in map(_number, args) if n is not None):
            what = call.name if isinstance(call, nodes.Filter) else "a call"
            found.append((call.lineno, f"{what}: a number over {MAX_VALUE} would make a huge text"))
        fmt = _written_format(call)
        if fmt is not None and format_problem(*fmt):
            found.append((call.lineno, format_problem(*fmt)))
    for mod in (node for node in every if isinstance(node, nodes.Mod)):
        if _is_text(mod.left) and isinstance(mod.left, nodes.Const):
            problem = format_problem(mod.left.value, printf=True)
            if problem:
                found.append((mod.lineno, problem))
    return found


def _names(node: nodes.Node, names) -> bool:
    """Whether `node` is a plain name among `names`."""
    return isinstance(node, nodes.Name) and node.name in names


def _written_format(call) -> tuple[str, bool] | None:
    """A format string written out: `'...' | format(...)` or `'...'.format(...)`; None else."""
    if isinstance(call, nodes.Filter) and call.name == "format":
        target = call.node
        printf = True
    elif isinstance(call, nodes.Call) and isinstance(call.node, nodes.Getattr):
        target, printf = call.node.node, False
        if call.node.attr not in ("format", "format_map"):
            return None
    else:
        return None
    if isinstance(target, nodes.Const) and isinstance(target.value, str):
        return target.value, printf
    return None


def _number(node: nodes.Node) -> float | None:
    """The value of a number written out (`10`, `-5`, `10**9`, `4 * 1000`); None for others."""
    if isinstance(node, nodes.Const):
        value = node.value
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if isinstance(node, nodes.Neg):
        inner = _number(node.node)
        return None if inner is None else -inner
    if isinstance(node, nodes.Pow | nodes.Mul):
        left, right = _number(node.left), _number(node.right)
        if left is None or right is None:
            return None
        if isinstance(node, nodes.Mul):
            return left * right
        if abs(right) > MAX_EXPONENT or abs(left) > MAX_VALUE:
            return float("inf")
        return float(left) ** right if right >= 0 else None
    return None


def _is_text(node: nodes.Node) -> bool:
    """Whether a node is text written out (`'x'`) or joined with `~`."""
    return (isinstance(node, nodes.Const) and isinstance(node.value, str)) or isinstance(
        node, nodes.Concat
    )


def _literal_length(node: nodes.Node) -> int | None:
    """How many items a list written out or range() of numbers has; None for anything else."""
    if isinstance(node, nodes.List | nodes.Tuple):
        return len(node.items)
    if (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name == "range"
        and not node.kwargs
        and node.args
        and all(isinstance(a, nodes.Const) and type(a.value) is int for a in node.args)
    ):
        try:
            return len(range(*(a.value for a in node.args)))
        except (TypeError, ValueError):
            return None
    return None
