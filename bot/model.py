"""The survey model: what a survey file means once it has been read and checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from bot.templates import Expr, Text

QUESTION_TYPES = ("text", "choice", "multi", "yesno", "number", "scale", "date")
END = "end"

# A session's status (SPEC section 5): every module names them from here.
OPEN, COMPLETED, OPTED_OUT, EXPIRED, ABANDONED = (
    "open",
    "completed",
    "opted_out",
    "expired",
    "abandoned",
)
STATUSES = (OPEN, COMPLETED, OPTED_OUT, EXPIRED, ABANDONED)


@dataclass(frozen=True)
class Choice:
    """One option of a choice or multi question."""

    label: str
    value: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Branch:
    """One `next` entry: when `condition` holds after an answer, go to `goto`."""

    condition: Expr
    goto: str  # a later question id, or END


@dataclass(frozen=True)
class Question:
    """One question of a survey."""

    id: str
    type: str
    text: Text
    choices: tuple[Choice, ...] = ()
    min: int | float | None = None
    max: int | float | None = None
    integer: bool = False
    max_length: int | None = None
    optional: bool = False
    when: Expr | None = None
    next: tuple[Branch, ...] = ()
    error: Text | None = None
    line: int = 0


@dataclass(frozen=True)
class Survey:
    """A survey in one version: the file's content at one moment."""

    id: str
    version: str  # first 12 hex digits of the SHA-256 of the file's bytes
    questions: tuple[Question, ...]
    title: str = ""
    keywords: tuple[str, ...] = ()  # upper case, as matched after normalisation
    default: bool = False
    intro: Text | None = None
    outro: Text | None = None
    reminder: Text | None = None
    max_retries: int = 2
    expire_after: timedelta = timedelta(hours=24)
    date_order: str = "MDY"
    timezone: str = "UTC"
    path: str = ""
    source: str = field(default="", repr=False, compare=False)

    @cached_property
    def by_id(self) -> dict[str, Question]:
        """Questions by id."""
        return {q.id: q for q in self.questions}

    @property
    def name(self) -> str:
        """The title, or the id when the survey has none."""
        return self.title or self.id

    def idle_before(self, now: datetime) -> datetime:
        """Open sessions of this version last active before this moment have expired.

        The one expiry rule: the engine applies it to a session it reads, and
        storage turns it into SQL (`updated_at < idle_before`) for lists and exports.
        """
        return now - self.expire_after

    def expired(self, updated_at: datetime, now: datetime) -> bool:
        """Whether a session last active at `updated_at` has expired by `now`."""
        return updated_at < self.idle_before(now)


# Command words (SPEC section 2), matched against the whole normalised message.
OPT_OUT_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
)
OPT_IN_WORDS = frozenset({"start", "unstop", "yes"})  # "yes" only while opted out
HELP_WORDS = frozenset({"help", "info"})
COMMAND_WORDS = OPT_OUT_WORDS | OPT_IN_WORDS | HELP_WORDS | {"restart", "back", "skip"}
