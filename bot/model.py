"""The survey model: what a survey file means once it has been read and checked."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property

from bot.templates import Expr, Text, canonical
from bot.words import ALL_COMMAND_WORDS, ENGLISH

QUESTION_TYPES = ("text", "choice", "multi", "yesno", "number", "scale", "date", "note", "language")
NOTE, LANGUAGE = "note", "language"  # a note takes no reply; a language question sets one
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
# The wide export's own columns, before one per question (SPEC 5), and the column it adds
# with test sessions: the export writes them, the XLSForm import keeps question ids off them.
EXPORT_COLUMNS = (
    "session_id",
    "phone",
    "survey_version",
    "status",
    "started_at",
    "completed_at",
    "language",
    "arm",
    "order",
    "disposition",  # SPEC 11: the session's own AAPOR code, interim or not
    "attempts",  # messages the bot started for it that Twilio took
)
TEST_COLUMN = "test"


DAY = 24 * 60  # minutes in a day: a window's end may be 24:00
WINDOW = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
WINDOW_EXAMPLE = '"08:00-21:00" ("00:00-24:00" for any time)'


@dataclass(frozen=True)
class SendWindow:
    """When a message may reach a respondent, in their local time: from `start` to `end`."""

    start: int  # minutes after midnight, included
    end: int  # minutes after midnight, excluded; DAY for midnight at the end of the day

    @property
    def always(self) -> bool:
        """Whether the window is the whole day, so no time zone matters."""
        return self.start == 0 and self.end == DAY

    def __str__(self) -> str:
        return "-".join(f"{m // 60:02d}:{m % 60:02d}" for m in (self.start, self.end))


def parse_window(text: str) -> SendWindow:
    """A window written `HH:MM-HH:MM`; ValueError saying what is wrong otherwise."""
    match = WINDOW.fullmatch(text.strip())
    if match is None:
        raise ValueError(f'must be two times like {WINDOW_EXAMPLE}, not "{text}"')
    hours_start, minutes_start, hours_end, minutes_end = map(int, match.groups())
    start, end = hours_start * 60 + minutes_start, hours_end * 60 + minutes_end
    for hours, minutes, at in ((hours_start, minutes_start, start), (hours_end, minutes_end, end)):
        if minutes > 59 or at > DAY:
            raise ValueError(f'has "{hours}:{minutes:02d}", which is not a time (00:00 to 24:00)')
    if start >= end:
        # An overnight window is far more often a slip than a wish: say so rather than guess.
        raise ValueError(f'must start before it ends (it cannot span midnight), not "{text}"')
    return SendWindow(start, end)


DEFAULT_SEND_WINDOW = SendWindow(8 * 60, 21 * 60)  # US rules: 8 a.m. to 9 p.m. where they live


@dataclass(frozen=True)
class Choice:
    """One option of a choice or multi question."""

    label: str
    value: str
    aliases: tuple[str, ...] = ()
    fixed: bool = False  # with shuffle_choices: stays last, in file order (SPEC 12)


@dataclass(frozen=True)
class Branch:
    """One `next` entry: when `condition` holds after an answer, go to `goto`."""

    condition: Expr
    goto: str  # a later question id, or END
    outcome: str | None = None  # with goto END: refused or ineligible (SPEC 11)


@dataclass(frozen=True)
class Question:
    """One question of a survey."""

    id: str
    type: str
    text: Text
    choices: tuple[Choice, ...] = ()
    min: int | float | date | str | None = None  # a date question's may be "today"
    max: int | float | date | str | None = None
    integer: bool = False
    max_length: int | None = None
    optional: bool = False
    when: Expr | None = None
    next: tuple[Branch, ...] = ()
    error: Text | None = None
    constraint: Expr | None = None  # over `value` (the reply as read) and `answers`
    shuffle_choices: bool = False  # choices shown in a random order per session (SPEC 12)
    line: int = 0


@dataclass(frozen=True)
class Quota:
    """Completes wanted from sessions whose `when` holds (SPEC 12)."""

    when: Expr
    target: int
    line: int = 0

    @property
    def key(self) -> str:
        """What its count is stored under: its condition's meaning (`quota_key`)."""
        return quota_key(self.when.source)


QUOTA_KEY = "when:"  # what a quota's key starts with; older keys were the condition's text


@functools.lru_cache(maxsize=1024)
def quota_key(source: str) -> str:
    """The key a quota with condition `source` is counted under, in every version.

    A digest of the parsed condition (bot.templates.canonical), so rewording it without
    changing its meaning (quotes, spaces, parentheses) keeps its count, and a key of any
    condition fits the database's key column.
    """
    return QUOTA_KEY + hashlib.sha256(canonical(source).encode()).hexdigest()


@dataclass(frozen=True)
class Arm:
    """One arm of an experiment: new cases get it in `weight` of every block (SPEC 12)."""

    id: str
    weight: int


@dataclass(frozen=True)
class SurveyInfo:
    """What templates see of a survey: its id and title, not its file's path or source."""

    id: str
    title: str


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
    send_window: SendWindow = DEFAULT_SEND_WINDOW
    smart_encoding: bool = False  # send Twilio's GSM-7 replacements (’ -> ') in every message
    help: Text | None = None  # the reply to HELP, replacing the standard one
    partial_after: str | None = None  # answering this question or a later one: a partial
    recontact: tuple[timedelta, ...] = ()  # delays of the re-contacts of a silent invitation
    languages: tuple[str, ...] = (ENGLISH,)  # the first is the default
    target: int | None = None  # completes wanted in all: then the survey is closed
    quotas: tuple[Quota, ...] = ()
    quota_full: Text | None = None  # instead of the outro when a quota is full
    closed: Text | None = None  # the reply to a keyword once `target` is reached
    arms: tuple[Arm, ...] = ()
    shuffle: tuple[tuple[str, ...], ...] = ()  # groups of consecutive question ids
    keyword_languages: dict[str, str] = field(default_factory=dict, compare=False)
    path: str = ""
    source: str = field(default="", repr=False, compare=False)
    # Each top-level key's line and its items' (bot.loader.line_of), read when it was loaded.
    key_lines: dict[str, tuple[int, dict[str, int]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # The same version in each of its languages (texts, labels, aliases), by code.
    translations: dict[str, Survey] = field(default_factory=dict, repr=False, compare=False)
    warnings: tuple = field(default=(), compare=False)  # bot.loader Problems worth a look

    @property
    def language(self) -> str:
        """The default language: the first listed."""
        return self.languages[0]

    def in_language(self, code: str | None) -> Survey:
        """This version as seen in language `code`; the default language's for any other."""
        return self.translations.get(code or "", self)

    def keyword_language(self, keyword: str) -> str:
        """The language a keyword (as stored) starts this survey in."""
        return self.keyword_languages.get(keyword, self.language)

    @cached_property
    def by_id(self) -> dict[str, Question]:
        """Questions by id."""
        return {q.id: q for q in self.questions}

    @cached_property
    def block_size(self) -> int:
        """How many new cases a block of arm assignments holds: the sum of the weights."""
        return sum(arm.weight for arm in self.arms)

    @cached_property
    def info(self) -> SurveyInfo:
        """The survey as its templates see it (`survey.id`, `survey.title`)."""
        return SurveyInfo(self.id, self.title)

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

    def expires(self, updated_at: datetime) -> datetime:
        """When a session last active at `updated_at` expires, the same rule seen forwards."""
        return updated_at + self.expire_after


# Every command word of every built-in language (bot.words), and YES (opt-in while opted
# out): what a keyword must not be.
COMMAND_WORDS = ALL_COMMAND_WORDS | {"yes"}
