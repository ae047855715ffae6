"""Answers in templates: printed as the respondent saw them, compared as stored (SPEC 1)."""

from __future__ import annotations

from datetime import date
from textwrap import dedent

import pytest

from bot.flow import Position
from bot.loader import load_survey
from bot.templates import Expr, Text

SURVEY = load_survey(
    dedent(
        """\
        languages: [en, es]
        questions:
          - id: service
            type: choice
            text: Q
            choices:
              - {label: {en: Full service, es: Servicio completo}, value: full_service}
              - {label: Wash only, value: wash}
          - id: issues
            type: multi
            text: Q
            choices:
              - {label: {en: Slow, es: Lento}, value: slow}
              - {label: {en: Price, es: Precio}, value: price}
              - {label: {en: Staff, es: Personal}, value: staff}
          - {id: ok, type: yesno, text: Q}
          - {id: visits, type: number, text: Q}
          - {id: day, type: date, text: Q}
          - {id: name, type: text, text: Q}
        """
    ).encode(),
    "shown.yaml",
)
ANSWERS = {
    "service": "full_service",
    "issues": ["slow", "price", "staff"],
    "ok": False,
    "visits": 3.0,
    "day": date(2026, 11, 28),
    "name": "Ana",
}


def context(language: str = "en", answers: dict | None = None) -> dict:
    """What a template sees in a session in `language`."""
    local = SURVEY.in_language(language)
    return Position(
        local, "name", dict(ANSWERS if answers is None else answers), None, language
    ).context


@pytest.mark.parametrize(
    ("template", "language", "printed"),
    [
        ("{{ answers.service }}", "en", "Full service"),
        ("{{ answers.service }}", "es", "Servicio completo"),
        ("{{ answers.issues }}", "en", "Slow, Price and Staff"),
        ("{{ answers.issues }}", "es", "Lento, Precio y Personal"),
        ("{{ answers.ok }}", "en", "No"),
        ("{{ answers.ok }}", "es", "No"),
        ("{{ answers.visits }}", "en", "3"),
        ("{{ answers.day }}", "en", "28 Nov 2026"),
        ("{{ answers.day }}", "es", "28 nov 2026"),
        ("{{ answers.name }}", "en", "Ana"),
        ("{{ answers['service'] }} / {{ answers.get('ok') }}", "en", "Full service / No"),
        ("{{ 'Hi ' ~ answers.service }}", "en", "Hi Full service"),
        # everything else sees the stored value
        ("{{ answers.issues | join(', ') }}", "es", "slow, price, staff"),
        ("{% for i in answers.issues %}[{{ i }}]{% endfor %}", "en", "[slow][price][staff]"),
        ("{% if answers.service == 'full_service' %}yes{% endif %}", "es", "yes"),
        ("{% if not answers.ok %}not ok{% endif %}", "en", "not ok"),
        ("{% if 'price' in answers.issues %}price{% endif %}", "en", "price"),
        ("{{ answers.visits + 1 }}", "en", "4.0"),
        ("{{ answers.issues | length }}", "en", "3"),
        ("{{ answers.service | upper }}", "en", "FULL_SERVICE"),
        ("{{ answers.service | string }}", "en", "full_service"),
        ("{{ '%s' | format(answers.service) }}", "en", "full_service"),
        ("{{ '%s' % answers.service }}", "en", "full_service"),
        ("{{ answers.ok | string }}", "en", "False"),
        ("{{ answers.visits | string }}", "en", "3.0"),
        ("{{ answers.day | string }}", "en", "2026-11-28"),
        ("{{ answers.service | tojson }}", "en", '"full_service"'),
        ("{{ answers.ok | tojson }}", "en", "false"),
        ("{{ answers.issues | tojson }}", "en", '["slow", "price", "staff"]'),
        ("{{ answers.day | tojson }}", "en", '"2026-11-28"'),
        # a filter that hands the answer back leaves it to print as seen
        ("{{ answers.service | default('none') }}", "es", "Servicio completo"),
        ("{{ answers.ok ~ '!' }}", "es", "No!"),
        ("{% if answers.day > answers.day.replace(day=1) %}late{% endif %}", "en", "late"),
        ("{{ answers.missing }}", "en", ""),
        ("{{ answers | length }}", "en", "6"),
    ],
)
def test_texts_print_answers_as_seen_and_use_stored_values(template, language, printed):
    assert Text.compile(template).render(context(language)) == printed


@pytest.mark.parametrize(
    ("expression", "holds"),
    [
        ("answers.service == 'full_service'", True),
        ("answers.service == 'Full service'", False),
        ("not answers.ok", True),
        ("answers.ok == false", True),
        ("'slow' in answers.issues", True),
        ("'Slow' in answers.issues", False),
        ("answers.visits >= 3 and answers.visits < 3.5", True),
        ("answers.day.month == 11", True),
        ("answers.missing > 1", False),
    ],
)
def test_expressions_see_stored_values(expression, holds):
    assert Expr.compile(expression).is_true(context("es")) is holds
