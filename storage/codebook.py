"""The codebook (SPEC 13): a Markdown description of every variable of the research exports.

It lists the variables in export order with their SPSS and Stata names, labels
in every language, codes, when each question is asked and how many of the
exported sessions answered it (counted in one pass, a batch at a time).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import Connection

from bot.model import Survey
from bot.words import LANGUAGE_NAMES
from storage.export import Query, wide_sessions
from storage.research import CODE, FLAG, SPSS, STATA, Variable

KINDS = {  # how the codebook names a variable's kind, by question type or kind
    "string": "text",
    "number": "number",
    "date": "date",
    "datetime": "date and time (UTC)",
    "flag": "0/1",
}


def counts(db: Connection, query: Query, found: list[Variable]) -> tuple[int, Counter, Counter]:
    """(sessions, sessions answering each question id, (question id, value) picks)."""
    sessions, answered, picks = 0, Counter(), Counter()
    asked = {v.question.id for v in found if v.question is not None}
    coded = {v.question.id for v in found if v.question is not None and v.kind in (CODE, FLAG)}
    for batch in wide_sessions(db, query):
        for _, answers in batch:
            sessions += 1
            for qid in asked.intersection(answers):
                value = answers[qid]
                if value is None:
                    continue
                answered[qid] += 1
                if qid in coded:  # free texts and numbers are counted, not tallied
                    for one in value if isinstance(value, list) else [value]:
                        picks[qid, one] += 1
    return sessions, answered, picks


def codebook(
    versions: list[Survey],
    found: list[Variable],
    tally: tuple[int, Counter, Counter],
    filters: str,
    now: datetime,
) -> str:
    """The whole codebook as Markdown text."""
    survey, (sessions, answered, picks) = versions[0], tally
    lines = _heading(versions, sessions, filters, now)
    lines += ["## Variables", "", "| # | CSV column | SPSS | Stata | type | label |"]
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for number, v in enumerate(found, 1):
        names = f"`{v.column}` | `{v.names[SPSS.name]}` | `{v.names[STATA.name]}`"
        lines.append(f"| {number} | {names} | {_kind(v)} | {_cell(v.label)} |")
    lines.append("")
    for number, v in enumerate(found, 1):
        lines += _entry(number, v, survey, versions, sessions, answered, picks)
    return "\n".join(lines) + "\n"


def _heading(versions: list[Survey], sessions: int, filters: str, now: datetime) -> list[str]:
    """The survey's title, versions, languages and which sessions were counted."""
    survey = versions[0]
    languages = ", ".join(f"`{c}` ({LANGUAGE_NAMES.get(c, c)})" for c in survey.languages)
    listed = ", ".join(f"`{v.version}`" for v in versions)
    return [
        f"# Codebook: {_cell(survey.name)}",
        "",
        f"- Survey: `{survey.id}`",
        f"- Versions (newest first): {listed}",
        f"- Languages (the first is the default): {languages}",
        f"- Sessions counted: {sessions} ({filters})",
        f"- Made: {now.isoformat(timespec='seconds')}",
        "",
    ]


def _kind(v: Variable) -> str:
    """A variable's kind as readers of the codebook know it."""
    if v.question is not None and v.kind in (CODE, FLAG):
        return f"{v.question.type}, coded"
    if v.question is not None:
        return v.question.type
    return KINDS.get(v.kind, v.kind)


def _entry(number, v: Variable, survey, versions, sessions, answered, picks) -> list[str]:
    """One variable's section: names, labels, when asked, how many answered, its codes."""
    lines = [f"### {number}. `{v.column}`", ""]
    lines.append(f"- SPSS: `{v.names[SPSS.name]}`; Stata: `{v.names[STATA.name]}`")
    lines.append(f"- Type: {_kind(v)}")
    if v.question is None:
        lines.append(f"- Label: {_cell(v.label)}")
    for code, label in v.labels.items() if v.question is not None else ():
        lines.append(f"- Label ({code}): {_cell(label)}")
    if v.question is not None:
        qid = v.question.id
        when = f"when `{v.question.when.source}`" if v.question.when is not None else "always"
        lines.append(f"- Asked: {when}")
        if v.question.min is not None or v.question.max is not None:
            low, high = ("" if x is None else x for x in (v.question.min, v.question.max))
            lines.append(f"- Limits: {low} to {high}")
        missing = [s.version for s in versions if qid not in s.by_id]
        if missing:
            lines.append(f"- Not in versions: {', '.join(f'`{m}`' for m in missing)}")
        lines.append(f"- Answered: {answered[qid]} of {sessions} sessions")
    lines.append("")
    if v.value_labels:
        lines += _codes(v, survey, picks, answered)
    return lines


def _codes(v: Variable, survey: Survey, picks: Counter, answered: Counter) -> list[str]:
    """The table of codes: code, stored value, label in each language, sessions with it."""
    languages = list(survey.languages)
    lines = ["| code | value | " + " | ".join(languages) + " | sessions |"]
    lines.append("| --- | --- | " + " | ".join("---" for _ in languages) + " | --- |")
    stored = {code: value for value, code in v.codes.items()}
    qid = v.question.id
    for code, labels in v.value_labels.items():
        if v.kind == FLAG:  # a multi choice: 1 picked, 0 answered without it
            value = v.choice if code == 1 else ""
            count = picks[qid, v.choice] if code == 1 else answered[qid] - picks[qid, v.choice]
        else:
            value = stored[code]
            count = picks[qid, value]
            value = "yes" if value is True else "no" if value is False else value
        texts = " | ".join(_cell(labels.get(c, next(iter(labels.values())))) for c in languages)
        lines.append(f"| {code} | {_cell(str(value))} | {texts} | {count} |")
    lines.append("")
    return lines


def _cell(text: str) -> str:
    """Text for one line of Markdown (a table cell): no line breaks, `|` escaped."""
    return " ".join(text.split()).replace("|", "\\|")
