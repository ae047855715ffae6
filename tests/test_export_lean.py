"""`flask export --format long` through web/lean.py: the whole command's bytes, or the whole app."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from flask.cli import FlaskGroup
from test_export import SURVEY, rows

from conftest import ROOT, survey_folder
from service import Inbound, Service
from storage import dbapi
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
    ("options", "lines"),
    [
        ([], 12),
        (["--include-tests", "--since", "2020-01-01"], 14),
        (["--include-tests", "--until", "2100-01-01", "-o", "-"], 14),
        (["--since", "2100-01-01"], 1),  # none: the header alone
        (["--status", "completed", "--arm", "x"], 1),
        (["--status", "completed"], 5),
    ],
)
def test_the_lean_export_writes_the_whole_commands_bytes(
    app, sms, monkeypatch, config, options, lines
):
    for phone, replies in [
        ("+15550000001", ["Ana", "1,000", "1 and 3", "yes"]),
        ("+15550000002", ['=HYPERLINK("x")', "-3", "2"]),  # a formula, a number, unfinished
        ("+15550000003", ['He said "hi", then\nleft', "about 40"]),
        ("+15550000004", []),  # started, nothing answered: no line
        ("+15550000005", ["A\x01B\x02C", "7"]),  # the separators SQLite packs answers with
    ]:
        for body in ["POLL", *replies]:
            sms.send(phone, body)
    service = Service.of(app)
    for body in ["POLL", "Tess", "2"]:  # a test session (flask simulate)
        service.receive(Inbound("+15550000009", body, "ST" + uuid.uuid4().hex, test=True))
    args = ["export", "poll", "--format", "long", *options]
    whole = app.test_cli_runner().invoke(args=args)
    assert whole.exit_code == 0, whole.output
    made = lean_app(monkeypatch, config, *args)
    assert made is not None and set(made.cli.commands) == {"export"}
    try:
        result = made.test_cli_runner().invoke(args=args)
    finally:
        made.extensions[lean.EXTENSION].close()  # closed by the command already, unless it failed
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == whole.stdout_bytes
    assert whole.stdout_bytes.count(b"\r\n") == lines
    if not options:  # each session's answers in the order answered, not by question id
        found = rows(whole.stdout_bytes.decode())
        assert [row["question_id"] for row in found[:4]] == ["name", "count", "picks", "ok"]
        assert [row["raw_reply"] for row in found[-2:]] == ["A\x01B\x02C", "7"]


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


def test_a_database_behind_the_schema_or_empty_gets_the_whole_app(app, sms, monkeypatch, config):
    sms.send("+15550000001", "POLL")
    sms.send("+15550000001", "Ana")
    engine = app.extensions["survey_service"].engine
    args = ("export", "poll", "--format", "long")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    try:
        assert lean_app(monkeypatch, config, *args) is None  # the whole app says: upgrade
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{dbapi.HEAD}'")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE alembic_version")  # not ours, or not yet
    assert lean_app(monkeypatch, config, *args) is None


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite:///x.db?mode=ro&uri=true", "sqlite:///a%20b.db"],
)
def test_urls_only_sqlalchemy_opens_are_left_to_it(url):
    assert dbapi.connect(url) is None


def test_an_unreachable_postgresql_is_left_to_the_whole_app():
    assert dbapi.connect("postgresql://nobody@127.0.0.1:1/none", wait=0.5) is None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # libpq's options
def test_a_plain_connection_has_the_engines_settings(database_url):
    schema = database_url.rpartition("%3D")[2]  # the test's own schema, given as options
    db = dbapi.connect(database_url + "&options=-cwork_mem%3D7MB")  # options given twice
    assert db is not None
    try:
        cursor = db.raw.cursor()
        shown = []
        for name in ("search_path", "work_mem", "lock_timeout", "statement_timeout"):
            cursor.execute(f"SHOW {name}")
            shown.append(cursor.fetchone()[0])
        cursor.execute("SHOW transaction_isolation")
        shown.append(cursor.fetchone()[0])
    finally:
        db.close()
    assert shown == [schema, "7MB", "5s", "5s", "read committed"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_plain_sqlite_connection_has_the_engines_pragmas(database_url):
    db = dbapi.connect(database_url, wait=2)
    assert db is not None
    try:
        found = [
            db.raw.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        ]
        assert db.raw.isolation_level is None  # BEGIN is ours (Plain.transaction)
    finally:
        db.close()
    assert found == ["wal", 1, 1, 2000]  # synchronous 1: NORMAL


def test_the_lean_export_starts_without_sqlalchemy():
    # Its point (web/lean.py): importing SQLAlchemy alone costs a long export a tenth.
    code = (
        "import sys, web.lean; print(sorted(m for m in sys.modules if m.startswith('sqlalchemy')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
