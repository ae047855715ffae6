"""What `surveys check` tells an author: every problem of a file at once, in words to act on."""

from __future__ import annotations

import json
from textwrap import dedent

import pytest

from bot.loader import SurveyError, load_survey


def problems_of(text: str) -> list[str]:
    """`line: message` of each problem of a survey that must not load."""
    with pytest.raises(SurveyError) as caught:
        load_survey(dedent(text).encode(), "names.yaml")
    return [f"{p.line}: {p.message}" for p in caught.value.problems]


FRUIT = """\
questions:
  - id: fruit
    type: choice
    text: Pick one
    choices: [apple, pear]
  - id: name
    type: text
    text: Your name?
  - id: why
    type: text
    when: {when}
    text: "{text}"
"""

SEES = "it can use answers, survey, today, arm and outcome"

NAMES = {
    "answer for answers in a condition": (
        'answer.fruit == "apple"',
        "Why?",
        f'11: condition "answer.fruit == "apple"" uses "answer", which it cannot see '
        f"(did you mean `answers.fruit`?); {SEES}",
    ),
    "answer for answers in a text": (
        "true",
        "Why, {{ answer.name }}?",
        '12: text template uses "answer", which it cannot see (did you mean `answers.name`?); '
        + SEES,
    ),
    "a question id alone": (
        "true",
        "Why, {{ name }}?",
        '12: text template uses "name", which it cannot see (did you mean `answers.name`?); '
        + SEES,
    ),
    "a near miss of a visible name": (
        "servey.id",
        "Why?",
        '11: condition "servey.id" uses "servey", which it cannot see (did you mean '
        f"`survey.id`?); {SEES}",
    ),
    "a name like nothing": (
        "true",
        "Why {{ zzz }}?",
        f'12: text template uses "zzz", which it cannot see; {SEES}',
    ),
}


@pytest.mark.parametrize(("when", "text", "problem"), NAMES.values(), ids=NAMES.keys())
def test_a_name_a_template_cannot_see_is_refused_with_what_was_meant(when, text, problem):
    assert problems_of(FRUIT.format(when=when, text=text)) == [problem]


def test_loop_variables_set_names_globals_and_value_in_a_constraint_are_seen():
    text = (
        "{% for x in [1, 2] %}{{ loop.index }}{{ x }}{% endfor %}{% set n = 2 %}{{ n }}"
        "{{ range(2) | list }} {{ survey.title }} {{ today }} {{ arm }} {{ outcome }}"
    )
    survey = load_survey(
        FRUIT.format(when="arm != 'b'", text=text)
        .replace("    text: Your name?", "    text: Your name?\n    constraint: value | length > 1")
        .encode(),
        "names.yaml",
    )
    assert [q.id for q in survey.questions] == ["fruit", "name", "why"]


def test_value_is_seen_only_by_a_constraint():
    assert problems_of(FRUIT.format(when="value", text="Why?")) == [
        f'11: condition "value" uses "value", which it cannot see; {SEES}'
    ]


@pytest.fixture
def check(app):
    """`flask surveys check ARGS...` as (exit code, output)."""

    def run(*args: str) -> tuple[int, str]:
        result = app.test_cli_runner().invoke(args=["surveys", "check", *args])
        return result.exit_code, result.output

    return run


UNTRANSLATED = """\
languages: [en, ig]
keywords: [CITY]
questions:
  - id: q
    type: text
    text: {en: "Your name"}
"""


def test_the_loaders_warnings_reach_check_and_its_json(check, tmp_path):
    path = tmp_path / "untranslated.yaml"
    path.write_text(UNTRANSLATED.replace("[CITY]", "[NAMES]"))
    code, output = check(str(path))
    assert code == 0, output
    assert f'  {path}:1: "ig" has no built-in words' in output
    assert f"  {path}:6: text has no translation into ig: the en text is used" in output
    code, output = check("--json", str(path))
    warnings = [w["message"] for w in json.loads(output)["surveys"][0]["warnings"]]
    assert any(w.startswith("text has no translation into ig") for w in warnings), warnings


def test_every_problem_of_a_file_comes_in_one_round(check, tmp_path):
    path = tmp_path / "a-first.yaml"  # its name sorts before city-services.yaml
    path.write_text(UNTRANSLATED.replace("Your name", "Hi {{ answer.q }}"))
    code, output = check(str(path))
    assert code == 1
    assert output.splitlines()[:2] == [
        f'{path}:2: keyword "CITY" is already used by survey "city-services" (city-services.yaml)',
        f'{path}:6: text template uses "answer", which it cannot see (did you mean '
        f"`answers.q`?); {SEES}",
    ]
    assert f"  {path}:6: text has no translation into ig: the en text is used" in output
    code, output = check("--json", str(path))
    report = json.loads(output)["surveys"][0]
    assert [e["line"] for e in report["errors"]] == [2, 6]
    assert [w["line"] for w in report["warnings"]] == [1, 6]


INDENTED = "this line is indented further than the one above it: keys at one level must line up"
QUOTES = 'a text containing ": " must be put in quotes'
YAML_MISTAKES = {
    "a key one space too far": ("  - id: name\n     type: text\n    text: Hi\n", 3, INDENTED),
    "a later key too far": (
        "  - id: name\n    type: text\n    text: Hi\n     optional: true\n",
        5,
        INDENTED,
    ),
    "a colon in a text": ("  - id: name\n    type: text\n    text: Note: hi\n", 4, QUOTES),
}


@pytest.mark.parametrize(("body", "line", "hint"), YAML_MISTAKES.values(), ids=YAML_MISTAKES.keys())
def test_a_line_indented_too_far_is_blamed_on_its_indentation(body, line, hint):
    assert problems_of("questions:\n" + body) == [
        f"{line}: not valid YAML: mapping values are not allowed here ({hint})"
    ]


IGBO = """\
languages: [en, ig]
keywords: [AHU]
questions:
  - id: well
    type: choice
    text:
      en: How are you?
      ig: Kedụ ka ị mere?
    choices:
      - {label: {en: Well, ig: Ọ dị mma}, value: well}
      - {label: {en: Unwell, ig: Ọ dịghị mma}, value: unwell}
  - id: seen
    type: yesno
    text:
      en: Did you see a nurse?
      ig: Ị hụrụ nọọsụ?
"""


def test_ucs2_characters_are_one_warning_per_line_and_no_line_is_said_twice(check, tmp_path):
    path = tmp_path / "ahu.yaml"
    path.write_text(IGBO)
    code, output = check("--max-segments", "1", str(path))
    lines = [line for line in output.splitlines() if str(path) in line]
    assert len(lines) == len(set(lines)), output
    ucs2 = [line.strip() for line in lines if "in UCS-2 in ig" in line]
    assert [line.split(": ")[0] for line in ucs2] == [f"{path}:{n}" for n in (8, 10, 16)]
    assert ucs2[0].startswith(f'{path}:8: "ụ" (U+1EE5), "ị" (U+1ECB) send ')
    assert ucs2[0].endswith('"ụ" and "ị" have no GSM-7 replacement')


@pytest.mark.parametrize(
    ("head", "warned"),
    [("", True), ("keywords: [TALK]\n", False), ("default: true\n", False)],
)
def test_a_survey_nothing_can_start_is_noted(check, surveys_dir, head, warned):
    path = surveys_dir / "quiet.yaml"
    path.write_text(head + "questions:\n  - {id: q, type: text, text: Hi}\n")
    for other in surveys_dir.glob("*.yaml"):  # no other default to conflict with
        if other != path:
            other.unlink()
    code, output = check(str(path))
    assert code == 0, output
    note = f'{path}:1: survey "quiet" has no keywords and is not the default: no text starts it'
    assert (note in output) == warned, output


def test_a_problem_found_in_each_language_is_said_once():
    text = """\
    languages: [en, es]
    questions:
      - id: q
        type: choice
        text: {en: Pick, es: Elige}
        choices: [Same, Same]
    """
    assert problems_of(text) == [
        '6: choices 1 and 2 both use "Same"; a reply must lead to one choice'
    ]


PLUS_ONE = """\
keywords: [PLUS]
questions:
  - id: n
    type: number
    text: A number?
  - id: name
    type: text
    text: Your name?
  - id: next
    type: text
    text: "{text}"
"""


def test_a_text_that_fails_with_every_answer_given_is_a_warning_with_its_line(check, tmp_path):
    path = tmp_path / "plus.yaml"
    path.write_text(PLUS_ONE.format(text="Hi {{ answers.name + 1 }}!"))
    code, output = check(str(path))
    assert code == 0, output
    assert (
        f"  {path}:9: a text here fails to render even with every answer given (can only "
        'concatenate str (not "int") to str): the bot sends its message without the part that '
        "fails"
    ) in output.splitlines()


def test_a_text_that_fails_only_without_an_answer_is_not_news(check, tmp_path):
    # `answers.n + 1` fails when n is missing: that part shows as nothing, as a missing
    # answer does (docs/authoring.md), so the check says nothing of it.
    path = tmp_path / "plus.yaml"
    path.write_text(PLUS_ONE.format(text="Then {{ answers.n + 1 }}?"))
    code, output = check(str(path))
    assert code == 0, output
    assert "fails to render" not in output


@pytest.mark.parametrize(
    ("source", "survey_id"),
    [
        ("questions: 3\n", "dup"),  # read no further than its name
        ("{not yaml\n", "dup"),
        ("id: visit\nquestions:\n  - {id: q, type: text, txt: Hi}\n", "visit"),  # its own id
    ],
    ids=["no id", "not yaml", "its own id"],
)
def test_a_broken_files_id_in_the_json_is_the_one_it_would_have(check, tmp_path, source, survey_id):
    path = tmp_path / "dup.yaml"
    path.write_text(source)
    code, output = check("--json", str(path))
    assert code == 1
    [report] = json.loads(output)["surveys"]
    assert (report["id"], report["file"], report["served"]) == (survey_id, str(path), False)
    assert report["errors"]
