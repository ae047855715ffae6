"""The geometry of the studio's charts; templates/studio/_charts.html draws them as SVG.

Charts are drawn on the server, with every number written as text, so a page
reads the same without JavaScript, in print and to a screen reader.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot import values
from bot.model import Question

WIDTH = 560  # the SVG's own units; it scales to the page
LABEL_WIDTH = 180  # bars: room for the labels on the left
FIGURE_WIDTH = 100  # bars: room for the count and its percentage after the bar
ROW = 26  # bars: height of one row
# Characters of a label shown, the whole label in its tooltip: at 13px a character
# may take 8 units, and 26 of them overran the label's 180 (cut at the left edge).
LONGEST_LABEL = 21
BINS = 10  # histogram: at most this many bins
COLUMNS_HEIGHT = 160  # histogram and days: the plot's height
MAX_DAYS = 62  # dates: up to this many days shown by day, then by week, then by month
MAX_WEEKS = 60


@dataclass(frozen=True)
class Bar:
    """One labelled bar: its text, its count and its length in SVG units."""

    label: str
    full: str
    n: int
    length: float
    share: str = ""  # the count's percentage of the chart's whole ("" when there is none)


def percent(part: float | None) -> str:
    """A share as a whole percentage, or a dash when there is nothing to divide."""
    return "–" if part is None else f"{100 * part:.0f}%"


def share(part: int, whole: int) -> str:
    """`part` of `whole` as a percentage."""
    return percent(part / whole if whole else None)


def bars(question: Question, counts: dict[str, int], answered: int | None = None) -> list[Bar]:
    """Bars for choice, multi, yes/no and scale counts, labelled as respondents saw them.

    Percentages are of the respondents who `answered` (a multi's add up to more than 100).
    """
    names = {c.value: c.label for c in question.choices} | {"yes": "Yes", "no": "No"}
    return _bars([(names.get(value, value), n) for value, n in counts.items()], answered)


def days(by_day: dict[str, int]) -> list[Bar]:
    """Bars for the answers of a date question on a continuous axis, days without answers
    included: by day over up to MAX_DAYS days, else by week, else by month."""
    found = {date.fromisoformat(day): n for day, n in by_day.items()}
    if not found:
        return []
    first, last = min(found), max(found)
    if (last - first).days < MAX_DAYS:
        periods = {first + timedelta(days=i): 0 for i in range((last - first).days + 1)}
        key, label = (lambda d: d), (lambda d: d.isoformat())
    elif (last - first).days < MAX_WEEKS * 7:
        monday = first - timedelta(days=first.weekday())
        weeks = (last - monday).days // 7 + 1
        periods = {monday + timedelta(weeks=i): 0 for i in range(weeks)}
        key = lambda d: d - timedelta(days=d.weekday())  # noqa: E731 - one of three
        label = lambda d: f"week of {d.isoformat()}"  # noqa: E731
    else:
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        periods = {_month(first, i): 0 for i in range(months)}
        key, label = (lambda d: d.replace(day=1)), (lambda d: d.strftime("%Y-%m"))
    for day, n in found.items():
        periods[key(day)] += n
    return _bars([(label(period), n) for period, n in periods.items()])


def _month(first: date, months_on: int) -> date:
    """The first day of the month `months_on` months after `first`'s."""
    number = first.year * 12 + first.month - 1 + months_on
    return date(number // 12, number % 12 + 1, 1)


_PIPED = re.compile(r"\{\{-?\s*answers\.(\w+)[^}]*\}\}")
_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def heading(source: str) -> str:
    """A question's text as a heading: `{{ answers.name }}` as `[name]`, tags left out."""
    text = _PIPED.sub(lambda m: f"[{m[1]}]", source)
    text = _EXPRESSION.sub("[…]", _TAG.sub("", text))
    return " ".join(text.split())


def histogram(stored: dict[str, int]) -> list[Bar]:
    """Bars for a number question's answers: up to BINS equal ranges from min to max (of the
    numbers a reply can give, as in the stats: `values.is_number`)."""
    numbers = [(values.load(v), n) for v, n in stored.items()]
    numbers = [(v, n) for v, n in numbers if values.is_number(v)]
    if not numbers:
        return []
    low, high = min(v for v, _ in numbers), max(v for v, _ in numbers)
    whole = all(isinstance(v, int) for v, _ in numbers)
    step = _step(low, high, whole)
    counts = [0] * (int((high - low) // step) + 1)
    for value, n in numbers:
        counts[int((value - low) // step)] += n
    return _bars([(_range(low + i * step, step, whole), n) for i, n in enumerate(counts)])


def _step(low: float, high: float, whole: bool) -> float:
    """The width of a bin: whole numbers get whole steps."""
    step = (high - low) / BINS or 1
    return max(1, math.ceil(step)) if whole else step


def _range(start: float, step: float, whole: bool) -> str:
    """A bin's label: `5` or `5–9` for whole numbers, `1.5–3` otherwise."""
    if whole:
        end = start + step - 1
        return f"{start:g}" if end == start else f"{start:g}–{end:g}"
    return f"{start:g}–{start + step:g}"


def _bars(rows: list[tuple[str, int]], whole: int | None = None) -> list[Bar]:
    """Bars scaled so the largest count fills the plot, each with its share of `whole`
    (default: of all the bars)."""
    top = max((n for _, n in rows), default=0) or 1
    whole = sum(n for _, n in rows) if whole is None else whole
    plot = WIDTH - LABEL_WIDTH - FIGURE_WIDTH
    return [
        Bar(_short(label), label, n, plot * n / top, share(n, whole) if whole else "")
        for label, n in rows
    ]


def _short(label: str) -> str:
    """A label cut to fit on the left of its bar."""
    return label if len(label) <= LONGEST_LABEL else label[: LONGEST_LABEL - 1] + "…"


def height(rows: list) -> int:
    """The SVG height of a bar chart of these rows."""
    return ROW * max(len(rows), 1) + 4


def duration(seconds: float | None) -> str:
    """A time to complete as people say it: `45 s`, `3 min 20 s`, `2 h 5 min`."""
    if seconds is None:
        return "–"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
