"""SPSS (.sav) and Stata (.dta) files of the wide export, written by pyreadstat (SPEC 13).

pyreadstat writes a whole data frame at once, so the rows are gathered first,
but compactly: a number is 8 bytes in an array (dates and times included,
already in each format's own units), a repeated text is one shared string.
The database is still read a batch at a time.

pandas, numpy and pyreadstat are imported when a file is written, not when
the app starts: they cost every web worker and command about 60 MB and a
second to import, for an export that few processes ever make.
"""

from __future__ import annotations

import math
from array import array
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Connection

from bot import values
from storage.export import Query, phone_hash, wide_head, wide_sessions
from storage.research import (
    CODE,
    DATE,
    DATETIME,
    FLAG,
    NUMBER,
    SPSS,
    STATA,
    STRING,
    Format,
    Variable,
    cut,
)

MISSING = math.nan


class Units:
    """How a format stores dates and times: a number from its own epoch, with a display format."""

    def __init__(self, epoch: datetime, day: float, second: float, date_format, time_format):
        self.epoch, self.day, self.second = epoch, day, second
        self.date_format, self.time_format = date_format, time_format
        self.digits = 6 if second == 1 else 0  # Stata's %tc holds whole milliseconds

    def of_date(self, day: date) -> float:
        """A date as this format's number."""
        return (day - self.epoch.date()).days * self.day

    def of_time(self, moment: datetime) -> float:
        """A UTC time as this format's number."""
        return round((moment - self.epoch).total_seconds() * self.second, self.digits)


# SPSS counts seconds from 14 October 1582; Stata days (%td) or milliseconds (%tc) from 1960.
# DATETIMEw.d needs w >= 21 + d: PSPP refuses DATETIME23.3.
SPSS_UNITS = Units(datetime(1582, 10, 14, tzinfo=UTC), 86400, 1, "DATE11", "DATETIME24.3")
STATA_UNITS = Units(datetime(1960, 1, 1, tzinfo=UTC), 1, 1000, "%td", "%tc")
STATA_VERSION = 14  # format 118: read by Stata 14 and every later release (15's 119 is not)
FORMATS = {"spss": (SPSS, SPSS_UNITS), "stata": (STATA, STATA_UNITS)}


def write(db: Connection, query: Query, found: list[Variable], fmt: str, path: Path) -> int:
    """Write the .sav (`spss`) or .dta (`stata`) file of the wide export; the rows written."""
    import pyreadstat  # here, not at the top: see the module's docstring

    rules, units = FORMATS[fmt]
    columns = gather(db, query, found, units)
    frame = _frame([v.names[rules.name] for v in found], columns)
    del columns  # the frame holds the data now
    options = _metadata(found, rules, units)
    if fmt == "spss":
        pyreadstat.write_sav(frame, str(path), **options, variable_measure=_measures(found))
    else:
        pyreadstat.write_dta(frame, str(path), **options, version=STATA_VERSION)
    return len(frame)


def _frame(names: list[str], columns: list):
    """A data frame of the columns: floats without a copy, texts as Python strings."""
    import numpy  # here, not at the top: see the module's docstring
    import pandas

    series = {}
    for name, column in zip(names, columns, strict=True):
        if isinstance(column, array):
            series[name] = pandas.Series(numpy.frombuffer(column, dtype="float64"), copy=False)
        else:
            series[name] = pandas.Series(column, dtype=object)
    return pandas.DataFrame(series, copy=False)


def gather(db: Connection, query: Query, found: list[Variable], units: Units) -> list:
    """Each variable's cells over every session: arrays of numbers, lists of shared texts."""
    columns = [array("d") if v.kind != STRING else [] for v in found]
    head = len(wide_head(query))
    texts: dict[str, str] = {}  # one string object for each repeated text
    # (column, cell maker, question id or None for a session column at that position)
    makers = [
        (columns[i], _cell_maker(v, units, query), None if i < head else v.question.id)
        for i, v in enumerate(found)
    ]
    for batch in wide_sessions(db, query):
        for session, answers in batch:
            for i, (column, make, qid) in enumerate(makers):
                cell = make(session[i] if qid is None else answers.get(qid))
                if isinstance(cell, str) and len(cell) <= 64:
                    cell = texts.setdefault(cell, cell)
                column.append(cell)
        if len(texts) > 100_000:  # phone numbers and free texts rarely repeat
            texts.clear()
    return columns


def _cell_maker(variable: Variable, units: Units, query: Query):
    """A function from a stored value to this variable's cell."""
    if variable.column == "phone" and query.hash_key is not None:
        return lambda phone: phone_hash(phone, query.hash_key)
    if variable.kind == STRING:
        return lambda value: "" if value is None else values.to_cell(value)
    if variable.kind == DATETIME:
        return lambda moment: MISSING if moment is None else units.of_time(_utc(moment))
    if variable.kind == DATE:
        return lambda day: units.of_date(day) if isinstance(day, date) else MISSING
    if variable.kind == CODE:
        codes = variable.codes
        return lambda value: codes.get(value, MISSING) if isinstance(value, str | bool) else MISSING
    if variable.kind == FLAG and variable.choice is not None:
        choice = variable.choice
        return lambda picks: float(choice in picks) if isinstance(picks, list) else MISSING
    return _number


def _number(value) -> float:
    """A stored number (or a flag) as a float; anything else is missing.

    So is a number no reply can give now (`values.is_number`): one stored before replies
    had a limit, too long for a double, or inf or nan.
    """
    if isinstance(value, bool) or values.is_number(value):
        return float(value)
    return MISSING


def _utc(moment: datetime | str) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives text in UTC)."""
    if isinstance(moment, str):
        return datetime.fromisoformat(moment).replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _metadata(found: list[Variable], rules: Format, units: Units) -> dict:
    """Variable labels, value labels and date formats, cut to the format's limits."""
    formats = {}
    for v in found:
        name = v.names[rules.name]
        if v.kind == DATE:
            formats[name] = units.date_format
        elif v.kind == DATETIME:
            formats[name] = units.time_format
        elif rules is SPSS and _whole(v):
            formats[name] = "F12.0"  # SPSS would show codes and ids as 1.00
    return {
        "column_labels": {v.names[rules.name]: cut(v.label, rules.longest_label) for v in found},
        "variable_value_labels": {
            v.names[rules.name]: {
                code: cut(label, rules.longest_value_label)
                for code, label in v.code_labels().items()
            }
            for v in found
            if v.value_labels
        },
        "variable_format": formats,
    }


def _whole(v: Variable) -> bool:
    """Whether a numeric variable only holds whole numbers: codes, flags, ids, scales."""
    if v.kind in (CODE, FLAG):
        return True
    if v.question is None:
        return v.kind == NUMBER  # session_id, attempts
    return v.question.type == "scale" or (v.question.type == "number" and v.question.integer)


def _measures(found: list[Variable]) -> dict[str, str]:
    """SPSS measurement levels: codes are nominal, a scale ordinal, numbers scale."""
    levels = {}
    for v in found:
        ordinal = v.question is not None and v.question.type == "scale"
        scale = v.kind in (NUMBER, DATE, DATETIME)
        levels[v.names[SPSS.name]] = "ordinal" if ordinal else "scale" if scale else "nominal"
    return levels
