"""Study design keys in a survey file (SPEC 12): what loads, and what is refused where."""

from __future__ import annotations

import textwrap

import pytest
from test_survey_schema import schema_errors

from bot.loader import SurveyError, load_survey
from bot.model import quota_key

GOOD = textwrap.dedent(
    """\
    id: design
    target: 4
    quotas:
      - {when: "answers.gender == 'f'", target: 2}
      - {when: "answers.gender == 'm' and arm == 'long'", target: 2}
    quota_full: {en: Enough like you., es: Ya hay bastantes.}
    closed: Closed.
    languages: [en, es]
    arms:
      - {id: short, weight: 1}
      - {id: long, weight: 3}
    shuffle: [[q3, q4, q5]]
    questions:
      - id: gender
        type: choice
        text: Gender?
        choices: [{label: F, value: f}, {label: M, value: m}]
      - id: brand
        type: choice
        text: Brand?
        shuffle_choices: true
        choices: [Acme, Bolt, Crest, {label: None of these, value: none, fixed: true}]
      - {id: q3, type: text, text: three}
      - {id: q4, type: text, text: four}
      - {id: q5, type: text, text: five, when: "arm == 'long'"}
    """
)


def problems(text: str) -> list[str]:
    """Every problem the loader reports for a file, as `line: message`."""
    with pytest.raises(SurveyError) as caught:
        load_survey(text.encode(), "s.yaml")
    return [f"{p.line}: {p.message}" for p in caught.value.problems]


def with_lines(replace: str, by: str) -> str:
    """GOOD with one piece of text replaced."""
    assert replace in GOOD
    return GOOD.replace(replace, by)


def test_a_survey_with_every_design_key_loads_with_what_it_says():
    survey = load_survey(GOOD.encode(), "s.yaml")
    assert survey.target == 4
    assert [(q.key, q.target, q.line) for q in survey.quotas] == [
        (quota_key("answers.gender == 'f'"), 2, 4),
        (quota_key("answers.gender == 'm' and arm == 'long'"), 2, 5),
    ]
    assert [(a.id, a.weight) for a in survey.arms] == [("short", 1), ("long", 3)]
    assert survey.block_size == 4
    assert survey.shuffle == (("q3", "q4", "q5"),)
    brand = survey.by_id["brand"]
    assert brand.shuffle_choices and [c.fixed for c in brand.choices] == [False] * 3 + [True]
    assert survey.in_language("es").quota_full.render({}) == "Ya hay bastantes."
    assert survey.closed.render({}) == "Closed."


def test_the_json_schema_accepts_it():
    assert schema_errors(GOOD) == []


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("target: 4", "target: 0", "2: target must be 1 or more"),
        ("target: 2}\n", "target: many}\n", "4: target must be a whole number"),
        (
            "- {when: \"answers.gender == 'f'\", target: 2}",
            "- {target: 2}",
            '4: this quota is missing "when"',
        ),
        (
            "- {when: \"answers.gender == 'm' and arm == 'long'\", target: 2}",
            "- {when: \"answers.gender ==  'f'\", target: 3}",
            "5: this quota's when is listed twice (first on line 4)",
        ),
        (  # the same condition in other quotes and parentheses: the same quota
            "- {when: \"answers.gender == 'm' and arm == 'long'\", target: 2}",
            "- {when: '(answers.gender == \"f\")', target: 3}",
            "5: this quota's when is listed twice (first on line 4)",
        ),
        ("{id: long, weight: 3}", "{id: long}", '11: this arm is missing "weight"'),
        ("{id: long, weight: 3}", "{id: short, weight: 3}", '11: arm "short" is listed twice'),
        ("{id: long, weight: 3}", "{id: long, weight: 0}", "11: weight must be 1 or more"),
        ("{id: long, weight: 3}", "{id: l o n g, weight: 3}", '11: arm id "l o n g" may use'),
        ("[[q3, q4, q5]]", "[[q3, q4, q6]]", '12: shuffle names "q6", which is not a question'),
        ("[[q3, q4, q5]]", "[[q3, q5]]", "12: shuffle group [q3, q5] must list consecutive"),
        ("[[q3, q4, q5]]", "[[q4, q3]]", "12: shuffle group [q4, q3] must list consecutive"),
        ("[[q3, q4, q5]]", "[[q3]]", "12: a shuffle group must list two or more question ids"),
        ("[[q3, q4, q5]]", "[[q3, q4], [q4, q5]]", '12: "q4" is in two shuffle groups'),
        (
            "text: five, when: \"arm == 'long'\"}",
            "text: five, when: \"answers.q3 == 'x'\"}",
            '12: "q5" has a when naming q3 of the same shuffle group',
        ),
        (
            "{id: q4, type: text, text: four}",
            "{id: q4, type: text, text: four, next: [{if: 'true', goto: end}]}",
            '12: "q4" has next, so the questions of its group cannot be shuffled',
        ),
        (
            "{id: q4, type: text, text: four}",
            "{id: q4, type: note, text: four}",
            '12: "q4" is a note: it cannot be shuffled',
        ),
        (
            "    shuffle_choices: true\n",
            "",
            '18: question "brand" has fixed choices but no shuffle_choices',
        ),
        ("choices: [Acme,", "choices: [A;cme,", '18: choice value "A;cme" holds ";"'),
        (
            "  - {id: q3, type: text, text: three}",
            "  - {id: q3, type: text, text: three, shuffle_choices: true}",
            "23: shuffle_choices is only for choice and multi",
        ),
        (
            "type: choice\n    text: Gender?",
            "type: choice\n    text: Gender?\n    next: [{if: 'true', goto: q4}]",
            '14: goto "q4" leads into the middle of a shuffle group',
        ),
    ],
)
def test_a_broken_design_key_is_refused_at_its_line(replace, by, expected):
    found = problems(with_lines(replace, by))
    assert any(p.startswith(expected) for p in found), found


def test_a_quota_on_a_note_is_refused():
    text = with_lines("{id: q5, type: text,", "{id: q5, type: note,").replace(
        "answers.gender == 'f'", "answers.q5 == 'f'"
    )
    assert any('names "q5", a note' in p for p in problems(text))


def test_one_arm_alone_is_only_warned_about():
    survey = load_survey(with_lines("  - {id: long, weight: 3}\n", "").encode(), "s.yaml")
    assert [w.message for w in survey.warnings] == [
        "arms lists one arm only: every session gets it"
    ]


@pytest.mark.parametrize(
    ("replace", "by"),
    [
        ("target: 4", "target: 0"),
        ("{id: long, weight: 3}", "{id: long}"),
        ("[[q3, q4, q5]]", "[[q3]]"),
        ("target: 2}\n", "target: 2, extra: 1}\n"),
    ],
)
def test_the_json_schema_refuses_what_the_loader_refuses(replace, by):
    assert schema_errors(with_lines(replace, by))
