"""Answer values as stored (JSON) and as exported (CSV cells)."""

from __future__ import annotations

import json
import math
import re
from datetime import date
from typing import Any

_DATE = "$date"  # JSON has no date type: a tagged object keeps dates dates
MULTI_SEPARATOR = ";"  # joins a multi's picks in one cell: no choice may contain it
# A number answer has at most 15 digits before its decimal point (docs/authoring.md): each whole
# number that size is exact in a double (2**53 is about 9.007e15), and sums and means of millions
# of them stay far from overflowing, in Python as in SPSS and Stata.
NUMBER_DIGITS = 15
NUMBER_LIMIT = 10**NUMBER_DIGITS  # a number answer is larger than -NUMBER_LIMIT, smaller than it


def _encode(value: Any) -> Any:
    """Turn a date into its tagged JSON form."""
    if isinstance(value, date):
        return {_DATE: value.isoformat()}
    raise TypeError(f"cannot store {type(value).__name__}")


def _decode(obj: dict) -> Any:
    """Turn a tagged JSON object back into a date."""
    if len(obj) == 1 and _DATE in obj:
        return date.fromisoformat(obj[_DATE])
    return obj


def dump(value: Any) -> str:
    """One value (or a dict of answers) as JSON text."""
    return json.dumps(value, default=_encode, ensure_ascii=False, separators=(",", ":"))


_DECODER = json.JSONDecoder(object_hook=_decode)  # json.loads would build one per call


def load(text: str | None) -> Any:
    """The value that `dump` wrote."""
    return None if text is None else _DECODER.decode(text)


def is_number(value: Any) -> bool:
    """Whether a stored value is a number a reply can give: finite, under NUMBER_LIMIT in size.

    An answer stored before the limit (or by hand) may be larger, or inf or nan: results
    and exports count it as no number (left out of stats, missing in SPSS and Stata).
    """
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and abs(value) < NUMBER_LIMIT  # False for nan too
    )


def to_cell(value: Any) -> str:
    """An answer as a CSV cell: yes/no, `;`-joined picks, ISO dates, plain numbers (inf and
    nan, which no reply gives, empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return MULTI_SEPARATOR.join(to_cell(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return ""  # inf or nan, stored before number replies had a limit: no number at all
    return str(value)


# SPEC 5: digits with an optional leading - and , or . separators. A leading + is
# guarded like =: a spreadsheet reads "+4" as the formula =+4.
_PLAIN_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)*")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """A respondent's text made safe for spreadsheets: a would-be formula gets a leading '."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text
