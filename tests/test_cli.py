"""The command-line tools: surveys check and list, simulate, export, db."""

from __future__ import annotations

import csv
import io
import json

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


def test_check_passes_on_the_examples_with_their_costs(runner):
    result = runner.invoke(args=["surveys", "check"])
    assert result.exit_code == 0, result.output
    assert "All 3 survey file(s) are fine." in result.output
    assert "visit-feedback (" in result.output and "[en]: 48 messages, all GSM-7" in result.output
    assert "segments per message" in result.output


def test_check_shows_paths_relative_to_the_current_folder(runner, surveys_dir, monkeypatch):
    (surveys_dir / "broken.yaml").write_text("questions: 3\n")
    monkeypatch.chdir(surveys_dir.parent)
    result = runner.invoke(args=["surveys", "check"])
    assert result.exit_code == 1
    assert result.output.startswith("surveys/broken.yaml:1: questions must be a list\n")


NEWCOMER = "keywords: [CITY]\nquestions:\n  - {id: q, type: text, text: Hi}\n"


def test_check_of_one_new_file_reports_its_conflict_with_the_folder(runner, tmp_path):
    new = tmp_path / "a-new.yaml"  # outside the folder, and its name sorts first
    new.write_text(NEWCOMER)
    result = runner.invoke(args=["surveys", "check", str(new)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f'{new}:1: keyword "CITY" is already used by survey "city-services" (city-services.yaml)'
    )


WARNED = """\
questions:
  - id: pick
    type: choice
    text: Pick one
    choices: [Poll, End]
  - id: only
    type: multi
    text: Which?
    choices: [{label: The one, aliases: [help]}]
"""


def test_check_warns_without_failing(runner, surveys_dir):
    (surveys_dir / "warned.yaml").write_text(WARNED)
    result = runner.invoke(args=["surveys", "check", str(surveys_dir / "warned.yaml")])
    assert result.exit_code == 0, result.output
    warnings = [line.strip() for line in result.output.splitlines() if "warned.yaml:" in line]
    assert warnings == [
        f'{surveys_dir}/warned.yaml:5: choice "End" of pick: Twilio opts out anyone who texts '
        "END; reply with its number instead or rename it",
        f'{surveys_dir}/warned.yaml:5: choice "Poll" of pick is also the keyword of survey '
        '"city-services": here it answers the question, elsewhere it starts that survey',
        f"{surveys_dir}/warned.yaml:6: question only has a single choice; add another, or ask a "
        "yesno question",
        f'{surveys_dir}/warned.yaml:9: choice "help" of only: HELP is a command, read before '
        "any answer; reply with its number instead or rename it",
    ]


@pytest.mark.parametrize(("limit", "code"), [("1", 1), ("2", 0)])
def test_check_max_segments(runner, limit, code):
    result = runner.invoke(args=["surveys", "check", "--max-segments", limit])
    assert result.exit_code == code, result.output
    over = [line for line in result.output.splitlines() if "over --max-segments" in line]
    assert bool(over) == bool(code)


def test_check_json_is_the_documented_document(runner, surveys_dir):
    (surveys_dir / "broken.yaml").write_text("questions: 3\n")
    result = runner.invoke(args=["surveys", "check", "--json"])
    assert result.exit_code == 1
    reports = {r["id"] or r["file"]: r for r in json.loads(result.output)["surveys"]}
    broken = reports[str(surveys_dir / "broken.yaml")]
    assert broken["served"] is False
    assert broken["errors"] == [{"line": 1, "message": "questions must be a list"}]
    visit = reports["visit-feedback"]
    assert visit["served"] and visit["file"] == str(surveys_dir / "visit-feedback.yaml")
    first = visit["messages"][0]
    assert set(first) == {"what", "language", "line", "text", "encoding", "units", "segments"} | {
        "worst_case"
    }
    assert first["text"].startswith("Thanks for visiting!") and first["encoding"] == "GSM-7"


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
    assert "code: 0006" in runner.invoke(args=["db", "current"]).output
    assert "at 0006" in runner.invoke(args=["db", "upgrade"]).output
