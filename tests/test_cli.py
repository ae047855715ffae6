"""The command-line tools: surveys check and list, simulate, export, db."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from sqlalchemy import select

from conftest import ROOT, saved, survey_folder
from live import refused_to_start, server_env
from play import CONVERSATIONS, EXAMPLES
from storage import db as database
from storage import schema
from storage.db import make_engine
from storage.models import SurveySession
from web.factory import create_app

SESSION = SurveySession.__table__


@pytest.fixture
def runner(app):
    """Flask's CLI runner for the test app."""
    return app.test_cli_runner()


def export(runner, survey_id: str, *args: str) -> list[dict]:
    """`flask export` parsed as rows."""
    result = runner.invoke(args=["export", survey_id, *args])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.output)))


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_check_passes_on_the_examples_with_their_costs(runner):
    result = runner.invoke(args=["surveys", "check"])
    assert result.exit_code == 0, result.output
    assert "No problems in 5 survey files." in result.output
    assert "visit-feedback (" in result.output and "[en]: 57 messages, all GSM-7" in result.output
    assert "segments per message" in result.output


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_check_shows_paths_relative_to_the_current_folder(runner, surveys_dir, monkeypatch):
    (surveys_dir / "broken.yaml").write_text("questions: 3\n")
    monkeypatch.chdir(surveys_dir.parent)
    result = runner.invoke(args=["surveys", "check"])
    assert result.exit_code == 1
    assert result.output.startswith("surveys/broken.yaml:1: questions must be a list\n")


NEWCOMER = "keywords: [CITY]\nquestions:\n  - {id: q, type: text, text: Hi}\n"


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
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
    choices: [Poll, End, Parar, Volver]
  - id: only
    type: multi
    text: Which?
    choices: [{label: The one, aliases: [help]}]
"""


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_check_warns_without_failing(runner, surveys_dir):
    (surveys_dir / "warned.yaml").write_text(WARNED)
    result = runner.invoke(args=["surveys", "check", str(surveys_dir / "warned.yaml")])
    assert result.exit_code == 0, result.output
    warnings = [line.strip() for line in result.output.splitlines() if "warned.yaml:" in line]
    assert warnings == [
        f'{surveys_dir}/warned.yaml:1: survey "warned" has no keywords and is not the default: '
        "no text starts it, only `flask invite` can; add keywords: [...] to let people text in",
        f'{surveys_dir}/warned.yaml:5: choice "End" of pick: Twilio opts out anyone who texts '
        "END; reply with its number instead or rename it",
        f'{surveys_dir}/warned.yaml:5: choice "Parar" of pick: texting PARAR opts the '
        "respondent out; reply with its number instead or rename it",
        f'{surveys_dir}/warned.yaml:5: choice "Volver" of pick: VOLVER is a command word, read '
        "before any answer; reply with its number instead or rename it",
        f'{surveys_dir}/warned.yaml:5: choice "Poll" of pick is also the keyword of survey '
        '"city-services": here it answers the question, elsewhere it starts that survey',
        f"{surveys_dir}/warned.yaml:6: question only has a single choice; add another, or ask a "
        "yesno question",
        f'{surveys_dir}/warned.yaml:9: choice "help" of only: HELP is a command word, read before '
        "any answer; reply with its number instead or rename it",
    ]


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
@pytest.mark.parametrize(("limit", "code"), [("1", 1), ("4", 0)])  # Spanish help: 3 in UCS-2
def test_check_max_segments(runner, limit, code):
    result = runner.invoke(args=["surveys", "check", "--max-segments", limit])
    assert result.exit_code == code, result.output
    over = [line for line in result.output.splitlines() if "over --max-segments" in line]
    assert bool(over) == bool(code)


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_check_json_is_the_documented_document(runner, surveys_dir):
    (surveys_dir / "broken.yaml").write_text("questions: 3\n")
    result = runner.invoke(args=["surveys", "check", "--json"])
    assert result.exit_code == 1
    reports = {r["id"]: r for r in json.loads(result.output)["surveys"]}
    broken = reports["broken"]  # SPEC 1: the file name's stem when the file gives none
    assert broken["file"] == str(surveys_dir / "broken.yaml") and broken["served"] is False
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


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
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


def test_list_shows_keywords_languages_questions_and_counts(runner, sms):
    sms.send("+15550000002", "POLL")
    line = listed(runner, "city-services")
    assert "CITY, POLL" in line and "languages: en | 5 questions" in line
    assert "sessions 1: open 1," in line


@pytest.mark.parametrize("survey_id", EXAMPLES)
def test_simulate_each_example_to_the_end_as_a_test_session(runner, survey_id):
    conversation = CONVERSATIONS[survey_id]  # its keyword aside: simulate starts the survey
    typed = "".join(body + "\n" for body, _, _ in conversation[1:])
    result = runner.invoke(args=["simulate", survey_id, "--phone", "+15550001234"], input=typed)
    assert result.exit_code == 0, result.output
    for _, _, sent in conversation:
        assert f"bot> {sent}\n" in result.output
    assert "The survey is over" in result.output
    assert export(runner, survey_id) == []  # a test session: left out unless asked
    rows = export(runner, survey_id, "--include-tests")
    assert len(rows) == 1 and rows[0]["status"] == "completed" and rows[0]["test"] == "1"
    for _, question_id, _ in conversation[1:]:
        assert rows[0][question_id] != "", question_id


def listed(runner, survey_id: str, *args: str) -> str:
    """The line of a survey in `flask surveys list`."""
    result = runner.invoke(args=["surveys", "list", *args])
    assert result.exit_code == 0, result.output
    return next(x for x in result.output.splitlines() if re.match(rf"{survey_id}[: ]", x))


QUICK = "keywords: [QUICK]\nquestions:\n  - {id: q, type: text, text: Your name}\n"


def test_list_adds_up_all_five_statuses_without_test_sessions(app, runner, sms, surveys_dir):
    saved(surveys_dir / "quick.yaml", QUICK)
    for phone, replies in [("01", ["Sam"]), ("02", ["STOP"]), ("03", ["RESTART"]), ("04", [])]:
        for body in ["QUICK", *replies]:
            sms.send("+155500000" + phone, body)
    with app.extensions["survey_service"].engine.begin() as conn:
        long_ago = datetime.now(UTC) - timedelta(days=2)
        conn.execute(
            SESSION.update().where(SESSION.c.phone.like("%04")).values(updated_at=long_ago)
        )
    runner.invoke(args=["simulate", "quick", "--phone", "+15550000099"], input="")
    line = listed(runner, "quick")
    assert line == (
        "quick: quick | keywords: QUICK | languages: en | 1 question | "
        f"version {hashlib.sha256(QUICK.encode()).hexdigest()[:12]} | "  # as docs/authoring.md says
        "sessions 5: open 1, completed 1, opted out 1, expired 1, abandoned 1 | completion 25%"
    )
    assert "sessions 6: open 2," in listed(runner, "quick", "--include-tests")


def test_simulate_a_number_with_real_sessions_is_refused(runner, sms):
    sms.send("+15550000100", "POLL")
    result = runner.invoke(args=["simulate", "city-services", "--phone", "+15550000100"])
    assert result.exit_code == 2
    assert "+15550000100 has real sessions; simulate with a number that has none" in result.output
    assert "sessions 1: open 1," in listed(runner, "city-services")


def test_simulate_after_stop_stays_so_start_can_be_tried(runner):
    simulate = ["simulate", "city-services", "--phone", "+15550000101"]
    result = runner.invoke(args=simulate, input="STOP\nSTART\n")
    assert result.exit_code == 0, result.output
    assert "[+15550000101 is opted out: type START to opt in again" in result.output
    assert "You are subscribed again" in result.output
    assert "Aborted" not in result.output


def test_simulate_an_opted_out_number_says_so_instead_of_asking(runner):
    simulate = ["simulate", "city-services", "--phone", "+15550000102"]
    runner.invoke(args=simulate, input="STOP\n")
    result = runner.invoke(args=simulate, input="")
    assert result.exit_code == 0, result.output
    assert "is opted out: type START" in result.output
    assert "The city wants to hear from you" not in result.output


def test_simulate_passes_a_language_the_survey_has(app, runner):
    result = runner.invoke(args=["simulate", "city-services", "--language", "fr"])
    assert result.exit_code == 2 and "has no language 'fr' (en)" in result.output
    result = runner.invoke(args=["simulate", "city-services", "--language", "en"], input="")
    assert result.exit_code == 0, result.output
    with app.extensions["survey_service"].engine.connect() as conn:
        assert conn.execute(select(SESSION.c.language)).scalar_one() == "en"


def test_retired_survey_is_listed_and_exported(app, runner, sms, surveys_dir, client):
    saved(surveys_dir / "quick.yaml", QUICK)
    sms.send("+15550000103", "QUICK")
    sms.send("+15550000103", "Sam")
    (surveys_dir / "quick.yaml").unlink()
    assert sms.send("+15550000104", "QUICK").startswith("Thanks for visiting!")  # the default
    assert listed(runner, "quick").startswith("quick [retired: its file is gone]: quick | ")
    [row] = export(runner, "quick")
    assert (row["q"], row["status"]) == ("Sam", "completed")
    auth = {"Authorization": "Bearer admin-secret-token"}
    response = client.get("/surveys/quick/export.csv", headers=auth)
    assert response.status_code == 200 and "Sam" in response.get_data(as_text=True)
    assert client.get("/surveys/never/export.csv", headers=auth).status_code == 404


def test_simulate_unknown_survey_is_a_clear_error(runner):
    result = runner.invoke(args=["simulate", "nope"])
    assert result.exit_code == 2 and "No survey 'nope'" in result.output


def test_db_current_and_upgrade(runner):
    assert "code: 0016" in runner.invoke(args=["db", "current"]).output
    assert "at 0016" in runner.invoke(args=["db", "upgrade"]).output


def flask(*args: str, settings: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The `flask` command run from the repository (or `cwd`), as an operator runs it."""
    command = [str(Path(sys.executable).with_name("flask")), "--app", str(ROOT / "app.py"), *args]
    return subprocess.run(
        command,
        cwd=cwd,
        env=server_env(settings),
        stdin=subprocess.DEVNULL,  # `flask simulate` reads the end of its input and leaves
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def no_token(tmp_path, surveys_dir, sqlite_template):
    """Settings without a Twilio token, on a fresh SQLite file at the newest schema."""
    shutil.copyfile(sqlite_template, tmp_path / "x.sqlite3")
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", "SURVEYS_DIR": str(surveys_dir)}


def test_run_without_a_token_is_refused_in_one_line(no_token):
    done = flask("run", "--port", "0", settings=no_token)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "Refusing to serve: TWILIO_AUTH_TOKEN is not set, so forged requests could not be told "
        "from Twilio's. Set TWILIO_AUTH_TOKEN, or run with --debug for local trials, or set "
        "TWILIO_VALIDATE=false to serve unverified on purpose."
    ]


def test_commands_say_nothing_about_webhook_verification(no_token):
    done = flask("surveys", "list", settings=no_token)
    assert done.returncode == 0, done.stderr
    assert "city-services" in done.stdout
    assert "verified" not in done.stdout + done.stderr


PLUS_ONE = """\
keywords: [PLUS]
questions:
  - {id: n, type: number, text: A number?}
  - {id: next, type: text, text: "Then {{ answers.n + 1 }}?"}
"""


@pytest.mark.parametrize(
    "args",
    [["surveys", "check"], ["surveys", "list"], ["export", "plus"], ["simulate", "plus"]],
    ids=["check", "list", "export", "simulate"],
)
def test_a_text_that_fails_without_an_answer_puts_nothing_in_any_commands_log(
    no_token, tmp_path, args
):
    # Counting costs renders each text with no answers, where `answers.n + 1` fails: the
    # respondent then gets the rest, as a missing answer shows as nothing; no log line.
    (tmp_path / "own").mkdir()
    folder = survey_folder(tmp_path / "own", plus=PLUS_ONE)
    done = flask(*args, settings=no_token | {"SURVEYS_DIR": str(folder)})
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.fixture
def check_in(config):
    """`flask surveys check ARGS...` with SURVEYS_DIR set to `folder`: the runner's result."""
    apps = []

    def run(folder, *args: str):
        apps.append(create_app(config | {"SURVEYS_DIR": str(folder)}))
        return apps[-1].test_cli_runner().invoke(args=["surveys", "check", *args])

    yield run
    for made in apps:
        made.extensions["survey_service"].close()


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
@pytest.mark.parametrize(
    ("made", "why"),
    [(None, "No such file or directory"), ("a file", "Not a directory")],
    ids=["missing", "a file"],
)
def test_check_of_a_surveys_folder_that_cannot_be_read_fails(check_in, tmp_path, made, why):
    folder = tmp_path / "survey"  # a typo for surveys/
    if made:
        folder.write_text(made)
    result = check_in(folder)
    assert result.exit_code == 1
    said = f"the surveys folder (SURVEYS_DIR) cannot be read: {why}"
    assert result.output.splitlines() == [f"{folder}: {said}", "1 problem(s) found."]
    result = check_in(folder, "--json")
    assert result.exit_code == 1
    assert json.loads(result.output) == {
        "surveys": [],
        "errors": [{"folder": str(folder), "message": said}],
    }
    # The files named are checked all the same, but not against a folder it never saw.
    result = check_in(folder, str(ROOT / "surveys" / "market.yaml"))
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == f"{folder}: {said}"
    assert "market (" in result.output


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_check_of_an_empty_surveys_folder_says_where_it_looked(check_in, tmp_path):
    result = check_in(tmp_path)
    assert result.exit_code == 0, result.output
    assert result.output == f"No survey files in {tmp_path} (SURVEYS_DIR).\n"


def test_check_says_each_problem_once_with_no_log_of_its_own(no_token, surveys_dir):
    # Every flask command builds the app; the surveys it would serve are loaded (and a
    # broken file logged, for a server's operator) only when a command needs them.
    (surveys_dir / "broken.yaml").write_text("keywords: [X]\nquestions: 3\ntitel: Hi\n")
    done = flask("surveys", "check", settings=no_token)
    assert done.returncode == 1
    broken = [line for line in done.stdout.splitlines() if line.startswith(str(surveys_dir))]
    assert broken == [
        f"{surveys_dir}/broken.yaml:2: questions must be a list",
        f'{surveys_dir}/broken.yaml:3: unknown key "titel" (did you mean "title"?)',
    ]
    assert done.stderr == "2 problem(s) found.\n"


def test_list_says_a_broken_file_once(no_token, surveys_dir):
    (surveys_dir / "broken.yaml").write_text("keywords: [X]\nquestions: 3\n")
    done = flask("surveys", "list", settings=no_token)
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"not served: {surveys_dir}/broken.yaml:2: questions must be a list\n"


def test_check_of_named_files_says_nothing_of_the_folders_other_files(no_token, surveys_dir):
    copy = (surveys_dir / "visit-feedback.yaml").read_text()
    (surveys_dir / "zz-broken.yaml").write_text(copy + "titel: Hi\n")
    (surveys_dir / "zz-copy.yaml").write_text(copy)  # its conflicts are its own
    done = flask(
        "surveys", "check", "surveys/visit-feedback.yaml", settings=no_token, cwd=surveys_dir.parent
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.endswith("No problems in 1 survey file.\n")
    assert "zz-" not in done.stdout + done.stderr and done.stderr == ""
    # A named file's conflicts with the folder are its own problems, at its path as given.
    done = flask(
        "surveys", "check", "surveys/zz-copy.yaml", settings=no_token, cwd=surveys_dir.parent
    )
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == (
        'surveys/zz-copy.yaml:2: survey id "visit-feedback" is already used by visit-feedback.yaml'
    )
    assert "zz-broken" not in done.stdout + done.stderr


def test_a_dotenv_in_the_working_folder_configures_the_commands(app, sms, surveys_dir, tmp_path):
    # SPEC 6: settings from the environment and a .env file; the README's `flask`
    # commands run in the project's folder, where Flask reads it. A variable set in the
    # environment wins over the file's, as Flask and python-dotenv have it.
    saved(surveys_dir / "quick.yaml", QUICK)
    sms.send("+15550000101", "QUICK")  # one session, in the database the .env names
    work = tmp_path / "work"
    work.mkdir()
    unused = survey_folder(work, lonely=QUICK.replace("QUICK", "LONELY"))
    database = app.config["DATABASE_URL"]
    (work / ".env").write_text(f'DATABASE_URL="{database}"\nSURVEYS_DIR="{unused}"\n')
    command = [str(Path(sys.executable).with_name("flask")), "--app", str(ROOT / "app.py")]
    done = subprocess.run(
        [*command, "surveys", "list"],
        cwd=work,
        env=server_env({"SURVEYS_DIR": str(surveys_dir)}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # The .env's database (its session counted), the environment's folder (not LONELY's).
    assert "\nquick: quick | keywords: QUICK |" in done.stdout
    assert "| sessions 1: open 1," in done.stdout and "lonely" not in done.stdout


def our_commands(app) -> list[tuple[str, click.Command]]:
    """Every command this project adds to `flask`, with its full name."""
    found = []
    for name, command in app.cli.commands.items():
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in command.commands.items()]
    return found


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_each_summary_fits_on_its_line(app):
    for name, command in our_commands(app):
        summary = command.get_short_help_str(limit=80 - 6 - len("simulate"))
        assert summary and not summary.endswith("..."), name


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_each_option_has_help_with_its_default(app):
    for name, command in our_commands(app):
        for option in (p for p in command.params if isinstance(p, click.Option)):
            assert option.help, f"{name} {option.opts}"
            default = option.to_info_dict()["default"]  # None when there is none
            valued = not option.is_flag and default is not None
            shown = option.show_default or "[default:" in option.help
            assert shown or not valued, f"{name} {option.opts}: say its default"


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_survey_arguments_are_named_survey_everywhere(app):
    names = {
        argument.make_metavar(click.Context(command))
        for _, command in our_commands(app)
        for argument in command.params
        if isinstance(argument, click.Argument) and "survey" in argument.name
    }
    assert names == {"SURVEY"}


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_check_refuses_a_message_twilio_cannot_send(runner, surveys_dir):
    long_text = "word " * 340  # 1,700 characters
    (surveys_dir / "long.yaml").write_text(
        f"questions:\n  - id: q\n    type: text\n    text: {long_text}\n"
    )
    result = runner.invoke(args=["surveys", "check", str(surveys_dir / "long.yaml")])
    assert result.exit_code == 1
    assert f"{surveys_dir}/long.yaml:2: help q can be 1,811 characters" in result.output
    assert "characters long at its worst; Twilio takes at most 1,600" in result.output


@pytest.mark.sqlite_only  # refused or read before any SQL of its own
def test_check_runs_without_a_database(config, tmp_path):
    app = create_app(config | {"DATABASE_URL": f"sqlite:///{tmp_path / 'no' / 'such.sqlite3'}"})
    result = app.test_cli_runner().invoke(args=["surveys", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Note: the database cannot say which files are served (")
    assert "No problems in 5 survey files." in result.output


# -- start-up faults: one line an operator can act on, exit 1, never a traceback ----------


def old_database(path: Path) -> str:
    """The URL of a SQLite file on an old schema (0010), as a release before the last made."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    schema.upgrade(engine, "0010")
    database.dispose(engine)
    return url


START_UP_FAULTS = {
    "missing folder": (
        lambda tmp: {"DATABASE_URL": f"sqlite:///{tmp}/data/survey.sqlite3"},
        "Cannot use the database (DATABASE_URL=sqlite:///{tmp}/data/survey.sqlite3): "
        "the folder {tmp}/data does not exist; create it, or fix the path.",
    ),
    "old schema": (
        lambda tmp: {"DATABASE_URL": old_database(tmp / "old.sqlite3")},
        "The database schema is at 0010, this code needs 0016: back up the database, "
        "then run `flask db upgrade`.",
    ),
    "postgresql down": (
        lambda tmp: {"DATABASE_URL": "postgresql://survey:hunter2@127.0.0.1:1/survey"},
        "Cannot use the database (DATABASE_URL=postgresql://survey:***@127.0.0.1:1/survey): "
        'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection '
        "refused Is the server running on that host and accepting TCP/IP connections?",
    ),
    "another database": (
        lambda tmp: {"DATABASE_URL": "mysql://survey:hunter2@db/survey"},
        "DATABASE_URL must be sqlite:///PATH or postgresql://USER@HOST/DATABASE, "
        "not 'mysql://survey:***@db/survey'.",
    ),
    "proxies not a number": (
        lambda tmp: {"TRUSTED_PROXIES": "yes"},
        "TRUSTED_PROXIES must be a number of proxies, not 'yes'.",
    ),
}


@pytest.fixture(params=START_UP_FAULTS, ids=list(START_UP_FAULTS))
def fault(request, no_token, tmp_path):
    """Settings with one start-up fault, and the line that must say it."""
    changes, said = START_UP_FAULTS[request.param]
    settings = no_token | {"TWILIO_AUTH_TOKEN": "a-token"} | changes(tmp_path)
    return settings, said.format(tmp=tmp_path)


@pytest.mark.sqlite_only  # its databases are its own
def test_a_command_says_a_start_up_fault_in_one_line(fault):
    settings, said = fault
    done = flask("surveys", "list", settings=settings)
    assert done.returncode == 1
    assert done.stdout == ""
    settings_fault = said.startswith(("DATABASE_URL must", "TRUSTED_PROXIES"))
    # Settings are refused as the app is made; the database when a command needs it.
    assert done.stderr.splitlines() == [said if settings_fault else f"Error: {said}"]


@pytest.mark.sqlite_only  # its databases are its own
def test_flask_run_refuses_a_start_up_fault_in_one_line(fault):
    settings, said = fault
    done = flask("run", "--port", "0", settings=settings)
    assert done.returncode == 1
    refusal = (
        said
        if said.startswith(("DATABASE_URL must", "TRUSTED_PROXIES"))
        else (f"Refusing to serve: {said}")
    )
    assert done.stderr.splitlines() == [refusal]


@pytest.mark.sqlite_only  # its databases are its own
def test_gunicorn_refuses_a_start_up_fault_once_before_any_worker(fault, tmp_path):
    settings, said = fault
    lines = refused_to_start(settings, tmp_path / "refused.log", workers=2)
    assert [line for line in lines if said in line] == [line for line in lines if "[" not in line]
    assert len([line for line in lines if said in line]) == 1, lines
    assert not any("Booting worker" in line or "Traceback" in line for line in lines), lines


@pytest.mark.sqlite_only  # refused before any SQL
def test_gunicorn_refuses_to_serve_unverified_once_before_any_worker(no_token, tmp_path):
    lines = refused_to_start(no_token, tmp_path / "refused.log", workers=4)
    assert [line for line in lines if "Refusing to serve" in line] == [
        "Refusing to serve: TWILIO_AUTH_TOKEN is not set, so forged requests could not be told "
        "from Twilio's. Set TWILIO_AUTH_TOKEN, or run with --debug for local trials, or set "
        "TWILIO_VALIDATE=false to serve unverified on purpose."
    ]
    assert not any("Booting worker" in line or "Traceback" in line for line in lines), lines
