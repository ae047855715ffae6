"""`flask export --format long` through web/lean.py: the whole command's bytes, or the whole app."""

from __future__ import annotations

import sys

import pytest
from flask.cli import FlaskGroup
from test_export import SURVEY

from conftest import survey_folder
from web import lean


@pytest.fixture
def surveys_dir(tmp_path):
    """Only the poll."""
    return survey_folder(tmp_path, poll=SURVEY)


def lean_app(monkeypatch, config, *args: str):
    """What app.py gets from web.lean under `flask --app app ARGS` (None: the whole app)."""
    for key in ("DATABASE_URL", "SURVEYS_DIR"):
        monkeypatch.setenv(key, config[key])
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # FlaskGroup sets it: undone after the test
    command_line = ["--app", "app", *args]
    monkeypatch.setattr(sys, "argv", ["flask", *command_line])
    with FlaskGroup().make_context("flask", command_line):
        return lean.export_app()


@pytest.mark.parametrize(
    "options",
    [[], ["--include-tests", "--since", "2020-01-01"], ["--status", "completed", "--arm", "x"]],
)
def test_the_lean_export_writes_the_whole_commands_bytes(app, sms, monkeypatch, config, options):
    for phone, replies in [
        ("+15550000001", ["Ana", "1,000", "1 and 3", "yes"]),
        ("+15550000002", ['=HYPERLINK("x")', "-3", "2"]),  # a formula, a number, unfinished
        ("+15550000003", ['He said "hi", then\nleft', "about 40"]),
    ]:
        for body in ["POLL", *replies]:
            sms.send(phone, body)
    args = ["export", "poll", "--format", "long", *options]
    whole = app.test_cli_runner().invoke(args=args)
    assert whole.exit_code == 0, whole.output
    made = lean_app(monkeypatch, config, *args)
    assert made is not None and set(made.cli.commands) == {"export"}
    try:
        result = made.test_cli_runner().invoke(args=args)
    finally:
        made.extensions[lean.EXTENSION].dispose()
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == whole.stdout_bytes
    assert whole.stdout_bytes.count(b"\r\n") == (1 if "--arm" in options else 10)


@pytest.mark.parametrize(
    "options",
    [
        [],  # wide
        ["--format", "long", "--labels"],
        ["--format", "long", "--hash-phones"],
        ["--format", "long", "--status", "open"],  # open and expired need the survey's time-out
        ["--format", "long", "--multi", "columns"],  # an error the whole command explains
        ["--format", "long", "--help"],
        ["--format", "spss", "-o", "poll.sav"],
    ],
)
def test_other_exports_get_the_whole_app(app, sms, monkeypatch, config, options):
    sms.send("+15550000001", "POLL")
    assert lean_app(monkeypatch, config, "export", "poll", *options) is None


def test_surveys_without_sessions_and_other_commands_get_the_whole_app(app, monkeypatch, config):
    # Served but never started (the header alone), or unknown: the whole app tells which.
    assert lean_app(monkeypatch, config, "export", "poll", "--format", "long") is None
    assert lean_app(monkeypatch, config, "export", "nope", "--format", "long") is None
    assert lean_app(monkeypatch, config, "surveys", "list") is None
    assert lean.export_app() is None  # no command line at all: gunicorn


def test_the_command_is_found_past_flasks_own_options():
    group = FlaskGroup()
    line = ["-e", ".env", "--app=app", "--debug", "export", "poll", "-o", "out.csv"]
    assert lean._command(group, line) == ("export", ["poll", "-o", "out.csv"])
    assert lean._command(group, ["--app", "export", "run"]) == ("run", [])
    assert lean._command(group, ["--app", "app"]) == (None, [])


def test_a_database_it_cannot_read_gets_the_whole_app(monkeypatch, config, tmp_path):
    unreadable = {**config, "DATABASE_URL": f"sqlite:///{tmp_path / 'nowhere' / 'x.sqlite3'}"}
    assert lean_app(monkeypatch, unreadable, "export", "poll", "--format", "long") is None
