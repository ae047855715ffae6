"""What research formats know of a survey's variables (SPEC 13): names, labels and codes.

One `Variable` per column of the wide CSV export with `--multi columns`, in
the same order, with what SPSS, Stata and the codebook need: a label in every
language, numeric codes with value labels, and a name valid for each format.
And where every research file is written first: beside its path, moved there
once whole (`replaced`).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.model import LANGUAGE, NOTE, Question, Survey
from storage.export import TEST_HEAD

FORMATS = ("spss", "stata", "floip", "codebook")  # the research exports (SPEC 13)

# How a variable is written in .sav and .dta files.
STRING, NUMBER, CODE, FLAG, DATE, DATETIME = "string", "number", "code", "flag", "date", "datetime"
YES_NO = {True: 1, False: 0}  # a yes/no answer's code
YES_NO_LABELS = {1: "Yes", 0: "No"}
PICKED = {1: "Picked", 0: "Not picked"}  # a multi choice's 0/1 variable
WHOLE = re.compile(r"-?\d{1,9}")  # a choice value that is its own code

# The session columns of the wide export: their label and how they are written.
SESSION_COLUMNS = {
    "session_id": ("Session id", NUMBER),
    "phone": ("Phone number (E.164), or its keyed hash", STRING),
    "survey_version": ("Survey version the session started on", STRING),
    "status": ("Session status: open, completed, opted_out, expired, abandoned", STRING),
    "started_at": ("Started (UTC)", DATETIME),
    "completed_at": ("Completed (UTC)", DATETIME),
    "language": ("Language of the session (code)", STRING),
    "arm": ("Experiment arm", STRING),
    "order": ("Order of the shuffled questions asked", STRING),
    "disposition": ("Disposition: the AAPOR code of this session's outcome", STRING),
    "attempts": ("Messages the bot started for this session that Twilio accepted", NUMBER),
    TEST_HEAD: ("Test session (1) or real (0)", FLAG),
}


@dataclass(frozen=True)
class Format:
    """A file format's rules for variable names and the length of labels."""

    name: str
    longest_name: int  # characters (all names are ASCII)
    longest_label: int  # bytes of UTF-8 in a variable label
    longest_value_label: int  # bytes of UTF-8 in a value label
    reserved: frozenset[str]  # names a variable may not have (compared in lower case)
    case_sensitive: bool
    # pyreadstat names a variable's value-label set after it, followed by how many
    # labelled variables came before (`priority` -> `priority3`). A .dta file keeps
    # that name, held to longest_name like a variable's and unique; a .sav has none.
    names_label_sets: bool = False


SPSS_RESERVED = "all and by eq ge gt le lt ne not or to with"
STATA_RESERVED = (
    "_all _b byte _coef _cons double float if in int long _n _pi _pred _rc _skip strl using with"
)
SPSS = Format(
    "SPSS",
    longest_name=64,
    longest_label=256,
    longest_value_label=120,
    reserved=frozenset(SPSS_RESERVED.split()),
    case_sensitive=False,
)
STATA = Format(
    "Stata",
    longest_name=32,
    longest_label=80,  # characters in Stata; cut as bytes, which is never longer
    longest_value_label=32000,
    reserved=frozenset(STATA_RESERVED.split()) | {f"str{n}" for n in range(1, 2046)},
    case_sensitive=True,
    names_label_sets=True,
)


@dataclass
class Variable:
    """One column of the wide export, as research formats describe it."""

    column: str  # its name in the CSV
    kind: str  # STRING, NUMBER, CODE, FLAG, DATE or DATETIME
    labels: dict[str, str]  # language code -> label; the first is the default language's
    question: Question | None = None  # None: a session column
    choice: str | None = None  # a multi question's choice value, for its 0/1 variable
    codes: dict = field(default_factory=dict)  # stored value -> numeric code (CODE)
    value_labels: dict[int, dict[str, str]] = field(default_factory=dict)  # code -> lang -> label
    names: dict[str, str] = field(default_factory=dict)  # format name -> variable name

    @property
    def label(self) -> str:
        """The label in the survey's default language."""
        return next(iter(self.labels.values()), self.column)

    def code_labels(self) -> dict[int, str]:
        """Each code's label in the default language."""
        return {code: next(iter(by.values())) for code, by in self.value_labels.items()}


def variables(head: list[str], survey: Survey, history: list[Survey]) -> list[Variable]:
    """Every variable of the wide export (session columns `head`, then questions), named."""
    found = [_session_variable(name, survey) for name in head]
    for question, versions in _questions(survey, history):
        found += _question_variables(question, versions, survey)
    for rules in (SPSS, STATA):
        labelled = [bool(v.value_labels) for v in found]  # as statfiles writes them
        names = unique_names([v.column for v in found], rules, labelled)
        for variable, name in zip(found, names, strict=True):
            variable.names[rules.name] = name
    return found


def _session_variable(name: str, survey: Survey) -> Variable:
    """A session column: its fixed label, in every language alike."""
    label, kind = SESSION_COLUMNS.get(name, (name, STRING))
    return Variable(name, kind, {code: label for code in survey.languages})


def _questions(survey: Survey, history: list[Survey]) -> list[tuple[Question, list[Survey]]]:
    """Each question with an export column, newest version's order then older ones' ids.

    A question is described by the newest version that has it; `versions` are
    every version that has it, newest first.
    """
    found: dict[str, tuple[Question, list[Survey]]] = {}
    for version in [survey, *[older for older in history if older.version != survey.version]]:
        for question in version.questions:
            if question.type == NOTE:
                continue
            if question.id not in found:
                found[question.id] = (question, [])
            found[question.id][1].append(version)
    return list(found.values())


def _question_variables(question: Question, versions: list[Survey], survey: Survey):
    """A question's variables: one, or one 0/1 variable per choice of a multi."""
    labels = _texts(question.id, versions, survey, lambda q: q.text.source)
    if question.type == "multi":
        return [
            Variable(
                f"{question.id}.{value}",
                FLAG,
                _choice_labels(question.id, value, versions, survey),
                question,
                choice=value,
                value_labels={code: {survey.language: text} for code, text in PICKED.items()},
            )
            for value in _values(question.id, versions)
        ]
    variable = Variable(question.id, _KINDS.get(question.type, STRING), labels, question)
    if question.type == "yesno":
        variable.codes = dict(YES_NO)
        variable.value_labels = {
            code: {survey.language: text} for code, text in YES_NO_LABELS.items()
        }
    elif question.type in ("choice", LANGUAGE):
        choices = _values(question.id, versions)
        variable.codes = choice_codes(choices)
        variable.value_labels = {
            variable.codes[value]: _choice_labels(question.id, value, versions, survey)
            for value in choices
        }
    return [variable]


_KINDS = {"number": NUMBER, "scale": NUMBER, "date": DATE, "choice": CODE, "language": CODE}
_KINDS |= {"yesno": CODE}


def _texts(qid: str, versions: list[Survey], survey: Survey, text) -> dict[str, str]:
    """A question's text in each of the survey's languages, from the newest version with it."""
    found = {}
    for code in survey.languages:
        for version in versions:
            local = version.in_language(code)
            if code in version.languages and qid in local.by_id:
                found[code] = text(local.by_id[qid])
                break
        else:
            found[code] = text(versions[0].by_id[qid])
    return found


def _choice_labels(qid: str, value: str, versions: list[Survey], survey: Survey) -> dict:
    """A choice's label in each language, from the newest version that has the choice."""
    having = [v for v in versions if any(c.value == value for c in v.by_id[qid].choices)]

    def label(question: Question) -> str:
        return next((c.label for c in question.choices if c.value == value), value)

    return _texts(qid, having, survey, label)


def _values(qid: str, versions: list[Survey]) -> list[str]:
    """A question's choice values: the newest version's order, then values only older had."""
    found: list[str] = []
    for version in versions:
        found += [c.value for c in version.by_id[qid].choices if c.value not in found]
    return found


def choice_codes(choices: list[str]) -> dict[str, int]:
    """Numeric codes: a whole-number value is its own code, others 1, 2, ... in order."""
    codes = {value: int(value) for value in choices if WHOLE.fullmatch(value)}
    taken, next_code = set(codes.values()), 1
    for value in choices:
        if value in codes:
            continue
        while next_code in taken:
            next_code += 1
        codes[value] = next_code
        taken.add(next_code)
    return codes


def unique_names(
    columns: list[str], rules: Format, labelled: list[bool] | None = None
) -> list[str]:
    """Each column's variable name, valid for the format and unique among them.

    `labelled` marks the columns with value labels: where the format names
    their label sets (Stata), the name leaves room for the set's count and
    makes a set name no other set has.
    """
    seen: set[str] = set()  # variables' names (keys)
    sets: set[str] = set()  # value-label sets' names
    names = []
    for column, has_labels in zip(columns, labelled or [False] * len(columns), strict=True):
        tag = str(len(sets)) if has_labels and rules.names_label_sets else ""
        longest = rules.longest_name - len(tag)
        name = valid_name(column, rules, longest)
        candidate, count = name, 1
        while _key(candidate, rules) in seen or (tag and candidate + tag in sets):
            count += 1
            suffix = f"_{count}"
            candidate = name[: longest - len(suffix)] + suffix
        seen.add(_key(candidate, rules))
        if tag:
            sets.add(candidate + tag)
        names.append(candidate)
    return names


def _key(name: str, rules: Format) -> str:
    """What two names must not share: Stata tells case apart, SPSS does not."""
    return name if rules.case_sensitive else name.lower()


def valid_name(column: str, rules: Format, longest: int | None = None) -> str:
    """A column's name made valid: ASCII letters, digits and `_`, a letter first, cut to fit."""
    longest = longest or rules.longest_name
    ascii_only = unicodedata.normalize("NFKD", column).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9_]", "_", ascii_only)
    if not name or not name[0].isalpha():
        name = "v" + name
    name = name[:longest]
    if name.lower() in rules.reserved:
        name = (name + "_")[:longest]
    return name


def cut(text: str, limit: int) -> str:
    """`text` on one line, cut to at most `limit` bytes of UTF-8 without splitting a character."""
    flat = " ".join(text.split())
    data = flat.encode()
    if len(data) <= limit:
        return flat
    return data[:limit].decode(errors="ignore")


@contextmanager
def replaced(target: Path) -> Iterator[Path]:
    """A new file beside `target` to write, moved onto it only once the writing ends well.

    A failed export leaves neither an empty nor a partial file, and an older
    file at `target` stays as it was. The new file is made first, so a missing
    or read-only folder fails before any work, as an OSError.
    """
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    partial = target.with_name(f".{target.stem}.partial-{secrets.token_hex(4)}{target.suffix}")
    partial.touch(exist_ok=False)
    try:
        yield partial
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
