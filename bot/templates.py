"""Sandboxed Jinja templates and expressions for survey texts and conditions."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

log = logging.getLogger(__name__)


class _Missing(Undefined):
    """An unanswered question: renders as nothing and is falsy."""


# Immutable sandbox: an author's template can read answers but never call
# methods that change them or reach Python internals.
ENV = ImmutableSandboxedEnvironment(
    undefined=_Missing, autoescape=False, keep_trailing_newline=False
)
_STRICT_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


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
        try:
            compiled = ENV.from_string(source)
            # Text without a single tag renders the same for everyone: render it now.
            plain = all(token == "data" for _, token, _ in ENV.lex(source))
        except TemplateSyntaxError as err:
            raise _parse_error(err) from None
        return cls(source, compiled, compiled.render().strip() if plain else None)

    def render(self, context: dict[str, Any]) -> str:
        """Render with `context`; a failing template falls back to its source text."""
        if self._constant is not None:
            return self._constant
        try:
            return self._compiled.render(context).strip()
        except Exception:  # an author's runtime error must never break a conversation
            log.warning("template failed to render: %r", self.source, exc_info=True)
            return self.source.strip()


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
            return bool(self._compiled(**context))
        except Exception:
            return False
