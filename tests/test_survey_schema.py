"""The JSON Schema of a survey file: generated, committed, and agreeing with the loader."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml
from test_docs import EXAMPLES as GUIDE_EXAMPLES

from bot.loader import SurveyError, Yaml12Loader, load_survey
from bot.survey_schema import KEYS, LOADER_KEYS, survey_schema
from conftest import ROOT

SURVEYS = sorted((ROOT / "surveys").glob("*.yaml"))
VALIDATOR = jsonschema.Draft202012Validator(survey_schema())


def schema_errors(text: str) -> list[str]:
    """What the schema finds wrong with a survey file's text."""
    data = yaml.load(text, Loader=Yaml12Loader)
    return [error.message for error in VALIDATOR.iter_errors(data)]


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(survey_schema())


def test_the_committed_schema_is_the_generated_one(app):
    result = app.test_cli_runner().invoke(args=["surveys", "schema"])
    assert result.exit_code == 0
    assert (ROOT / "surveys" / "survey.schema.json").read_text() == result.output
    assert json.loads(result.output) == survey_schema()


@pytest.mark.parametrize("level", LOADER_KEYS)
def test_every_key_the_loader_knows_has_a_kind_and_a_description(level):
    assert list(KEYS[level]) == list(LOADER_KEYS[level])


SPEC_KEYS = {  # SPEC 1 and 12, written out: the keys a survey file may have, no others
    "survey": "id title keywords default intro outro reminder help max_retries expire_after "
    "date_order timezone languages smart_encoding send_window partial_after recontact target "
    "quotas quota_full closed arms shuffle questions",
    "question": "id type text choices min max integer max_length optional when constraint next "
    "error shuffle_choices",
    "choice": "label value aliases fixed",
    "next": "if goto outcome",
    "quota": "when target",
    "arm": "id weight",
}


@pytest.mark.parametrize("level", SPEC_KEYS)
def test_the_loader_knows_the_keys_spec_lists(level):
    assert set(LOADER_KEYS[level]) == set(SPEC_KEYS[level].split())


def survey_params():
    """Every survey the loader accepts that the repository holds: examples and the guide's."""
    yield from (pytest.param(path.read_text(), id=path.name) for path in SURVEYS)
    for line, content, broken, _ in GUIDE_EXAMPLES:
        if not broken and re.search(r"^questions:", content, re.MULTILINE):
            yield pytest.param(content, id=f"authoring.md line {line}")


@pytest.mark.parametrize("text", list(survey_params()))
def test_every_survey_the_loader_accepts_validates(text):
    load_survey(text.encode(), "example.yaml")
    assert schema_errors(text) == []


@pytest.mark.parametrize("path", SURVEYS, ids=lambda p: p.name)
def test_each_example_survey_points_editors_at_the_schema(path):
    assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=survey.schema.json"


VALID = """\
title: Mutated
questions:
  - id: pick
    type: choice
    text: Pick one
    choices:
      - Red
      - {label: Blue, value: blue, aliases: [navy]}
    next:
      - {if: answers.pick == "blue", goto: end}
  - id: score
    type: scale
    min: 0
    max: 10
    text: Score?
"""

MUTATIONS = [
    # (what is wrong, text replaced, replacement)
    ("unknown survey key", "title: Mutated", "titel: Mutated"),
    ("unknown question key", "    text: Pick one", "    txt: Pick one\n    text: Pick one"),
    ("unknown choice key", "value: blue,", "valeu: blue,"),
    ("unknown next key", "goto: end", "goto: end, else: pick"),
    ("wrong kind: questions", "questions:\n", "questions: 3\nx:\n"),
    ("wrong kind: default", "title: Mutated", "title: Mutated\ndefault: yes"),
    ("wrong kind: max_retries", "title: Mutated", "title: Mutated\nmax_retries: two"),
    ("wrong kind: expire_after", "title: Mutated", "title: Mutated\nexpire_after: 3 weeks"),
    ("wrong kind: send_window", "title: Mutated", "title: Mutated\nsend_window: 8am-9pm"),
    ("wrong kind: title", "title: Mutated", "title: [a, b]"),
    ("wrong kind: scale bound", "max: 10", "max: 9.5"),
    ("wrong type", "type: scale", "type: slider"),
    ("key for another type", "    max: 10", "    max: 10\n    max_length: 3"),
    ("missing text", "    text: Score?\n", ""),
    ("missing scale bound", "    min: 0\n", ""),
    ("missing questions", "questions:", "question:"),
    ("missing choice label", "{label: Blue, value: blue", "{value: blue"),
    ("missing goto", ", goto: end}", "}"),
]


def test_the_unmutated_survey_is_valid_for_both():
    load_survey(VALID.encode(), "example.yaml")
    assert schema_errors(VALID) == []


@pytest.mark.parametrize(("wrong", "old", "new"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_a_mutated_survey_is_refused_by_loader_and_schema(wrong, old, new):
    assert old in VALID
    text = VALID.replace(old, new, 1)
    with pytest.raises(SurveyError):
        load_survey(text.encode(), "example.yaml")
    assert schema_errors(text), wrong
