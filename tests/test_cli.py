"""The command-line tools: surveys check and list, simulate, export, db."""

from __future__ import annotations

import csv
import io

import pytest

from play import EXAMPLES, script


@pytest.fixture
def runner(app):
    """Flask's CLI runner for the test app."""
    return app.test_cli_runner()


def export(runner, survey_id: str, *args: str) -> list[dict]:
    """`flask export` parsed as rows."""
    result = runner.invoke(args=["export", survey_id, *args])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.output)))


def test_check_passes_on_the_examples(runner):
    result = runner.invoke(args=["surveys", "check"])
    assert result.exit_code == 0, result.output
    assert "All surveys are fine." in result.output


BROKEN = """\
title: Broken
keywords: [STOP, HELLO]
max_retrys: 3
questions:
  - id: q1
    type: choise
    text: Hi
  - id: q1
    type: scale
    text: Rate {{ answers.q1
    next:
      - {if: true, goto: nowhere}
"""


def test_check_reports_every_problem_with_file_and_line(runner, surveys_dir):
    path = surveys_dir / "broken.yaml"
    path.write_text(BROKEN)
    result = runner.invoke(args=["surveys", "check"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(str(path))]
    found = {int(line.split(":")[1]) for line in lines}
    assert {2, 3, 6, 8, 10, 12} <= found, result.output
    assert 'did you mean "max_retries"' in result.output
    assert all(": " in line for line in lines)


def test_broken_survey_does_not_stop_the_others(runner, sms, surveys_dir):
    (surveys_dir / "broken.yaml").write_text(BROKEN)
    assert sms.send("+15550000001", "CLINIC").startswith("Hello from Riverside Clinic")
    listing = runner.invoke(args=["surveys", "list"])
    assert "clinic-follow-up" in listing.output and "broken" not in listing.stdout


def test_list_shows_keywords_questions_and_counts(runner, sms):
    sms.send("+15550000002", "POLL")
    result = runner.invoke(args=["surveys", "list"])
    assert result.exit_code == 0
    line = next(x for x in result.output.splitlines() if x.startswith("city-services"))
    assert "CITY, POLL" in line and "5 questions" in line and "started 1" in line


@pytest.mark.parametrize("survey_id", EXAMPLES)
def test_simulate_each_example_to_the_end_then_export(app, runner, survey_id):
    survey = app.extensions["survey_service"].catalog.get(survey_id)
    steps = script(survey)
    typed = "".join(reply + "\n" for _, reply, _ in steps)
    result = runner.invoke(args=["simulate", survey_id, "--phone", "+15550001234"], input=typed)
    assert result.exit_code == 0, result.output
    assert "The survey is over" in result.output
    assert export(runner, survey_id) == []  # a test session: left out unless asked
    rows = export(runner, survey_id, "--include-tests")
    assert len(rows) == 1 and rows[0]["status"] == "completed" and rows[0]["test"] == "1"
    for question_id, _, _ in steps:
        assert rows[0][question_id] != "", question_id


def test_simulate_unknown_survey_is_a_clear_error(runner):
    result = runner.invoke(args=["simulate", "nope"])
    assert result.exit_code == 2 and "No survey 'nope'" in result.output


def test_db_current_and_upgrade(runner):
    assert "code: 0005" in runner.invoke(args=["db", "current"]).output
    assert "at 0005" in runner.invoke(args=["db", "upgrade"]).output
