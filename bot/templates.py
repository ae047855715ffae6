"""Sandboxed Jinja templates and expressions for survey texts and conditions."""

from __future__ import annotations

import functools
import logging
import re
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

log = logging.getLogger(__name__)

# What a template may do (SPEC 1). Checked when the file loads: a loop goes over
# a list written out or range() of at most MAX_LOOP items, never inside another
# loop, and text is never repeated with `*`. Checked while rendering, for what
# loading cannot judge (and for versions stored before these rules): a render
# stops after RENDER_STEPS loop items and output pieces, RENDER_SECONDS, or
# RENDER_OUTPUT characters, keeping the text made until then.
MAX_LOOP = 100
RENDER_STEPS = 10_000
RENDER_SECONDS = 0.05
RENDER_OUTPUT = 1600  # Twilio's limit for a whole message
LOOP_BOUND = f"a loop may only go over a list written out or range(N) with N at most {MAX_LOOP}"
MAX_EXPONENT = 64  # `**` beyond it makes numbers whose computing alone stalls a worker


class _Missing(Undefined):
    """An unanswered question: renders as nothing and is falsy."""


class RenderLimit(RuntimeError):
    """A render went past its budget of steps, time or output."""


class _Budget:
    """The steps and time one render may still spend."""

    def __init__(self):
        self.steps = 0
        self.deadline = time.monotonic() + RENDER_SECONDS

    def spend(self, steps: int = 1) -> None:
        """Count `steps`; RenderLimit once the steps or the time are used up."""
        self.steps += steps
        if self.steps > RENDER_STEPS:
            raise RenderLimit(f"more than {RENDER_STEPS} steps")
        if time.monotonic() > self.deadline:
            raise RenderLimit(f"more than {RENDER_SECONDS} s")


_BUDGET: ContextVar[_Budget | None] = ContextVar("render_budget", default=None)


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


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with `*` and `**` checked before they can build something huge."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        """Refuse repeating text or lists, and powers too big to compute."""
        if operator == "*" and isinstance(left, str | list | tuple) != isinstance(
            right, str | list | tuple
        ):
            raise RenderLimit("text repeated with *")
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise RenderLimit(f"a power over {MAX_EXPONENT}")
        return super().call_binop(context, operator, left, right)


def _sandbox(**options) -> _Sandbox:
    """A sandbox whose range() counts against the render's budget."""
    env = _Sandbox(autoescape=False, **options)
    env.globals["range"] = _range
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
        """Compile `source`, raising TemplateError if it does not parse."""
        if "{" not in source:  # no tag can start: the text renders as itself, Jinja unneeded
            return cls(source, None, _NEWLINE.sub("\n", source).strip())
        try:
            compiled = ENV.from_string(source)
            # Text without a single tag renders the same for everyone: render it now.
            plain = all(token == "data" for _, token, _ in ENV.lex(source))
        except TemplateSyntaxError as err:
            raise _parse_error(err) from None
        return cls(source, compiled, compiled.render().strip() if plain else None)

    def render(self, context: dict[str, Any], max_output: int | None = RENDER_OUTPUT) -> str:
        """Render with `context` within the budget; a failing part is left out.

        A render that fails or is stopped by its budget gives the text without
        the parts that failed: never a stalled worker, a huge message or the
        template's source. `max_output=None`
        (the cost report's worst case) lets the output run past RENDER_OUTPUT.
        """
        if self._constant is not None:
            return self._constant
        try:
            return _within_budget(self._compiled, context, max_output).strip()
        except RenderLimit as err:
            log.warning("template stopped (%s): %r", err, self.source[:200])
            return self._without_failing_parts(context, max_output or RENDER_OUTPUT)
        except Exception as err:  # an author's runtime error must never break a conversation
            log.warning("template failed to render (%s): %r", err, self.source[:200])
            # The parts that render, never the template's source: a respondent must not
            # receive `{{ answer.name }}`.
            return self._without_failing_parts(context, max_output or RENDER_OUTPUT)

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
        """Compile `source`, raising TemplateError if it does not parse."""
        try:
            return cls(source, _STRICT_ENV.compile_expression(source, undefined_to_none=False))
        except TemplateSyntaxError as err:
            raise _parse_error(err) from None

    def is_true(self, context: dict[str, Any]) -> bool:
        """Evaluate; anything that cannot be evaluated (a missing answer...) is false."""
        try:
            with _budgeted():
                return bool(self._compiled(**context))
        except Exception:  # RenderLimit included: a runaway condition is false
            return False


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


def limit_problems(source: str, condition: bool = False) -> list[tuple[int, str]]:
    """What a template does beyond the limits judged at load, as (its line, message)."""
    tree = parsed(f"{{{{ {source} }}}}" if condition else source)
    found = []
    for loop in tree.find_all(nodes.For):
        if next(loop.find_all(nodes.For), None) is not None:
            found.append((loop.lineno, "a loop may not hold another loop"))
        bound = _literal_length(loop.iter)
        if bound is None or bound > MAX_LOOP:
            found.append((loop.lineno, LOOP_BOUND))
    for product in tree.find_all(nodes.Mul):
        if any(
            _literal_length(side) is not None or _is_text(side)
            for side in (product.left, product.right)
        ):
            found.append((product.lineno, "text or lists may not be repeated with *"))
    return found


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
