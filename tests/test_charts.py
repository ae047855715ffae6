"""The studio's chart geometry and headings: what an analyst reads off a results page."""

from __future__ import annotations

import pytest

from bot.model import Choice, Question
from web import charts


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("How satisfied were you, {{ answers.name }}?", "How satisfied were you, [name]?"),
        ("Thanks{% if answers.name %} {{ answers.name }}{% endif %}!", "Thanks [name]!"),
        ("{{ answers.topics | join(', ') }}: why?", "[topics]: why?"),
        ("Today is {{ today }}.", "Today is […]."),
        ("Plain text", "Plain text"),
    ],
)
def test_a_heading_shows_a_readable_placeholder_for_each_piped_answer(source, shown):
    assert charts.heading(source) == shown


def labels_and_counts(bars: list[charts.Bar]) -> list[tuple[str, int]]:
    """What a chart's bars say."""
    return [(bar.full, bar.n) for bar in bars]


def test_dates_are_on_a_continuous_axis_by_day_week_or_month():
    by_day = charts.days({"2026-11-02": 3, "2026-11-05": 1})
    assert labels_and_counts(by_day) == [
        ("2026-11-02", 3), ("2026-11-03", 0), ("2026-11-04", 0), ("2026-11-05", 1),
    ]  # fmt: skip
    by_week = charts.days({"2026-01-01": 1, "2026-03-20": 2, "2026-03-16": 1})
    assert by_week[0].full == "week of 2025-12-29"
    assert labels_and_counts(by_week)[-1] == ("week of 2026-03-16", 3)
    assert len(by_week) == 12 and sum(bar.n for bar in by_week) == 4
    by_month = charts.days({"2024-11-30": 1, "2026-02-01": 5})
    assert labels_and_counts(by_month)[:2] == [("2024-11", 1), ("2024-12", 0)]
    assert labels_and_counts(by_month)[-1] == ("2026-02", 5) and len(by_month) == 16
    assert charts.days({}) == []


def test_bars_show_percentages_beside_counts():
    question = Question(
        id="drinks", type="multi", text=None, choices=(Choice("Tea", "tea"), Choice("Coffee", "c"))
    )
    bars = charts.bars(question, {"tea": 3, "c": 1}, answered=3)  # a multi: of respondents
    assert [(bar.full, bar.n, bar.share) for bar in bars] == [
        ("Tea", 3, "100%"),
        ("Coffee", 1, "33%"),
    ]
    assert [bar.share for bar in charts.days({"2026-11-02": 1, "2026-11-03": 3})] == ["25%", "75%"]
